package platform_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	scfevents "github.com/tencentyun/scf-go-lib/events"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/queue"
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// seen is what the echo HTTP handler observed.
type seen struct {
	Method, Path, RawQuery, RequestURI, Host, Cookie, XTest, ContentType, RemoteAddr string
	Body                                                                             string
	ContentLength                                                                    int64
}

// recorder holds fake handlers that record what they were called with.
type recorder struct {
	mu        sync.Mutex
	http      []seen
	msgs      []queue.Message
	schedules []string
}

var errBoom = errors.New("boom")

func (rc *recorder) handlers() platform.Handlers {
	return platform.Handlers{
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body) // a read error shows up as a body mismatch
			rc.mu.Lock()
			rc.http = append(rc.http, seen{
				Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestURI: r.RequestURI,
				Host: r.Host, Cookie: r.Header.Get("Cookie"), XTest: r.Header.Get("X-Test"),
				ContentType: r.Header.Get("Content-Type"), RemoteAddr: r.RemoteAddr,
				Body: string(b), ContentLength: r.ContentLength,
			})
			rc.mu.Unlock()
			if r.URL.Path == "/binary" {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte{0xff, 0xfe, 0x00, 0x01})
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Add("X-Multi", "1")
			w.Header().Add("X-Multi", "2")
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, "echo:%s", b)
		}),
		Queue: func(ctx context.Context, m queue.Message) error {
			rc.mu.Lock()
			rc.msgs = append(rc.msgs, m)
			rc.mu.Unlock()
			if strings.HasPrefix(m.ID, "fail") {
				return fmt.Errorf("worker: %w", domain.ErrUnavailable)
			}
			return nil
		},
		Schedule: func(ctx context.Context, name string) error {
			rc.mu.Lock()
			rc.schedules = append(rc.schedules, name)
			rc.mu.Unlock()
			if name == "fail" {
				return errBoom
			}
			return nil
		},
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want platform.Platform
	}{
		{"empty", nil, platform.Local},
		{"lambda", map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, platform.Lambda},
		{"scf", map[string]string{"TENCENTCLOUD_RUNENV": "SCF", "_LAMBDA_SERVER_PORT": "9000"}, platform.SCF},
		{"scf without port", map[string]string{"TENCENTCLOUD_RUNENV": "SCF"}, platform.SCF},
		{"server port alone is not lambda", map[string]string{"_LAMBDA_SERVER_PORT": "9000"}, platform.Local},
		{"scf runenv other value", map[string]string{"TENCENTCLOUD_RUNENV": "local"}, platform.Local},
		{"explicit override", map[string]string{"TENCENTCLOUD_RUNENV": "SCF", "PLATFORM": "local"}, platform.Local},
		{"bad override ignored", map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "PLATFORM": "k8s"}, platform.Lambda},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := platform.Detect(func(k string) string { return tc.env[k] })
			if got != tc.want {
				t.Fatalf("Detect = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLambdaHTTP(t *testing.T) {
	tests := []struct {
		file string
		want seen
	}{
		{"lambda-apigw-v2-post.json", seen{
			Method: "POST", Path: "/wecom/callback",
			RawQuery:   "msg_signature=abc&timestamp=1700000000&nonce=n1&echostr=a%2Bb",
			RequestURI: "/wecom/callback?msg_signature=abc&timestamp=1700000000&nonce=n1&echostr=a%2Bb",
			Host:       "abc123.execute-api.ap-east-1.amazonaws.com", Cookie: "sid=1; theme=dark", XTest: "v1,v2",
			ContentType: "text/xml", RemoteAddr: "203.0.113.9:0",
			Body: "<xml><Encrypt>enc</Encrypt></xml>", ContentLength: 33,
		}},
		{"lambda-apigw-v2-get.json", seen{
			Method: "GET", Path: "/", RequestURI: "/", Host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
			RemoteAddr: "1.2.3.4:0",
		}},
		{"lambda-function-url.json", seen{
			Method: "POST", Path: "/my/path", RawQuery: "parameter1=value1&parameter1=value2&parameter2=value",
			RequestURI: "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
			Host:       "<url-id>.lambda-url.us-west-2.on.aws", Cookie: "cookie1; cookie2",
			RemoteAddr: "123.123.123.123:0", Body: "Hello from client!", ContentLength: 18,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			rc := &recorder{}
			h := platform.NewLambdaHandler(rc.handlers())
			out, err := h(t.Context(), readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(rc.http) != 1 || rc.http[0] != tc.want {
				t.Fatalf("handler saw %+v\nwant %+v", rc.http, tc.want)
			}
			resp := roundTrip[events.APIGatewayV2HTTPResponse](t, out)
			if resp.StatusCode != http.StatusCreated || resp.IsBase64Encoded || resp.Body != "echo:"+tc.want.Body {
				t.Fatalf("response %+v", resp)
			}
			if resp.Headers["Content-Type"] != "text/plain; charset=utf-8" || resp.Headers["X-Multi"] != "1,2" {
				t.Fatalf("headers %v", resp.Headers)
			}
			if _, ok := resp.Headers["Set-Cookie"]; ok {
				t.Fatalf("Set-Cookie must go to cookies, got headers %v", resp.Headers)
			}
			if !reflect.DeepEqual(resp.Cookies, []string{"a=1", "b=2"}) {
				t.Fatalf("cookies %v", resp.Cookies)
			}
		})
	}
}

func TestLambdaHTTPBinaryResponse(t *testing.T) {
	rc := &recorder{}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(readTestdata(t, "lambda-apigw-v2-get.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawPath = "/binary"
	raw, _ := json.Marshal(ev)
	out, err := platform.NewLambdaHandler(rc.handlers())(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	resp := roundTrip[events.APIGatewayV2HTTPResponse](t, out)
	if !resp.IsBase64Encoded || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response %+v", resp)
	}
	if b, _ := base64.StdEncoding.DecodeString(resp.Body); string(b) != "\xff\xfe\x00\x01" {
		t.Fatalf("body %q", b)
	}
}

// roundTrip marshals a handler result the way the runtime does and decodes
// it into the documented response type.
func roundTrip[T any](tb testing.TB, out any) T {
	tb.Helper()
	b, err := json.Marshal(out)
	if err != nil {
		tb.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestLambdaSQS(t *testing.T) {
	rc := &recorder{}
	out, err := platform.NewLambdaHandler(rc.handlers())(t.Context(), readTestdata(t, "lambda-sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp := roundTrip[events.SQSEventResponse](t, out)
	want := []events.SQSBatchItemFailure{{ItemIdentifier: "m-3"}, {ItemIdentifier: "m-6"}}
	if !reflect.DeepEqual(resp.BatchItemFailures, want) {
		t.Fatalf("failures %+v, want %+v", resp.BatchItemFailures, want)
	}
	wantMsgs := []queue.Message{
		{ID: "wrapped-1", Body: []byte("hello"), Attributes: map[string]string{"correlation_id": "c-1"}},
		{ID: "dedupe-2", Body: []byte("raw body 2"), Attributes: map[string]string{"correlation_id": "c-2"}},
		{ID: "fail-3", Body: []byte(`{"id":"fail-3","event":"kf_msg_or_event"}`)},
		{ID: "m-4", Body: []byte("plain")},
		{ID: "b64-5", Body: []byte("hi")},
	}
	if !reflect.DeepEqual(rc.msgs, wantMsgs) {
		t.Fatalf("messages\n got %+v\nwant %+v", rc.msgs, wantMsgs)
	}
}

func TestLambdaSchedule(t *testing.T) {
	rc := &recorder{}
	h := platform.NewLambdaHandler(rc.handlers())
	if _, err := h(t.Context(), readTestdata(t, "lambda-schedule.json")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rc.schedules, []string{"notesync-every-5min"}) {
		t.Fatalf("schedules %v", rc.schedules)
	}
	// A custom-bus rule and a failing job.
	ev := `{"source":"aws.events","detail-type":"Scheduled Event","resources":["arn:aws:events:r:1:rule/bus/fail"]}`
	if _, err := h(t.Context(), []byte(ev)); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want errBoom", err)
	}
}

func TestEnvelope(t *testing.T) {
	for name, newHandler := range map[string]func(platform.Handlers, ...platform.Option) func(context.Context, json.RawMessage) (any, error){
		"lambda": platform.NewLambdaHandler, "scf": platform.NewSCFHandler,
	} {
		t.Run(name, func(t *testing.T) {
			rc := &recorder{}
			h := newHandler(rc.handlers())
			if _, err := h(t.Context(), readTestdata(t, "envelope.json")); err != nil {
				t.Fatal(err)
			}
			want := []queue.Message{{ID: "env-1", Body: []byte(`{"k":"v"}`), Attributes: map[string]string{"correlation_id": "c-env"}}}
			if !reflect.DeepEqual(rc.msgs, want) {
				t.Fatalf("messages %+v", rc.msgs)
			}
			_, err := h(t.Context(), []byte(`{"queueMessage":{"id":"fail-x","body":""}}`))
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestUnsupportedEvents(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  error
	}{
		{"s3 records", string(readTestdata(t, "unknown.json")), domain.ErrInvalid},
		{"not json", `not json`, domain.ErrInvalid},
		{"array", `[1,2]`, domain.ErrInvalid},
		{"empty object", `{}`, domain.ErrInvalid},
		{"null envelope", `{"queueMessage":null}`, domain.ErrInvalid},
		{"bad base64 body", `{"requestContext":{"http":{"method":"POST"},"serviceId":"s"},"httpMethod":"POST","rawPath":"/","path":"/","body":"%%%","isBase64Encoded":true}`, domain.ErrInvalid},
	}
	for _, tc := range tests {
		for name, newHandler := range map[string]func(platform.Handlers, ...platform.Option) func(context.Context, json.RawMessage) (any, error){
			"lambda": platform.NewLambdaHandler, "scf": platform.NewSCFHandler,
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				rc := &recorder{}
				_, err := newHandler(rc.handlers())(t.Context(), []byte(tc.event))
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
	}
}

func TestMissingHandlers(t *testing.T) {
	events := map[string]func(platform.Handlers, ...platform.Option) func(context.Context, json.RawMessage) (any, error){
		"lambda-apigw-v2-post.json": platform.NewLambdaHandler,
		"lambda-sqs-batch.json":     platform.NewLambdaHandler,
		"lambda-schedule.json":      platform.NewLambdaHandler,
		"scf-apigw.json":            platform.NewSCFHandler,
		"scf-timer.json":            platform.NewSCFHandler,
		"scf-cmq.json":              platform.NewSCFHandler,
		"envelope.json":             platform.NewSCFHandler,
	}
	for file, newHandler := range events {
		t.Run(file, func(t *testing.T) {
			_, err := newHandler(platform.Handlers{})(t.Context(), readTestdata(t, file))
			if !errors.Is(err, domain.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestSCFAPIGateway(t *testing.T) {
	rc := &recorder{}
	out, err := platform.NewSCFHandler(rc.handlers())(t.Context(), readTestdata(t, "scf-apigw.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := seen{
		Method: "POST", Path: "/wecom/callback", RawQuery: "a=b&a=c&i&x=y+z",
		RequestURI: "/wecom/callback?a=b&a=c&i&x=y+z",
		Host:       "service-xxx-123456.ap-guangzhou.apigateway.myqcloud.com", XTest: "scf",
		ContentType: "text/xml", RemoteAddr: "8.8.8.8:0",
		Body: "<xml><Encrypt>enc</Encrypt></xml>", ContentLength: 33,
	}
	if len(rc.http) != 1 || rc.http[0] != want {
		t.Fatalf("handler saw %+v\nwant %+v", rc.http, want)
	}
	resp := roundTrip[scfevents.APIGatewayResponse](t, out)
	if resp.StatusCode != http.StatusCreated || resp.IsBase64Encoded || resp.Body != "echo:"+want.Body {
		t.Fatalf("response %+v", resp)
	}
	if resp.Headers["Content-Type"] != "text/plain; charset=utf-8" || resp.Headers["X-Multi"] != "1,2" {
		t.Fatalf("headers %v", resp.Headers)
	}
}

func TestSCFTimer(t *testing.T) {
	rc := &recorder{}
	h := platform.NewSCFHandler(rc.handlers())
	if _, err := h(t.Context(), readTestdata(t, "scf-timer.json")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rc.schedules, []string{"reminders-daily"}) {
		t.Fatalf("schedules %v", rc.schedules)
	}
	if _, err := h(t.Context(), []byte(`{"Type":"Timer","TriggerName":"fail"}`)); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
}

func TestSCFCMQ(t *testing.T) {
	rc := &recorder{}
	if _, err := platform.NewSCFHandler(rc.handlers())(t.Context(), readTestdata(t, "scf-cmq.json")); err != nil {
		t.Fatal(err)
	}
	want := []queue.Message{
		{ID: "13510798882111490", Body: []byte("aaaaaaaaaa")},
		{ID: "cmq-env", Body: []byte("x")},
	}
	if !reflect.DeepEqual(rc.msgs, want) {
		t.Fatalf("messages %+v", rc.msgs)
	}
}

func FuzzLambdaHandler(f *testing.F) {
	for _, name := range []string{"lambda-apigw-v2-post.json", "lambda-apigw-v2-get.json", "lambda-function-url.json",
		"lambda-sqs-batch.json", "lambda-schedule.json", "envelope.json", "unknown.json"} {
		f.Add(readTestdata(f, name))
	}
	rc := &recorder{}
	h := platform.NewLambdaHandler(rc.handlers())
	f.Fuzz(func(t *testing.T, event []byte) {
		out, err := h(t.Context(), event)
		if err == nil {
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result not marshalable: %v", err)
			}
		}
	})
}

func FuzzSCFHandler(f *testing.F) {
	for _, name := range []string{"scf-apigw.json", "scf-timer.json", "scf-cmq.json", "envelope.json", "unknown.json"} {
		f.Add(readTestdata(f, name))
	}
	rc := &recorder{}
	h := platform.NewSCFHandler(rc.handlers())
	f.Fuzz(func(t *testing.T, event []byte) {
		out, err := h(t.Context(), event)
		if err == nil {
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result not marshalable: %v", err)
			}
		}
	})
}
