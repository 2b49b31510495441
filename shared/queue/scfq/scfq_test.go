package scfq_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/scfq"
)

const (
	testID     = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
	testKey    = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
	testToken  = "sts-token-1"
	testRegion = "ap-guangzhou"
)

// tc3Sign computes a TC3-HMAC-SHA256 signature from Tencent Cloud's
// published algorithm (signature v3), independently of the SDK.
func tc3Sign(secretKey, service, timestamp, method, uri, query, canonicalHeaders, signedHeaders string, payload []byte) string {
	hmacSHA256 := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	canonicalRequest := strings.Join([]string{method, uri, query, canonicalHeaders, signedHeaders, sum(payload)}, "\n")
	ts, _ := strconv.ParseInt(timestamp, 10, 64)
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	stringToSign := strings.Join([]string{"TC3-HMAC-SHA256", timestamp, scope, sum([]byte(canonicalRequest))}, "\n")
	secretDate := hmacSHA256([]byte("TC3"+secretKey), date)
	secretService := hmacSHA256(secretDate, service)
	secretSigning := hmacSHA256(secretService, "tc3_request")
	return hex.EncodeToString(hmacSHA256(secretSigning, stringToSign))
}

// invokeCall is what the fake API saw for one accepted Invoke.
type invokeCall struct {
	FunctionName, InvocationType, Namespace, Qualifier string
	Envelope                                           queue.Envelope
}

// fakeSCF is an httptest server speaking the Tencent Cloud API 3.0 wire
// format for scf Invoke. It rejects anything malformed or badly signed with
// the API's error envelope; errorCode, when set, is returned for valid calls.
type fakeSCF struct {
	srv       *httptest.Server
	mu        sync.Mutex
	calls     []invokeCall
	errorCode string
	status    int
	delay     time.Duration
}

func newFakeSCF(t *testing.T) *fakeSCF {
	t.Helper()
	f := &fakeSCF{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func apiError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": map[string]any{
		"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": "req-err"}})
}

func (f *fakeSCF) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status, code, delay := f.status, f.errorCode, f.delay
	f.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, "InvalidParameter", "read body")
		return
	}
	if delay > 0 {
		// With the body read, the server notices the client hanging up.
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	h := r.Header
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || r.URL.RawQuery != "":
		apiError(w, "InvalidParameter", "want POST /")
		return
	case h.Get("X-TC-Action") != "Invoke" || h.Get("X-TC-Version") != "2018-04-16":
		apiError(w, "InvalidAction", "action/version "+h.Get("X-TC-Action")+" "+h.Get("X-TC-Version"))
		return
	case h.Get("X-TC-Region") != testRegion:
		apiError(w, "InvalidParameterValue", "region "+h.Get("X-TC-Region"))
		return
	case h.Get("X-TC-Token") != testToken:
		apiError(w, "AuthFailure.TokenFailure", "token")
		return
	case !strings.HasPrefix(h.Get("Content-Type"), "application/json"):
		apiError(w, "InvalidParameter", "content type")
		return
	}
	ts := h.Get("X-TC-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		apiError(w, "AuthFailure.SignatureExpire", "timestamp "+ts)
		return
	}
	// Authorization: TC3-HMAC-SHA256 Credential=<id>/<date>/scf/tc3_request, SignedHeaders=…, Signature=…
	auth, ok := strings.CutPrefix(h.Get("Authorization"), "TC3-HMAC-SHA256 ")
	if !ok {
		apiError(w, "AuthFailure.InvalidAuthorization", "algorithm")
		return
	}
	parts := map[string]string{}
	for _, p := range strings.Split(auth, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	date := time.Unix(sec, 0).UTC().Format("2006-01-02")
	if parts["Credential"] != testID+"/"+date+"/scf/tc3_request" {
		apiError(w, "AuthFailure.SecretIdNotFound", "credential "+parts["Credential"])
		return
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !contains(signed, "host") || !contains(signed, "content-type") {
		apiError(w, "AuthFailure.InvalidAuthorization", "signed headers "+parts["SignedHeaders"])
		return
	}
	var canon strings.Builder
	for _, name := range signed {
		v := h.Get(name)
		if name == "host" {
			v = r.Host
		}
		canon.WriteString(name + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	want := tc3Sign(testKey, "scf", ts, r.Method, "/", "", canon.String(), parts["SignedHeaders"], body)
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		apiError(w, "AuthFailure.SignatureFailure", "signature mismatch")
		return
	}
	var in struct {
		FunctionName, InvocationType, Namespace, Qualifier, ClientContext string
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		apiError(w, "UnknownParameter", err.Error())
		return
	}
	var env queue.Envelope
	if err := json.Unmarshal([]byte(in.ClientContext), &env); err != nil || env.QueueMessage == nil {
		apiError(w, "InvalidParameterValue.ClientContext", "ClientContext is not the JSON envelope")
		return
	}
	if code != "" {
		apiError(w, code, "injected")
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, invokeCall{in.FunctionName, in.InvocationType, in.Namespace, in.Qualifier, env})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprint(w, `{"Response":{"Result":{"FunctionRequestId":"fr-1"},"RequestId":"req-1"}}`)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func newPublisher(t *testing.T, f *fakeSCF, key string) *scfq.Publisher {
	t.Helper()
	p, err := scfq.New(scfq.Config{
		FunctionName: "wecom-worker", Region: testRegion, Qualifier: "$LATEST",
		Credentials: func() scfq.Credentials { return scfq.Credentials{SecretID: testID, SecretKey: key, Token: testToken} },
		Endpoint:    strings.TrimPrefix(f.srv.URL, "http://"), Scheme: "http", Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPublish(t *testing.T) {
	f := newFakeSCF(t)
	p := newPublisher(t, f, testKey)
	msg := queue.Message{ID: "kf-msg-1", Body: []byte(`{"token":"x","open_kfid":"wk1"}`), Attributes: map[string]string{"correlation_id": "c1"}}
	if err := p.Publish(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	want := []invokeCall{{FunctionName: "wecom-worker", InvocationType: "Event", Namespace: "default", Qualifier: "$LATEST",
		Envelope: queue.Envelope{QueueMessage: &msg}}}
	if !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %+v\nwant %+v", f.calls, want)
	}
}

func TestPublishErrors(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		code   string
		status int
		msg    queue.Message
		want   error
	}{
		{"wrong secret key is rejected by signature check", "not-the-key", "", 0, queue.Message{ID: "1"}, domain.ErrConfig},
		{"throttled", testKey, "RequestLimitExceeded", 0, queue.Message{ID: "1"}, domain.ErrRateLimited},
		{"concurrency limit", testKey, "LimitExceeded.Concurrency", 0, queue.Message{ID: "1"}, domain.ErrRateLimited},
		{"no permission", testKey, "UnauthorizedOperation.CAM", 0, queue.Message{ID: "1"}, domain.ErrConfig},
		{"unknown function", testKey, "ResourceNotFound.Function", 0, queue.Message{ID: "1"}, domain.ErrConfig},
		{"internal error", testKey, "InternalError", 0, queue.Message{ID: "1"}, domain.ErrUnavailable},
		{"gateway 502", testKey, "", http.StatusBadGateway, queue.Message{ID: "1"}, domain.ErrUnavailable},
		{"too large", testKey, "", 0, queue.Message{ID: "big", Body: make([]byte, scfq.MaxPayload)}, domain.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSCF(t)
			f.errorCode, f.status = tc.code, tc.status
			err := newPublisher(t, f, tc.key).Publish(t.Context(), tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.key != testKey && !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
				t.Fatalf("want a signature failure, got %v", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error leaks the secret key: %v", err)
			}
			if len(f.calls) != 0 {
				t.Fatalf("accepted calls %+v", f.calls)
			}
		})
	}
}

func TestPublishHonoursContext(t *testing.T) {
	f := newFakeSCF(t)
	f.delay = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := newPublisher(t, f, testKey).Publish(ctx, queue.Message{ID: "slow"})
	if !errors.Is(err, domain.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("Publish ignored ctx for %v", time.Since(start))
	}
}

func TestOpen(t *testing.T) {
	env := map[string]string{"TENCENTCLOUD_SECRETID": testID, "TENCENTCLOUD_SECRETKEY": testKey,
		"TENCENTCLOUD_SESSIONTOKEN": testToken, "TENCENTCLOUD_REGION": testRegion}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		url     string
		noCreds bool
		wantErr bool
	}{
		{"full", "scf://wecom-worker?region=ap-guangzhou&namespace=default", false, false},
		{"region from env", "scf://wecom-worker", false, false},
		{"wrong scheme", "sqs://wecom-worker?region=ap-guangzhou", false, true},
		{"no function", "scf://?region=ap-guangzhou", false, true},
		{"path", "scf://wecom-worker/extra", false, true},
		{"bad scheme param", "scf://wecom-worker?scheme=ftp", false, true},
		{"not a url", "scf://%zz", false, true},
		{"no credentials", "scf://wecom-worker", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := getenv
			if tc.noCreds {
				g = func(k string) string {
					if strings.HasPrefix(k, "TENCENTCLOUD_SECRET") {
						return ""
					}
					return env[k]
				}
			}
			p, err := scfq.Open(tc.url, g)
			if tc.wantErr {
				if !errors.Is(err, domain.ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil || p == nil {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}

func TestOpenPublishesThroughEndpoint(t *testing.T) {
	f := newFakeSCF(t)
	env := map[string]string{"TENCENTCLOUD_SECRETID": testID, "TENCENTCLOUD_SECRETKEY": testKey, "TENCENTCLOUD_SESSIONTOKEN": testToken}
	u := "scf://wecom-worker?region=ap-guangzhou&namespace=prod&scheme=http&endpoint=" + strings.TrimPrefix(f.srv.URL, "http://")
	p, err := scfq.Open(u, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Rotated role credentials are read at Publish time.
	env["TENCENTCLOUD_SESSIONTOKEN"] = "rotated"
	if err := p.Publish(t.Context(), queue.Message{ID: "m"}); !errors.Is(err, domain.ErrConfig) {
		t.Fatalf("stale token accepted? err = %v", err)
	}
	env["TENCENTCLOUD_SESSIONTOKEN"] = testToken
	if err := p.Publish(t.Context(), queue.Message{ID: "m"}); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 || f.calls[0].Namespace != "prod" || f.calls[0].Envelope.QueueMessage.ID != "m" {
		t.Fatalf("calls %+v", f.calls)
	}
}

func FuzzOpen(f *testing.F) {
	for _, s := range []string{"scf://w?region=ap-guangzhou", "scf://", "scf://w/x", "scf://w?endpoint=h:1&scheme=http", "%", ""} {
		f.Add(s)
	}
	getenv := func(k string) string {
		return map[string]string{"TENCENTCLOUD_SECRETID": "id", "TENCENTCLOUD_SECRETKEY": "k"}[k]
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := scfq.Open(s, getenv)
		if (p == nil) == (err == nil) {
			t.Fatalf("Open(%q) = %v, %v", s, p, err)
		}
		if err != nil && !errors.Is(err, domain.ErrConfig) {
			t.Fatalf("Open(%q) error %v not ErrConfig", s, err)
		}
	})
}
