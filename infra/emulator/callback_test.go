package emulator_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
)

func TestKfCallback(t *testing.T) {
	rc := newReceiver(t, nil)
	e := newEnv(t, func(c *emulator.Config) { c.CallbackURL = rc.srv.URL + "/wecom/kf?tenant=demo" })
	if err := e.emu.CustomerSays(t.Context(), cust, "你好，在吗？"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "callback", func() bool { return len(rc.callbacks()) == 1 })
	cb := rc.callbacks()[0]
	if cb.Query.Get("tenant") != "demo" || cb.Query.Get("echostr") != "" {
		t.Fatalf("query %v", cb.Query)
	}
	if ts, err := strconv.ParseInt(cb.Query.Get("timestamp"), 10, 64); err != nil || ts != e.clock.Now().Unix() {
		t.Fatalf("timestamp %q", cb.Query.Get("timestamp"))
	}
	m := cb.Msg
	if cb.Env.ToUserName != corpID || m.ToUserName != corpID || m.MsgType != "event" || m.Event != "kf_msg_or_event" ||
		m.OpenKfID != openKf || m.Token == "" || m.CreateTime != e.clock.Now().Unix() {
		t.Fatalf("callback %+v", cb)
	}
	// The callback's Token opens sync_msg for 10 minutes.
	r := e.post("/cgi-bin/kf/sync_msg", map[string]any{"token": m.Token, "open_kfid": m.OpenKfID})
	if r.code() != 0 || len(r["msg_list"].([]any)) != 1 {
		t.Fatalf("sync with token: %v", r)
	}
	e.clock.Advance(10 * time.Minute)
	_, r = e.do("POST", "/cgi-bin/kf/sync_msg", url.Values{"access_token": {e.token()}}, map[string]any{"token": m.Token})
	if r.code() != 95007 {
		t.Fatalf("token after 10 min: errcode %d, want 95007", r.code())
	}
	if s := e.emu.Stats(); s.CallbacksSent != 1 || s.CallbacksRetried != 0 || s.CallbacksFailed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCallbackRetries(t *testing.T) {
	tests := []struct {
		name                  string
		status                func(n int) int
		slow                  bool
		sent, retried, failed int
		wantDeliveries        int
	}{
		{"SucceedsOnThirdAttempt", func(n int) int {
			if n < 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}, false, 1, 2, 0, 3},
		{"NeverSucceeds", func(int) int { return http.StatusBadGateway }, false, 1, 3, 1, 4},
		{"TooSlow", nil, true, 1, 3, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, tc.status)
			if tc.slow {
				rc.onCall = func(callback) { time.Sleep(150 * time.Millisecond) }
			}
			e := newEnv(t, func(c *emulator.Config) {
				c.CallbackURL = rc.srv.URL
				c.RetryInterval = 20 * time.Millisecond
				c.CallbackTimeout = 50 * time.Millisecond
			})
			if err := e.emu.CustomerSays(t.Context(), cust, "hello"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "delivery to finish", func() bool {
				s := e.emu.Stats()
				return s.CallbacksRetried == tc.retried && (tc.failed == 0 || s.CallbacksFailed == tc.failed) && len(rc.callbacks()) == tc.wantDeliveries
			})
			time.Sleep(100 * time.Millisecond) // nothing more may arrive
			s := e.emu.Stats()
			if s.CallbacksSent != tc.sent || s.CallbacksRetried != tc.retried || s.CallbacksFailed != tc.failed {
				t.Fatalf("stats %+v", s)
			}
			cbs := rc.callbacks()
			if len(cbs) != tc.wantDeliveries {
				t.Fatalf("%d deliveries, want %d", len(cbs), tc.wantDeliveries)
			}
			for _, cb := range cbs[1:] {
				if cb.Env.Encrypt != cbs[0].Env.Encrypt || cb.Query.Get("nonce") != cbs[0].Query.Get("nonce") {
					t.Fatal("a retry must re-send the same callback")
				}
			}
		})
	}
}
