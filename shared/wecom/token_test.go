package wecom_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/wecomtest"
)

const (
	pathToken = "/cgi-bin/gettoken"
	pathSend  = "/cgi-bin/kf/send_msg"
)

func TestTokenReusedAcrossCalls(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	for i := range 5 {
		if _, err := sendText(t, t.Context(), c); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := srv.Calls(pathToken); n != 1 {
		t.Errorf("gettoken calls = %d, want 1", n)
	}
	if n := srv.Calls(pathSend); n != 5 {
		t.Errorf("send_msg calls = %d, want 5", n)
	}
}

// TestSingleFlight runs concurrent callers on two Clients sharing one store:
// one gettoken per token lifetime, then one more after the refresh point.
func TestSingleFlight(t *testing.T) {
	tests := []struct {
		name    string
		callers int
		shared  bool
	}{
		{"one client, 50 callers", 50, false},
		{"two clients sharing a store, 50 callers each", 50, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.SetLatency(pathToken, 30*time.Millisecond) // widen the race window
			clk := newClock()
			st := newMemStore(clk.Now)
			clients := []*wecom.Client{newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st))}
			if tc.shared {
				clients = append(clients, newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st)))
			}
			burst := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make(chan error, tc.callers*len(clients))
				for _, c := range clients {
					for range tc.callers {
						wg.Go(func() {
							if _, err := sendText(t, t.Context(), c); err != nil {
								errs <- err
							}
						})
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("send: %v", err)
				}
			}
			burst()
			if n := srv.Calls(pathToken); n != 1 {
				t.Fatalf("gettoken calls after first burst = %d, want 1", n)
			}
			clk.Advance(7200*time.Second - 4*time.Minute) // inside the 5-minute refresh window
			burst()
			if n := srv.Calls(pathToken); n != 2 {
				t.Fatalf("gettoken calls after refresh burst = %d, want 2", n)
			}
		})
	}
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"well before expiry", 7200*time.Second - 6*time.Minute, 1},
		{"inside refresh window", 7200*time.Second - 4*time.Minute, 2},
		{"after expiry", 3 * time.Hour, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			clk := newClock()
			c := newClient(t, srv, wecom.WithClock(clk.Now))
			if _, err := sendText(t, t.Context(), c); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.advance)
			if _, err := sendText(t, t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if n := srv.Calls(pathToken); n != tc.want {
				t.Errorf("gettoken calls = %d, want %d", n, tc.want)
			}
		})
	}
}

func TestTokenSharedThroughStore(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	st := newMemStore(clk.Now)
	a := newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st))
	if _, err := sendText(t, t.Context(), a); err != nil {
		t.Fatal(err)
	}
	// A second instance (cold start) finds the token in the store.
	b := newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st))
	if _, err := sendText(t, t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(pathToken); n != 1 {
		t.Errorf("gettoken calls = %d, want 1", n)
	}
	for k, r := range st.recs {
		if strings.Contains(k, testSecret) || strings.Contains(string(r.val), testSecret) {
			t.Errorf("store key %q holds the secret", k)
		}
	}
}

func TestExpiredTokenMidRun(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	st := newMemStore(clk.Now)
	a := newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st))
	b := newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(st))
	for _, c := range []*wecom.Client{a, b} {
		if _, err := sendText(t, t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	srv.ExpireTokens() // WeCom now answers 42001 for the cached token

	if _, err := sendText(t, t.Context(), a); err != nil {
		t.Fatalf("send after expiry: %v", err)
	}
	if n := srv.Calls(pathToken); n != 2 {
		t.Errorf("gettoken calls = %d, want 2 (one refresh)", n)
	}
	// b still holds the old token: it gets 42001 once, then picks up a's new
	// token from the store instead of calling gettoken.
	if _, err := sendText(t, t.Context(), b); err != nil {
		t.Fatalf("send from b after expiry: %v", err)
	}
	if n := srv.Calls(pathToken); n != 2 {
		t.Errorf("gettoken calls = %d, want still 2", n)
	}
	if n := srv.Calls(pathSend); n != 6 {
		t.Errorf("send_msg calls = %d, want 6 (2 ok, 2×(42001 + retry))", n)
	}
}

func TestTokenRejectedTwiceIsNotLooped(t *testing.T) {
	tests := []struct {
		name string
		code int
		want error
	}{
		{"40014 twice", 40014, domain.ErrUnavailable},
		{"42001 twice", 42001, domain.ErrUnavailable},
		{"40001 twice", 40001, domain.ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv)
			srv.Fail(pathSend, wecomtest.Errcode(tc.code), wecomtest.Errcode(tc.code), wecomtest.Errcode(tc.code))
			_, err := sendText(t, t.Context(), c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n := srv.Calls(pathSend); n != 2 {
				t.Errorf("send_msg calls = %d, want 2 (one retry)", n)
			}
			if n := srv.Calls(pathToken); n != 2 {
				t.Errorf("gettoken calls = %d, want 2 (one refresh)", n)
			}
		})
	}
}

func TestBadSecretIsConfigErrorWithoutLoop(t *testing.T) {
	srv := newServer(t)
	c := wecom.New(testCorp, "wrong-secret", wecom.WithBaseURL(srv.URL), wecom.WithRetry(3, time.Millisecond, 5*time.Millisecond))
	for i := range 3 {
		_, err := sendText(t, t.Context(), c)
		var apiErr *wecom.APIError
		if !errors.Is(err, domain.ErrConfig) || !errors.As(err, &apiErr) || apiErr.Code != 40001 {
			t.Fatalf("call %d: err = %v, want APIError 40001 matching domain.ErrConfig", i, err)
		}
		if domain.Retryable(err) {
			t.Errorf("40001 must not be retryable")
		}
	}
	if n := srv.Calls(pathToken); n != 1 {
		t.Errorf("gettoken calls = %d, want 1 (config errors are remembered briefly)", n)
	}
	if n := srv.Calls(pathSend); n != 0 {
		t.Errorf("send_msg calls = %d, want 0", n)
	}
}
