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

	scfevents "github.com/tencentyun/scf-go-lib/events"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// scfProbe holds just enough of any supported SCF event to tell its shape.
// encoding/json matches keys case-insensitively, so values are checked exactly.
type scfProbe struct {
	QueueMessage   json.RawMessage `json:"queueMessage"`
	HTTPMethod     string          `json:"httpMethod"`
	RequestContext *struct {
		ServiceID string `json:"serviceId"`
	} `json:"requestContext"`
	Type    string `json:"Type"`
	Records []struct {
		CMQ json.RawMessage `json:"CMQ"`
	} `json:"Records"`
}

// NewSCFHandler returns the raw SCF event handler that Start serves over the
// SCF runtime protocol (see startSCF). It dispatches by event shape:
//
//   - {"queueMessage": …} (queue.Envelope, sent by scfq's async Invoke) →
//     h.Queue; its error fails the invocation (SCF retries async events).
//   - API gateway trigger (httpMethod + requestContext.serviceId) → h.HTTP,
//     answered with an integration response (events.APIGatewayResponse).
//   - Timer trigger (Type "Timer") → h.Schedule(TriggerName).
//   - CMQ trigger (Records[].CMQ) → h.Queue per record (see CMQMessage); the
//     first error fails the invocation.
//
// Any other shape fails with an error wrapping domain.ErrInvalid.
func NewSCFHandler(h Handlers, opts ...Option) func(context.Context, json.RawMessage) (any, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var p scfProbe
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("platform: scf event is not a JSON object: %v: %w", err, domain.ErrInvalid)
		}
		switch {
		case len(p.QueueMessage) > 0 && !bytes.Equal(p.QueueMessage, []byte("null")):
			return nil, handleEnvelope(ctx, h, raw)
		case p.HTTPMethod != "" && p.RequestContext != nil && p.RequestContext.ServiceID != "":
			var ev SCFAPIGatewayRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: scf api gateway event: %v: %w", err, domain.ErrInvalid)
			}
			return serveSCFAPIGateway(ctx, h.HTTP, &ev)
		case p.Type == "Timer":
			var ev scfevents.TimerEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: scf timer event: %v: %w", err, domain.ErrInvalid)
			}
			return nil, handleSchedule(ctx, h, ev.TriggerName)
		case len(p.Records) > 0 && len(p.Records[0].CMQ) > 0:
			var ev scfevents.CMQEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("platform: scf cmq event: %v: %w", err, domain.ErrInvalid)
			}
			return nil, handleCMQ(ctx, h, &ev, &o)
		default:
			return nil, unknownEvent("scf", raw)
		}
	}
}

// SCFAPIGatewayRequest is the SCF API gateway trigger event
// (scf-go-lib events.APIGatewayRequest) plus the optional isBase64Encoded
// flag that newer gateways send for binary bodies.
type SCFAPIGatewayRequest struct {
	scfevents.APIGatewayRequest
	IsBase64Encoded bool `json:"isBase64Encoded"`
}

// HTTPRequestSCF converts an SCF API gateway trigger event into an
// *http.Request bound to ctx. Query values may be strings, lists, or true
// for a bare key (kept bare in the URL). It fails with domain.ErrInvalid on
// a bad path, method or base64 body.
func HTTPRequestSCF(ctx context.Context, ev *SCFAPIGatewayRequest) (*http.Request, error) {
	body, err := decodeBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("platform: request path %q: %v: %w", path, err, domain.ErrInvalid)
	}
	u.RawQuery = encodeSCFQuery(ev.QueryString)
	r, err := http.NewRequestWithContext(ctx, ev.Method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("platform: build request: %v: %w", err, domain.ErrInvalid)
	}
	r.URL = u
	r.RequestURI = u.RequestURI()
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	r.Host = r.Header.Get("Host")
	r.Header.Del("Host")
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	if ip := ev.Context.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

// encodeSCFQuery rebuilds a query string, sorted by key; a key with no
// values (sent as true) stays bare ("a&b=1").
func encodeSCFQuery(qs scfevents.APIGatewayQueryString) string {
	keys := make([]string, 0, len(qs))
	for k := range qs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		ek := url.QueryEscape(k)
		if len(qs[k]) == 0 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			continue
		}
		for _, v := range qs[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

func serveSCFAPIGateway(ctx context.Context, h http.Handler, ev *SCFAPIGatewayRequest) (*scfevents.APIGatewayResponse, error) {
	r, err := HTTPRequestSCF(ctx, ev)
	if err != nil {
		return nil, err
	}
	w, err := serveBuffered(ctx, h, r)
	if err != nil {
		return nil, err
	}
	body, b64 := w.encodedBody()
	return &scfevents.APIGatewayResponse{
		StatusCode:      w.statusCode(),
		Headers:         w.flatHeaders(),
		Body:            body,
		IsBase64Encoded: b64,
	}, nil
}

// CMQMessage converts one CMQ trigger record into a queue.Message: a body
// holding a queue.Envelope or a JSON-encoded queue.Message (with "id" and
// "body") is unwrapped; otherwise Body is the raw message body and ID is
// the CMQ message ID.
func CMQMessage(m *scfevents.CMQMessage) queue.Message {
	var env queue.Envelope
	if json.Unmarshal([]byte(m.Body), &env) == nil && env.QueueMessage != nil && env.QueueMessage.ID != "" {
		return *env.QueueMessage
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal([]byte(m.Body), &probe) == nil {
		if _, ok := probe["body"]; ok {
			var qm queue.Message
			if json.Unmarshal([]byte(m.Body), &qm) == nil && qm.ID != "" {
				return qm
			}
		}
	}
	return queue.Message{ID: m.ID, Body: []byte(m.Body)}
}

func handleCMQ(ctx context.Context, h Handlers, ev *scfevents.CMQEvent, o *options) error {
	if h.Queue == nil {
		return fmt.Errorf("platform: cmq event but no Queue handler: %w", domain.ErrConfig)
	}
	for i := range ev.Records {
		msg := CMQMessage(&ev.Records[i].Message)
		if err := h.Queue(ctx, msg); err != nil {
			o.logger.WarnContext(ctx, "queue message failed", "message_id", ev.Records[i].Message.ID,
				"id", msg.ID, "retryable", domain.Retryable(err), "err", err)
			return fmt.Errorf("platform: cmq message %s: %w", msg.ID, err)
		}
	}
	return nil
}
