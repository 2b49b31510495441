package wecom_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/wecomtest"
)

func TestRetryPolicy(t *testing.T) {
	busy := wecomtest.Errcode(-1)
	tests := []struct {
		name      string
		faults    []wecomtest.Fault
		wantErr   error // nil: success
		wantCalls int
	}{
		{"-1 burst then success", []wecomtest.Fault{busy, busy}, nil, 3},
		{"-1 three times gives up", []wecomtest.Fault{busy, busy, busy, busy}, domain.ErrUnavailable, 3},
		{"45009 then success", []wecomtest.Fault{wecomtest.Errcode(45009), wecomtest.Errcode(45033)}, nil, 3},
		{"45009 persists", []wecomtest.Fault{wecomtest.Errcode(45009), wecomtest.Errcode(45009), wecomtest.Errcode(45009), wecomtest.Errcode(45009), wecomtest.Errcode(45009)}, domain.ErrRateLimited, 4},
		{"5xx then success", []wecomtest.Fault{{Status: http.StatusBadGateway}, {Status: http.StatusServiceUnavailable}}, nil, 3},
		{"5xx persists", []wecomtest.Fault{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}}, domain.ErrUnavailable, 4},
		{"other errcode not retried", []wecomtest.Fault{wecomtest.Errcode(95001)}, wecom.ErrSendLimit, 1},
		{"invalid userid not retried", []wecomtest.Fault{wecomtest.Errcode(40096)}, domain.ErrInvalid, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv) // 3 retries, 1–5 ms waits
			srv.Fail(pathSend, tc.faults...)
			_, err := sendText(t, t.Context(), c)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want success", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if n := srv.Calls(pathSend); n != tc.wantCalls {
				t.Errorf("send_msg calls = %d, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestRateLimitBacksOff checks that 45009 waits before retrying: with
// jitter the wait is at least half the exponential step.
func TestRateLimitBacksOff(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, wecom.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond))
	if _, err := sendText(t, t.Context(), c); err != nil { // warm the token
		t.Fatal(err)
	}
	srv.Fail(pathSend, wecomtest.Errcode(45009), wecomtest.Errcode(45009))
	start := time.Now()
	if _, err := sendText(t, t.Context(), c); err != nil {
		t.Fatal(err)
	}
	// waits: attempt 0 ≥ 10 ms, attempt 1 ≥ 20 ms
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("two 45009 retries took %v, want ≥ 30ms of backoff", d)
	}
}

func TestContextDeadline(t *testing.T) {
	tests := []struct {
		name   string
		faults []wecomtest.Fault
		opts   []wecom.Option
	}{
		{"slow server", []wecomtest.Fault{{Delay: 5 * time.Second}}, nil},
		{"during backoff", []wecomtest.Fault{wecomtest.Errcode(45009), wecomtest.Errcode(45009)},
			[]wecom.Option{wecom.WithRetry(3, 5*time.Second, 10*time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, tc.opts...)
			if _, err := sendText(t, t.Context(), c); err != nil { // warm the token
				t.Fatal(err)
			}
			srv.Fail(pathSend, tc.faults...)
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			_, err := sendText(t, ctx, c)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			assertNoSecrets(t, srv, err)
		})
	}
}

func TestContextCanceledWhileWaitingForToken(t *testing.T) {
	srv := newServer(t)
	srv.SetLatency(pathToken, 5*time.Second)
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := sendText(t, ctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// failingTransport fails every request except gettoken, the way a dropped
// connection does; its *url.Error carries the full URL.
type failingTransport struct{ base http.RoundTripper }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == pathToken {
		return f.base.RoundTrip(r)
	}
	return nil, errors.New("connection reset by peer")
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Run("transport error", func(t *testing.T) {
		srv := newServer(t)
		hc := &http.Client{Transport: failingTransport{base: http.DefaultTransport}}
		c := newClient(t, srv, wecom.WithHTTPClient(hc))
		_, err := sendText(t, t.Context(), c)
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("err = %v, want domain.ErrUnavailable", err)
		}
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v, want the *url.Error kept in the chain", err)
		}
		assertNoSecrets(t, srv, ue) // unwrapping must not reveal the token either
		assertNoSecrets(t, srv, err)
	})
	t.Run("gettoken transport error", func(t *testing.T) {
		hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("dial tcp: i/o timeout")
		})}
		c := wecom.New(testCorp, testSecret, wecom.WithBaseURL("http://127.0.0.1:1"), wecom.WithHTTPClient(hc),
			wecom.WithRetry(1, time.Millisecond, time.Millisecond))
		_, err := sendText(t, t.Context(), c)
		if err == nil || strings.Contains(err.Error(), testSecret) {
			t.Fatalf("err = %v, want an error without the secret", err)
		}
	})
	t.Run("webhook key", func(t *testing.T) {
		hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, errors.New("connection refused")
		})}
		w := wecom.NewWebhook(wecom.WithBaseURL("http://127.0.0.1:1"), wecom.WithHTTPClient(hc), wecom.WithRetry(0, 0, 0))
		err := w.Send(t.Context(), "robot-key-SECRET", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: "x"}})
		if err == nil || strings.Contains(err.Error(), "robot-key-SECRET") {
			t.Fatalf("err = %v, want an error without the key", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// assertNoSecrets fails if err's message holds any issued token or the secret.
func assertNoSecrets(t *testing.T, srv *wecomtest.Server, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, testSecret) {
		t.Errorf("error leaks the secret: %s", msg)
	}
	for _, tok := range srv.IssuedTokens() {
		if strings.Contains(msg, tok) || strings.Contains(msg, url.QueryEscape(tok)) {
			t.Errorf("error leaks token %q: %s", tok, msg)
		}
	}
	if strings.Contains(msg, "SECRETVALUE") {
		t.Errorf("error leaks a token: %s", msg)
	}
}
