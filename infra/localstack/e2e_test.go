package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/event"
)

// env builds a test environment over the defaults of the local stack.
func env(t *testing.T, extra map[string]string) func(string) string {
	t.Helper()
	m := map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "warn"}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

type stackOpts struct {
	env      map[string]string
	emulator func(*emulator.Config)
}

func start(t *testing.T, o stackOpts) *localstack.Stack {
	t.Helper()
	s, err := localstack.Start(t.Context(), localstack.Options{
		Addr: "127.0.0.1:0", Getenv: env(t, o.env), NotePoll: 50 * time.Millisecond,
		Emulator: func(c *emulator.Config) {
			c.RetryInterval, c.CallbackTimeout = 200*time.Millisecond, 2*time.Second
			if o.emulator != nil {
				o.emulator(c)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func botLines(s *localstack.Stack, user string) []emulator.ChatLine {
	var out []emulator.ChatLine
	for _, l := range s.Emulator.Transcript(user) {
		if l.From == "bot" {
			out = append(out, l)
		}
	}
	return out
}

// assertOnce checks the reply invariant: the answer containing want was
// sent exactly once, no reply was sent twice, and send_msg was called once
// per reply (nothing duplicated, nothing retried into a second message).
func assertOnce(t *testing.T, s *localstack.Stack, user, want string) {
	t.Helper()
	lines := botLines(s, user)
	seen := map[string]int{}
	matches := 0
	for _, l := range lines {
		seen[l.Text]++
		if seen[l.Text] > 1 {
			t.Errorf("reply sent twice: %q", l.Text)
		}
		if strings.Contains(l.Text, want) {
			matches++
		}
	}
	if matches != 1 {
		t.Errorf("%d replies contain %q, want 1: %+v", matches, want, lines)
	}
}

func TestCustomerGetsAnAnswer(t *testing.T) {
	s := start(t, stackOpts{})
	ctx := t.Context()
	const user = "wmNEWCUSTOMER01"
	if err := s.Emulator.CustomerSays(ctx, user, "你们的退货政策是什么？"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a bot reply", 10*time.Second, func() bool { return len(botLines(s, user)) > 0 })
	time.Sleep(300 * time.Millisecond) // nothing else trickles in
	assertOnce(t, s, user, "无理由退货")
}

// A known customer is greeted by name and the open order is answered.
func TestKnownCustomerIsGreetedByName(t *testing.T) {
	s := start(t, stackOpts{})
	const user = "wmDEMO_lisi"
	if err := s.Emulator.CustomerSays(t.Context(), user, "你好"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a bot reply", 10*time.Second, func() bool { return len(botLines(s, user)) > 0 })
	all := ""
	for _, l := range botLines(s, user) {
		all += l.Text + "\n"
	}
	if !strings.Contains(all, "李四") {
		t.Errorf("not greeted by name: %q", all)
	}
}

// WeCom re-delivers a callback (here 4 times, concurrently) and two workers
// race on the same account: the customer still gets exactly one reply.
func TestDuplicatedCallbacksAndConcurrentWorkersReplyOnce(t *testing.T) {
	var target string
	var forwarded sync.WaitGroup
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		url := target + r.URL.RequestURI()
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range 4 {
			wg.Add(1)
			forwarded.Add(1)
			go func() {
				defer wg.Done()
				defer forwarded.Done()
				resp, err := http.Post(url, "text/xml", bytes.NewReader(body))
				if err != nil {
					return
				}
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}()
		}
		wg.Wait()
		for _, c := range codes {
			if c != http.StatusOK {
				t.Errorf("delivery answered %d", c)
			}
		}
		w.Write([]byte("success"))
	}))
	defer proxy.Close()
	s := start(t, stackOpts{emulator: func(c *emulator.Config) { c.CallbackURL = proxy.URL + "/wecom/default" }})
	target = s.URL

	// A second worker instance consumes the same queue concurrently.
	w2, err := s.App.Worker(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Queue.Run(ctx, w2.Handle)

	const user = "wmDUPLICATE01"
	if err := s.Emulator.CustomerSays(t.Context(), user, "发票怎么开？"); err != nil {
		t.Fatal(err)
	}
	// Meanwhile the worker is also driven directly with extra kf events (as
	// when WeCom notifies twice), from two goroutines.
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := callback.Envelope{Key: "extra" + string(rune('a'+i)), Channel: "default", Kind: "kf",
				Message: event.Message{MsgType: "event", Event: "kf_msg_or_event", OpenKfID: "wkDEMO"}}
			body, _ := json.Marshal(env)
			if err := w2.Handle(t.Context(), queue.Message{ID: env.Key, Body: body}); err != nil {
				t.Errorf("direct handle: %v", err)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "a bot reply", 10*time.Second, func() bool { return len(botLines(s, user)) > 0 })
	forwarded.Wait()
	time.Sleep(500 * time.Millisecond)
	assertOnce(t, s, user, "申请开票")
	if st := s.Emulator.Stats(); st.SendMsgCalls != len(botLines(s, user)) {
		t.Errorf("send_msg called %d times for %d replies", st.SendMsgCalls, len(botLines(s, user)))
	}
}

// WeCom faults while replying: an expired token and a burst of "system
// busy" answers. The reply still arrives exactly once.
func TestRepliesThroughWeComFaults(t *testing.T) {
	s := start(t, stackOpts{})
	const user = "wmFAULTS01"
	s.Emulator.Inject("/cgi-bin/kf/sync_msg", 42001, 1)
	s.Emulator.Inject("/cgi-bin/kf/send_msg", -1, 2)
	if err := s.Emulator.CustomerSays(t.Context(), user, "支持哪些付款方式？"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a bot reply", 15*time.Second, func() bool {
		for _, l := range botLines(s, user) {
			if strings.Contains(l.Text, "支付宝") || strings.Contains(l.Text, "付款") || strings.Contains(l.Text, "支付") {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	assertOnce(t, s, user, "支付")
	if st := s.Emulator.Stats(); st.Injected < 3 {
		t.Errorf("faults were not exercised: %+v", st)
	}
}

// After an agent takes over, the bot stays silent; the conversation ends
// with the session and exactly one note lands on the contact in the CRM.
func TestHandoffSilenceAndOneNote(t *testing.T) {
	s := start(t, stackOpts{env: map[string]string{"NOTE_IDLE_MINUTES": "0.02"}})
	ctx := t.Context()
	const user = "wmDEMO_wangfang"
	if err := s.Emulator.CustomerSays(ctx, user, "转人工"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "handoff", 10*time.Second, func() bool {
		state, _ := s.Emulator.SessionState(user)
		return state == 2 || state == 3
	})
	before := len(botLines(s, user))
	if state, _ := s.Emulator.SessionState(user); state == 2 {
		if err := s.Emulator.AgentTakesOver(ctx, user, "sales02"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Emulator.AgentSays(ctx, user, "sales02", "您好，我是黄丽娜，请问有什么可以帮您？"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emulator.CustomerSays(ctx, user, "我想改一下收货地址"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)
	if after := len(botLines(s, user)); after != before {
		t.Fatalf("bot spoke while a human was handling the chat (%d → %d)", before, after)
	}
	if err := s.Emulator.EndSession(ctx, user); err != nil {
		t.Fatal(err)
	}
	notes := func() int {
		n := 0
		for _, note := range s.CRM.Snapshot().Notes {
			if note.ContactID == "c003" && strings.Contains(note.Body, "我想改一下收货地址") {
				n++
			}
		}
		return n
	}
	waitFor(t, "the note in the CRM", 10*time.Second, func() bool { return notes() > 0 })
	time.Sleep(300 * time.Millisecond) // further passes must not add a second note
	if n := notes(); n != 1 {
		t.Fatalf("%d notes, want 1", n)
	}
}
