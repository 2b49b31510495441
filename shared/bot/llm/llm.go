package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"wecom-crm-bot/shared/domain"
)

// NoAnswer is what the model is told to reply when the passages do not
// contain the answer; Answer turns it into "".
const NoAnswer = "NO_ANSWER"

// SystemPrompt restricts the model to the passages.
const SystemPrompt = "你是一家电子产品商店的客服助手。只能根据用户消息中提供的【资料】回答问题，" +
	"用简洁、礼貌的中文（客户用英文提问时用英文）回答，不超过 150 字。不要编造资料中没有的信息，" +
	"不要承诺退款、赔偿或价格。如果资料中没有答案，只回复 " + NoAnswer + "。"

// Config configures a Client.
type Config struct {
	BaseURL string // e.g. https://host/v1; "/chat/completions" is appended
	Model   string
	APIKey  string
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
	// MaxTokens bounds the answer (default 300).
	MaxTokens int
}

// Client calls an OpenAI-compatible chat completions endpoint.
type Client struct {
	cfg Config
}

// New returns a client; it wraps domain.ErrConfig when BaseURL or Model is
// missing.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, fmt.Errorf("llm: base URL and model are required: %w", domain.ErrConfig)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 300
	}
	return &Client{cfg: cfg}, nil
}

// FromEnv builds a client from LLM_BASE_URL, LLM_MODEL and LLM_API_KEY
// read through getenv (os.Getenv in main). It returns (nil, nil) when
// LLM_BASE_URL is unset: the fallback is off.
func FromEnv(getenv func(string) string) (*Client, error) {
	if getenv("LLM_BASE_URL") == "" {
		return nil, nil
	}
	return New(Config{BaseURL: getenv("LLM_BASE_URL"), Model: getenv("LLM_MODEL"), APIKey: getenv("LLM_API_KEY")})
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type request struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	Temperature float64   `json:"temperature"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
}

type response struct {
	Choices []struct {
		Message      message `json:"message"`
		FinishReason string  `json:"finish_reason"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error,omitempty"`
}

// Answer asks the model to answer question from passages only. It returns
// "" when the model finds no answer there. Errors wrap domain sentinels:
// ErrInvalid (no passages, HTTP 400), ErrConfig (401/403/404),
// ErrRateLimited (429), ErrUnavailable (5xx, network, timeout).
func (c *Client) Answer(ctx context.Context, question string, passages []string, customer *domain.CustomerContext) (string, error) {
	if len(passages) == 0 || strings.TrimSpace(question) == "" {
		return "", fmt.Errorf("llm: question and passages are required: %w", domain.ErrInvalid)
	}
	var user strings.Builder
	user.WriteString("【资料】\n")
	for i, p := range passages {
		fmt.Fprintf(&user, "%d. %s\n", i+1, p)
	}
	if customer != nil && customer.Contact.Name != "" {
		// Only the name: no phone, e-mail or notes leave the system.
		fmt.Fprintf(&user, "\n【客户称呼】%s\n", customer.Contact.Name)
	}
	fmt.Fprintf(&user, "\n【问题】%s", question)
	body, err := json.Marshal(request{
		Model:     c.cfg.Model,
		Messages:  []message{{Role: "system", Content: SystemPrompt}, {Role: "user", Content: user.String()}},
		MaxTokens: c.cfg.MaxTokens,
	})
	if err != nil {
		return "", fmt.Errorf("llm: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("llm: %v: %w", err, domain.ErrConfig)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("llm: request: %v: %w", err, domain.ErrUnavailable)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("llm: read: %v: %w", err, domain.ErrUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("llm: HTTP %d: %w", resp.StatusCode, statusErr(resp.StatusCode))
	}
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return "", fmt.Errorf("llm: decode: %v: %w", err, domain.ErrUnavailable)
	}
	if r.Error != nil {
		return "", fmt.Errorf("llm: %s: %w", r.Error.Type, domain.ErrUnavailable)
	}
	if len(r.Choices) == 0 {
		return "", fmt.Errorf("llm: no choices: %w", domain.ErrUnavailable)
	}
	ans := strings.TrimSpace(r.Choices[0].Message.Content)
	if ans == "" || strings.Contains(ans, NoAnswer) {
		return "", nil
	}
	return ans, nil
}

func statusErr(code int) error {
	switch {
	case code == http.StatusTooManyRequests:
		return domain.ErrRateLimited
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
		return domain.ErrConfig
	case code >= 500:
		return domain.ErrUnavailable
	case code >= 400:
		return domain.ErrInvalid
	}
	return errors.New("unexpected status")
}
