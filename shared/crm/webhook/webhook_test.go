package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/crm/crmtest"
	"wecom-crm-bot/shared/crm/webhook"
	"wecom-crm-bot/shared/domain"
)

const secret = "s3cret-for-tests"

func newPair(t *testing.T, clientSecret string) *webhook.Client {
	t.Helper()
	b, err := builtin.New(builtin.WithoutSeed())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(webhook.NewHandler(b, secret, nil))
	t.Cleanup(srv.Close)
	c, err := webhook.New(srv.URL+"/hooks/crm", clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crm.CRM { return newPair(t, secret) })
}

func TestWrongSecretIsConfigError(t *testing.T) {
	c := newPair(t, "wrong")
	_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wm1"})
	if !errors.Is(err, domain.ErrConfig) || !strings.Contains(err.Error(), "CRM_WEBHOOK_SECRET") {
		t.Errorf("err = %v, want ErrConfig naming CRM_WEBHOOK_SECRET", err)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1764000000, 0)
	body := []byte(`{"contact_id":"c1"}`)
	good := webhook.Sign(secret, now.Unix(), "context", body)
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name, op, ts, sig string
		body              []byte
		at                time.Time
		ok                bool
	}{
		{"valid", "context", ts, good, body, now, true},
		{"tampered body", "context", ts, good, []byte(`{"contact_id":"c2"}`), now, false},
		{"other op", "complete_task", ts, good, body, now, false},
		{"stale", "context", ts, good, body, now.Add(6 * time.Minute), false},
		{"bad timestamp", "context", "x", good, body, now, false},
		{"no signature", "context", ts, "", body, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(secret, tc.at, tc.op, tc.ts, tc.sig, tc.body)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{{400, domain.ErrInvalid}, {404, domain.ErrNotFound}, {409, domain.ErrConflict}, {429, domain.ErrRateLimited}, {502, domain.ErrUnavailable}}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"error":"x","message":"m"}`))
			}))
			t.Cleanup(srv.Close)
			c, err := webhook.New(srv.URL, secret)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CompleteTask(t.Context(), "t1")
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("context", "1764000000", "sha256=00", []byte(`{}`))
	f.Fuzz(func(t *testing.T, op, ts, sig string, body []byte) {
		now := time.Unix(1764000000, 0)
		if webhook.Verify(secret, now, op, ts, sig, body) == nil && !bytes.Equal([]byte(sig), []byte(webhook.Sign(secret, 1764000000+mustInt(ts)-1764000000, op, body))) {
			t.Fatalf("accepted a signature that is not ours: %q", sig)
		}
	})
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64) // invalid: 0, which Verify rejects anyway
	return n
}
