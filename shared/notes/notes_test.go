package notes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
)

var shanghai = time.FixedZone("CST", 8*3600)

func conversation(key, externalUserID string) domain.Conversation {
	start := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	return domain.Conversation{
		Key: key, Channel: "kf", OpenKfID: "wkDEMO", ExternalUserID: externalUserID, CustomerName: "张三",
		StartedAt: start, LastActivity: start.Add(12 * time.Minute), Ended: true, EndedAt: start.Add(42 * time.Minute), EndReason: "idle",
		Turns: []domain.Turn{
			{At: start, Role: domain.RoleCustomer, Text: "我的订单到哪了", Intent: "order_status", Answered: true, Sentiment: 0.1},
			{At: start.Add(time.Minute), Role: domain.RoleBot, Text: "订单 SO20261101 已发货，预计明天送达。"},
			{At: start.Add(2 * time.Minute), Role: domain.RoleCustomer, Text: "能开增值税专票吗？公司抬头变了", Sentiment: -0.2},
			{At: start.Add(3 * time.Minute), Role: domain.RoleAgent, Name: "林晓峰", Text: "可以的，我来处理。"},
		},
		Handoff:      &domain.Handoff{At: start.Add(2 * time.Minute), To: "sales01", Reason: "low_confidence"},
		Satisfaction: 5,
	}
}

func TestRender(t *testing.T) {
	n := notes.Render(conversation("kf:wkDEMO/wmDEMO_zhangsan:1", "wmDEMO_zhangsan"), shanghai)
	for _, want := range []string{
		"企业微信会话 2026-11-25 14:00 · 张三",
	} {
		if !strings.Contains(n.Title, want) {
			t.Errorf("title %q lacks %q", n.Title, want)
		}
	}
	for _, want := range []string{
		"张三（客户）", "林晓峰（客服）", "智能助手", // participants
		"14:00 – 14:42（42 分钟）", "客户无回复（超时）",
		"意图：order_status",
		"未解答的问题：\n  - 能开增值税专票吗？公司抬头变了",
		"转人工：14:02 转给 sales01（原因：low_confidence）",
		"满意度：5/5",
		"[14:01:00] 智能助手：订单 SO20261101 已发货",
		"[14:03:00] 客服 林晓峰：可以的",
	} {
		if !strings.Contains(n.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, n.Body)
		}
	}
	if n.Key != "kf:wkDEMO/wmDEMO_zhangsan:1" {
		t.Errorf("key %q", n.Key)
	}
}

func TestRenderTruncatesHugeTranscripts(t *testing.T) {
	c := conversation("k", "wm")
	for i := 0; i < 3000; i++ {
		c.Turns = append(c.Turns, domain.Turn{At: c.StartedAt, Role: domain.RoleCustomer, Text: strings.Repeat("字", 20)})
	}
	n := notes.Render(c, nil)
	if len([]rune(n.Body)) > 30100 || !strings.Contains(n.Body, "已截断") {
		t.Fatalf("body not bounded: %d runes", len([]rune(n.Body)))
	}
}

// flaky wraps the built-in CRM with injected failures.
type flaky struct {
	*builtin.CRM
	mu       sync.Mutex
	failNext int   // UpsertNote fails this many more times
	fail     error // with this error
	upserts  int
}

func (f *flaky) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	f.mu.Lock()
	if f.failNext > 0 {
		f.failNext--
		f.mu.Unlock()
		return "", f.fail
	}
	f.upserts++
	f.mu.Unlock()
	return f.CRM.UpsertNote(ctx, n)
}

func setup(t *testing.T) (*boltstore.Store, *flaky) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := builtin.New()
	if err != nil {
		t.Fatal(err)
	}
	return st, &flaky{CRM: b}
}

func queueNote(t *testing.T, st store.Store, c domain.Conversation) {
	t.Helper()
	b, _ := json.Marshal(c)
	if err := st.Add(t.Context(), store.Item{Topic: "notes", ID: c.Key, Payload: b}); err != nil {
		t.Fatal(err)
	}
}

func notesFor(t *testing.T, c *builtin.CRM, key string) []domain.Note {
	t.Helper()
	var out []domain.Note
	for _, n := range c.Snapshot().Notes {
		if n.Key == key {
			out = append(out, n)
		}
	}
	return out
}

func TestSyncerDeliversOnceThroughFailures(t *testing.T) {
	st, cr := setup(t)
	s := notes.NewSyncer(notes.Config{Outbox: st, CRM: cr, TimeZone: shanghai, MaxAttempts: 3,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Visibility: time.Minute, Batch: 100})

	// 50 conversations end while the CRM is down (500s, then 429 with Retry-After).
	var keys []string
	for i := range 50 {
		c := conversation(fmt.Sprintf("kf:wkDEMO/wmDEMO_zhangsan:%d", i), "wmDEMO_zhangsan")
		keys = append(keys, c.Key)
		queueNote(t, st, c)
	}
	queueNote(t, st, conversation(keys[0], "wmDEMO_zhangsan")) // duplicate end: no-op
	cr.failNext, cr.fail = 1<<30, fmt.Errorf("hubspot: 500: %w", domain.ErrUnavailable)

	stats, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Delivered != 0 || stats.Retried != 50 {
		t.Fatalf("first pass while down: %+v", stats)
	}
	// Still down: every note is retried with backoff until its third attempt
	// fails, then dead-lettered — none delivered, none lost.
	var dead []store.Item
	deadline := time.Now().Add(10 * time.Second)
	for len(dead) < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if _, err := s.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if dead, err = s.DeadLetters(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if len(dead) != 50 {
		t.Fatalf("dead letters = %d, want 50", len(dead))
	}
	for _, d := range dead {
		if d.Attempts != 3 {
			t.Fatalf("%s buried after %d attempts, want 3", d.ID, d.Attempts)
		}
	}
	if !strings.Contains(dead[0].LastError, "500") {
		t.Errorf("dead letter keeps the last error: %q", dead[0].LastError)
	}
	// Recovery: replay every dead letter; each note is written exactly once.
	cr.failNext = 0
	n, err := notes.Replay(t.Context(), st, "notes")
	if err != nil || n != 50 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	stats, err = s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Delivered != 50 {
		t.Fatalf("after replay: %+v", stats)
	}
	for _, k := range keys {
		if got := notesFor(t, cr.CRM, k); len(got) != 1 {
			t.Fatalf("%s: %d notes, want 1", k, len(got))
		}
	}
	// A redelivery (e.g. ack lost) upserts the same key: still one note each.
	queueNote(t, st, conversation(keys[1], "wmDEMO_zhangsan"))
	if _, err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := notesFor(t, cr.CRM, keys[1]); len(got) != 1 {
		t.Fatalf("after redelivery: %d notes", len(got))
	}
	if again, _ := s.DeadLetters(t.Context(), 10); len(again) != 0 {
		t.Fatalf("dead letters left: %d", len(again))
	}
}

// A CRM's 429 Retry-After (crm.APIError.RetryAfter) postpones the retry
// beyond the backoff. Regression: only a RetryAfter() method was honoured,
// which no adapter error has.
func TestSyncerHonoursRetryAfter(t *testing.T) {
	st, cr := setup(t)
	s := notes.NewSyncer(notes.Config{Outbox: st, CRM: cr, TimeZone: shanghai, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	queueNote(t, st, conversation("kf:wkDEMO/wmDEMO_zhangsan:ra", "wmDEMO_zhangsan"))
	cr.failNext, cr.fail = 1, &crm.APIError{Vendor: "hubspot", Op: "upsert", Status: 429, RetryAfter: time.Hour, Kind: domain.ErrRateLimited}
	if st1, err := s.Run(t.Context()); err != nil || st1.Retried != 1 {
		t.Fatalf("first pass: %+v %v", st1, err)
	}
	time.Sleep(100 * time.Millisecond) // well past the backoff, far before Retry-After
	if st2, err := s.Run(t.Context()); err != nil || st2.Delivered != 0 {
		t.Fatalf("retried before Retry-After: %+v %v", st2, err)
	}
}

func TestSyncerUnknownContact(t *testing.T) {
	st, cr := setup(t)
	c := conversation("kf:wkDEMO/wmNEW:1", "wmNEW_person")
	c.CustomerName = "新客户"
	queueNote(t, st, c)

	// Without contact creation the note cannot be placed: it is kept, not lost.
	s := notes.NewSyncer(notes.Config{Outbox: st, CRM: cr, MaxAttempts: 1})
	stats, err := s.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Buried != 1 {
		t.Fatalf("stats %+v", stats)
	}
	// With creation enabled, replay places it on a new contact.
	if _, err := notes.Replay(t.Context(), st, "notes", c.Key); err != nil {
		t.Fatal(err)
	}
	s = notes.NewSyncer(notes.Config{Outbox: st, CRM: cr, CreateContacts: true})
	if stats, err = s.Run(t.Context()); err != nil || stats.Delivered != 1 {
		t.Fatalf("stats %+v err %v", stats, err)
	}
	contact, err := cr.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmNEW_person"})
	if err != nil {
		t.Fatal(err)
	}
	got := notesFor(t, cr.CRM, c.Key)
	if len(got) != 1 || got[0].ContactID != contact.ID {
		t.Fatalf("note %+v on contact %s", got, contact.ID)
	}
}

func TestSyncerIdleItems(t *testing.T) {
	st, cr := setup(t)
	ctx := t.Context()
	for _, id := range []string{"due", "later", "broken"} {
		if err := st.Add(ctx, store.Item{Topic: "idle", ID: id, Payload: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	calls := map[string]int{}
	idle := func(ctx context.Context, payload []byte, now time.Time) (time.Time, bool, error) {
		calls[string(payload)]++
		switch string(payload) {
		case "due":
			return time.Time{}, true, nil
		case "later":
			return now.Add(time.Hour), false, nil
		default:
			return time.Time{}, false, errors.New("store hiccup")
		}
	}
	s := notes.NewSyncer(notes.Config{Outbox: st, CRM: cr, Idle: idle, MinBackoff: time.Hour})
	stats, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.IdleEnded != 1 || stats.IdleRescheduled != 1 {
		t.Fatalf("stats %+v", stats)
	}
	// Nothing is due any more: "later" waits an hour, "broken" backs off.
	if stats, _ = s.Run(ctx); stats.IdleEnded+stats.IdleRescheduled != 0 {
		t.Fatalf("second pass touched items: %+v", stats)
	}
	if calls["due"] != 1 || calls["later"] != 1 || calls["broken"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}
