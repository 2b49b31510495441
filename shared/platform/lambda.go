package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/sqsq"
)

func startLambda(ctx context.Context, h Handlers, o *options) error {
	if o.getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		return fmt.Errorf("platform: lambda needs AWS_LAMBDA_RUNTIME_API: %w", domain.ErrConfig)
	}
	// StartWithOptions never returns: it exits the process when the runtime
	// API loop ends.
	lambda.StartWithOptions(NewLambdaHandler(h, WithLogger(o.logger)), lambda.WithContext(ctx))
	return nil
}

// lambdaProbe holds just enough of any supported Lambda event to tell its shape.
type lambdaProbe struct {
	QueueMessage   json.RawMessage `json:"queueMessage"`
	RequestContext *struct {
		HTTP *struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	Records    []probeRecord `json:"Records"`
	Source     string        `json:"source"`
	DetailType string        `json:"detail-type"`
}

// NewLambdaHandler returns the raw Lambda handler that Start registers with
// lambda.StartWithOptions. It dispatches by event shape:
//
//   - {"queueMessage": …} (queue.Envelope) → h.Queue; its error fails the invocation.
//   - requestContext.http (API Gateway HTTP API v2, Function URL) → h.HTTP,
//     answered with events.APIGatewayV2HTTPResponse.
//   - Records[].eventSource == "aws:sqs" → h.Queue per record, answered with
//     events.SQSEventResponse listing failed records (the event source mapping
//     needs FunctionResponseTypes: [ReportBatchItemFailures]).
//   - source "aws.events" or detail-type "Scheduled Event" → h.Schedule with
//     the rule name taken from resources[0].
//
// Any other shape fails with an error wrapping domain.ErrInvalid. Only the
// option WithLogger is used.
func NewLambdaHandler(h Handlers, opts ...Option) func(context.Context, json.RawMessage) (any, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p lambdaProbe
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("platform: lambda event is not a JSON object: %v: %w", err, domain.ErrInvalid)
		}
		switch {
		case len(p.QueueMessage) > 0 && !bytes.Equal(p.QueueMessage, []byte("null")):
			return nil, handleEnvelope(ctx, h, raw)
		case p.RequestContext != nil && p.RequestContext.HTTP != nil && p.RequestContext.HTTP.Method != "":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: http v2 event: %v: %w", err, domain.ErrInvalid)
			}
			return serveHTTPv2(ctx, h.HTTP, &ev)
		case len(p.Records) > 0 && allSQS(p.Records):
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: sqs event: %v: %w", err, domain.ErrInvalid)
			}
			return handleSQS(ctx, h, &ev, &o)
		case p.Source == "aws.events" || p.DetailType == "Scheduled Event":
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: eventbridge event: %v: %w", err, domain.ErrInvalid)
			}
			return nil, handleSchedule(ctx, h, ruleName(ev.Resources))
		default:
			return nil, unknownEvent("lambda", raw)
		}
	}
}

type probeRecord struct {
	EventSource string `json:"eventSource"`
}

func allSQS(records []probeRecord) bool {
	for _, r := range records {
		if r.EventSource != "aws:sqs" {
			return false
		}
	}
	return true
}

// unknownEvent names the top-level keys of an unsupported event (never its
// values, which may hold personal data).
func unknownEvent(where string, raw []byte) error {
	var m map[string]json.RawMessage
	keys := []string{}
	if json.Unmarshal(raw, &m) == nil {
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	return fmt.Errorf("platform: unsupported %s event shape (top-level keys %v): %w", where, keys, domain.ErrInvalid)
}

// ruleName extracts the rule name from an EventBridge rule ARN
// (arn:aws:events:region:account:rule[/bus]/name).
func ruleName(resources []string) string {
	if len(resources) == 0 {
		return ""
	}
	arn := resources[0]
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func handleSchedule(ctx context.Context, h Handlers, name string) error {
	if h.Schedule == nil {
		return fmt.Errorf("platform: schedule event %q but no Schedule handler: %w", name, domain.ErrConfig)
	}
	if err := h.Schedule(ctx, name); err != nil {
		return fmt.Errorf("platform: schedule %q: %w", name, err)
	}
	return nil
}

// handleEnvelope delivers a queue.Envelope to h.Queue.
func handleEnvelope(ctx context.Context, h Handlers, raw []byte) error {
	var env queue.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("platform: queue envelope: %v: %w", err, domain.ErrInvalid)
	}
	if env.QueueMessage == nil {
		return fmt.Errorf("platform: queue envelope without message: %w", domain.ErrInvalid)
	}
	if h.Queue == nil {
		return fmt.Errorf("platform: queue message but no Queue handler: %w", domain.ErrConfig)
	}
	if err := h.Queue(ctx, *env.QueueMessage); err != nil {
		return fmt.Errorf("platform: queue message %s: %w", env.QueueMessage.ID, err)
	}
	return nil
}

// HTTPRequestV2 converts an API Gateway HTTP API v2 / Function URL event into
// an *http.Request bound to ctx. It fails with domain.ErrInvalid on a bad
// path or base64 body.
func HTTPRequestV2(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("platform: request path %q: %v: %w", path, err, domain.ErrInvalid)
	}
	r, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("platform: build request: %v: %w", err, domain.ErrInvalid)
	}
	r.URL = u
	r.RequestURI = target
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Header.Del("Host")
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

func serveHTTPv2(ctx context.Context, h http.Handler, ev *events.APIGatewayV2HTTPRequest) (*events.APIGatewayV2HTTPResponse, error) {
	r, err := HTTPRequestV2(ctx, ev)
	if err != nil {
		return nil, err
	}
	w, err := serveBuffered(ctx, h, r)
	if err != nil {
		return nil, err
	}
	body, b64 := w.encodedBody()
	return &events.APIGatewayV2HTTPResponse{
		StatusCode:      w.statusCode(),
		Headers:         w.flatHeaders("Set-Cookie"),
		Cookies:         w.header.Values("Set-Cookie"),
		Body:            body,
		IsBase64Encoded: b64,
	}, nil
}

// SQSMessage converts one SQS record into a queue.Message. Records that
// carry the sqsq wire format (a dedupe_id or body_encoding String message
// attribute) are decoded with sqsq.MessageFromRecord, falling back to the SQS
// message ID when dedupe_id is absent. Other records are accepted too: a body
// that is a JSON-encoded queue.Message (an object with "id" and "body") is
// unwrapped; otherwise Body is the raw body and ID is a top-level "id" string
// of a JSON body, else the SQS message ID. It fails with domain.ErrInvalid
// on a bad body encoding.
func SQSMessage(rec *events.SQSMessage) (queue.Message, error) {
	attrs := map[string]string{}
	for k, a := range rec.MessageAttributes {
		if a.StringValue != nil {
			attrs[k] = *a.StringValue
		}
	}
	_, hasID := attrs[sqsq.AttrDedupeID]
	_, hasEnc := attrs[sqsq.AttrBodyEncoding]
	if hasID || hasEnc {
		m, err := sqsq.MessageFromRecord(rec.Body, attrs)
		if err != nil {
			return queue.Message{}, fmt.Errorf("platform: sqs record %s: %w", rec.MessageId, err)
		}
		if m.ID == "" {
			m.ID = rec.MessageId
		}
		return m, nil
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal([]byte(rec.Body), &probe) == nil {
		if _, hasBody := probe["body"]; hasBody {
			var m queue.Message
			if json.Unmarshal([]byte(rec.Body), &m) == nil && m.ID != "" {
				for k, v := range attrs {
					if m.Attributes == nil {
						m.Attributes = map[string]string{}
					}
					if _, ok := m.Attributes[k]; !ok {
						m.Attributes[k] = v
					}
				}
				return m, nil
			}
		}
	}
	m := queue.Message{Body: []byte(rec.Body)}
	var id string
	if probe != nil && json.Unmarshal(probe["id"], &id) == nil {
		m.ID = id
	}
	if m.ID == "" {
		m.ID = rec.MessageId
	}
	if len(attrs) > 0 {
		m.Attributes = attrs
	}
	return m, nil
}

func handleSQS(ctx context.Context, h Handlers, ev *events.SQSEvent, o *options) (*events.SQSEventResponse, error) {
	if h.Queue == nil {
		return nil, fmt.Errorf("platform: sqs event but no Queue handler: %w", domain.ErrConfig)
	}
	resp := &events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i := range ev.Records {
		rec := &ev.Records[i]
		if err := ctx.Err(); err != nil {
			// Out of time: report the rest as failed so they are redelivered.
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		msg, err := SQSMessage(rec)
		if err == nil {
			err = h.Queue(ctx, msg)
		}
		if err != nil {
			o.logger.WarnContext(ctx, "queue message failed", "message_id", rec.MessageId,
				"id", msg.ID, "retryable", domain.Retryable(err), "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}
