package wecom

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hashicorp/go-retryablehttp"
)

// Limits of group-robot webhook messages, in bytes of UTF-8.
const (
	MaxWebhookTextBytes     = 2048
	MaxWebhookMarkdownBytes = 4096
)

// Webhook posts to group robots (POST /cgi-bin/webhook/send?key=KEY). It
// needs no access token; the key identifies the robot and is kept out of
// errors and logs. A robot takes at most 20 messages a minute. 93000 (bad
// key) matches domain.ErrConfig.
type Webhook struct {
	base string
	http *retryablehttp.Client
}

// NewWebhook returns a Webhook. It honours WithBaseURL, WithHTTPClient and
// WithRetry; other options are ignored.
func NewWebhook(opts ...Option) *Webhook {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Webhook{base: o.baseURL, http: newRetryClient(&o)}
}

// WebhookMessage is a text or markdown robot message: set exactly one.
type WebhookMessage struct {
	Text     *WebhookText     `json:"text,omitempty"`
	Markdown *WebhookMarkdown `json:"markdown,omitempty"`
}

// WebhookText is a text robot message. Mentions take userids, mobile
// numbers, or "@all".
type WebhookText struct {
	Content             string   `json:"content"`
	MentionedList       []string `json:"mentioned_list,omitempty"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

// WebhookMarkdown is a markdown robot message.
type WebhookMarkdown struct {
	Content string `json:"content"`
}

type webhookWire struct {
	MsgType  string           `json:"msgtype"`
	Text     *WebhookText     `json:"text,omitempty"`
	Markdown *WebhookMarkdown `json:"markdown,omitempty"`
}

// Send posts m to the robot identified by key. Content over the byte limits
// is rejected with an error matching domain.ErrInvalid, before any request.
func (w *Webhook) Send(ctx context.Context, key string, m WebhookMessage) error {
	if key == "" {
		return invalid("webhook key is empty")
	}
	var body webhookWire
	switch {
	case m.Text != nil && m.Markdown == nil:
		if m.Text.Content == "" || len(m.Text.Content) > MaxWebhookTextBytes {
			return invalid(fmt.Sprintf("webhook text is %d bytes, want 1..%d", len(m.Text.Content), MaxWebhookTextBytes))
		}
		body = webhookWire{MsgType: "text", Text: m.Text}
	case m.Markdown != nil && m.Text == nil:
		if m.Markdown.Content == "" || len(m.Markdown.Content) > MaxWebhookMarkdownBytes {
			return invalid(fmt.Sprintf("webhook markdown is %d bytes, want 1..%d", len(m.Markdown.Content), MaxWebhookMarkdownBytes))
		}
		body = webhookWire{MsgType: "markdown", Markdown: m.Markdown}
	default:
		return invalid("webhook message needs exactly one of text or markdown")
	}
	return doRequest(ctx, w.http, w.base, http.MethodPost, "/cgi-bin/webhook/send", url.Values{"key": {key}}, body, nil)
}
