package sqsq

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// Message attribute names this package reserves or reads.
const (
	// AttrDedupeID carries queue.Message.ID.
	AttrDedupeID = "dedupe_id"
	// AttrBodyEncoding says how MessageBody encodes queue.Message.Body:
	// absent for plain text, "base64", or "empty".
	AttrBodyEncoding = "body_encoding"
	// AttrGroupID, when set in queue.Message.Attributes, is the
	// MessageGroupId on FIFO queues.
	AttrGroupID = "group_id"
)

// Values of AttrBodyEncoding.
const (
	encodingBase64 = "base64"
	encodingEmpty  = "empty"
	emptyBody      = "-"
)

// maxUserAttributes is how many entries of Message.Attributes fit: SQS
// allows 10 message attributes, and dedupe_id and body_encoding may take two.
const maxUserAttributes = 8

var _ queue.Publisher = (*Publisher)(nil)

// Publisher sends queue.Messages to one SQS queue. It is safe for
// concurrent use.
type Publisher struct {
	client   *sqs.Client
	queueURL string
	fifo     bool
}

// NewPublisher returns a Publisher for the queue at queueURL.
func NewPublisher(client *sqs.Client, queueURL string) *Publisher {
	return &Publisher{client: client, queueURL: queueURL, fifo: strings.HasSuffix(queueURL, ".fifo")}
}

// Open builds a Publisher from a URL of the form
//
//	sqs://HOST/ACCOUNT/QUEUE?region=REGION&endpoint=ENDPOINT
//
// where HOST/ACCOUNT/QUEUE is the queue URL without its scheme, e.g.
// sqs://sqs.eu-west-1.amazonaws.com/123456789012/worker. The queue URL is
// https://HOST/ACCOUNT/QUEUE, or http:// when endpoint is an http:// URL
// (local emulators). region defaults to the one in an sqs.REGION.amazonaws.com
// host, else to the environment (AWS_REGION); endpoint defaults to the
// regional AWS endpoint. Credentials come from the SDK's default chain. A
// malformed URL fails with domain.ErrConfig.
func Open(ctx context.Context, rawURL string) (*Publisher, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqsq: parse url: %w: %w", domain.ErrConfig, err)
	}
	if u.Scheme != "sqs" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("sqsq: url must look like sqs://HOST/ACCOUNT/QUEUE?region=…&endpoint=…: %w", domain.ErrConfig)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	scheme := "https"
	if strings.HasPrefix(endpoint, "http://") {
		scheme = "http"
	}
	region := q.Get("region")
	if region == "" {
		region = regionOf(u.Hostname())
	}
	var loadOpts []func(*config.LoadOptions) error
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("sqsq: load aws config: %w: %w", domain.ErrConfig, err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return NewPublisher(client, scheme+"://"+u.Host+u.EscapedPath()), nil
}

// regionOf extracts REGION from sqs.REGION.amazonaws.com (or .com.cn).
func regionOf(host string) string {
	parts := strings.Split(host, ".")
	if len(parts) >= 4 && parts[0] == "sqs" && parts[2] == "amazonaws" {
		return parts[1]
	}
	return ""
}

// QueueURL returns the URL of the queue the Publisher sends to.
func (p *Publisher) QueueURL() string { return p.queueURL }

// Consumer returns a Consumer of the same queue with the same client.
func (p *Publisher) Consumer(opts ...ConsumerOption) *Consumer {
	return NewConsumer(p.client, p.queueURL, opts...)
}

// Publish sends msg in the wire format described in the package
// documentation. It returns domain.ErrInvalid for a message that cannot be
// represented (too many or reserved attributes, a FIFO message without ID),
// and the translated SQS error otherwise.
func (p *Publisher) Publish(ctx context.Context, msg queue.Message) error {
	in, err := p.input(msg)
	if err != nil {
		return err
	}
	if _, err := p.client.SendMessage(ctx, in); err != nil {
		return translate("publish "+msg.ID, err)
	}
	return nil
}

var attrName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// input builds the SendMessage request for msg.
func (p *Publisher) input(msg queue.Message) (*sqs.SendMessageInput, error) {
	attrs := make(map[string]types.MessageAttributeValue, len(msg.Attributes)+2)
	for k, v := range msg.Attributes {
		switch {
		case k == AttrDedupeID || k == AttrBodyEncoding:
			return nil, fmt.Errorf("sqsq: publish %s: attribute %q is reserved: %w", msg.ID, k, domain.ErrInvalid)
		case !attrName.MatchString(k) || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") ||
			strings.Contains(k, "..") || hasPrefixFold(k, "aws.") || hasPrefixFold(k, "amazon."):
			return nil, fmt.Errorf("sqsq: publish %s: invalid attribute name %q: %w", msg.ID, k, domain.ErrInvalid)
		case v == "":
			continue // SQS rejects empty values
		}
		attrs[k] = stringAttr(v)
	}
	if len(attrs) > maxUserAttributes {
		return nil, fmt.Errorf("sqsq: publish %s: %d attributes, at most %d fit: %w", msg.ID, len(attrs), maxUserAttributes, domain.ErrInvalid)
	}
	if msg.ID != "" {
		attrs[AttrDedupeID] = stringAttr(msg.ID)
	}
	body := string(msg.Body)
	switch {
	case len(msg.Body) == 0:
		body = emptyBody
		attrs[AttrBodyEncoding] = stringAttr(encodingEmpty)
	case !sqsText(body):
		body = base64.StdEncoding.EncodeToString(msg.Body)
		attrs[AttrBodyEncoding] = stringAttr(encodingBase64)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(p.queueURL),
		MessageBody:       aws.String(body),
		MessageAttributes: attrs,
	}
	if p.fifo {
		if msg.ID == "" {
			return nil, fmt.Errorf("sqsq: publish to FIFO queue needs a message ID: %w", domain.ErrInvalid)
		}
		group := msg.Attributes[AttrGroupID]
		if group == "" {
			group = msg.ID
		}
		in.MessageDeduplicationId = aws.String(fifoID(msg.ID))
		in.MessageGroupId = aws.String(fifoID(group))
	}
	return in, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// sqsText reports whether s is valid UTF-8 made only of characters SQS
// accepts in a message body.
func sqsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// fifoID returns id if SQS accepts it as a deduplication or group ID (1-128
// characters of alphanumerics and punctuation), else its SHA-256 in hex.
func fifoID(id string) string {
	ok := len(id) > 0 && len(id) <= 128
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] > 0x20 && id[i] < 0x7f
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// MessageFromRecord rebuilds the queue.Message that Publish sent, from an
// SQS record's body and its String message attributes: ID from dedupe_id
// (empty if absent; callers may fall back to the SQS message ID), Body
// decoded according to body_encoding, and the other attributes as
// Attributes (nil if none). It returns domain.ErrInvalid for an unknown
// encoding or bad base64.
func MessageFromRecord(body string, attrs map[string]string) (queue.Message, error) {
	msg := queue.Message{ID: attrs[AttrDedupeID]}
	switch enc := attrs[AttrBodyEncoding]; enc {
	case "":
		msg.Body = []byte(body)
	case encodingBase64:
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return queue.Message{}, fmt.Errorf("sqsq: message %s: bad base64 body: %w: %w", msg.ID, domain.ErrInvalid, err)
		}
		msg.Body = b
	case encodingEmpty:
		msg.Body = nil
	default:
		return queue.Message{}, fmt.Errorf("sqsq: message %s: unknown body encoding %q: %w", msg.ID, enc, domain.ErrInvalid)
	}
	rest := maps.Clone(attrs)
	delete(rest, AttrDedupeID)
	delete(rest, AttrBodyEncoding)
	if len(rest) > 0 {
		msg.Attributes = rest
	}
	return msg, nil
}
