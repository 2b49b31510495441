package reminders_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/reminders"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/worker"
)

var cst = time.FixedZone("CST", 8*3600)

type fakeTasks struct{ tasks []domain.Task }

func (f *fakeTasks) ListTasks(_ context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	var out []domain.Task
	for _, t := range f.tasks {
		if !t.Done && (q.DueBefore.IsZero() || t.Due.Before(q.DueBefore)) && (q.OwnerID == "" || q.OwnerID == t.OwnerID) {
			out = append(out, t)
		}
	}
	return out, nil
}

type sent struct{ to, text string }

type fakeSender struct {
	mu    sync.Mutex
	msgs  []sent
	fails int
}

func (f *fakeSender) SendAppMessage(_ context.Context, m wecom.AppMessage) (wecom.AppSendResult, error) {
	time.Sleep(5 * time.Millisecond) // widen the race window
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return wecom.AppSendResult{}, domain.ErrUnavailable
	}
	f.msgs = append(f.msgs, sent{strings.Join(m.ToUser, "|"), m.Markdown})
	return wecom.AppSendResult{}, nil
}

func (f *fakeSender) all() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.msgs...)
}

type fakeRobot struct {
	mu   sync.Mutex
	msgs []string
}

func (f *fakeRobot) Send(_ context.Context, key string, m wecom.WebhookMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, key+":"+m.Markdown.Content)
	return nil
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func pass(t *testing.T, st store.Store, tasks reminders.Tasks, s reminders.Sender, r reminders.Robot, now time.Time) *reminders.Pass {
	t.Helper()
	cfg := reminders.Config{Tasks: tasks, State: st, Sender: s, AgentID: 1000002, Location: cst,
		Owners: map[string]string{"own-02": "sales02"}, Now: func() time.Time { return now }}
	if r != nil {
		cfg.Robot, cfg.RobotKey = r, "robot-key"
	}
	p, err := reminders.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A task due in 1 minute gets exactly one reminder across two concurrent
// passes, and none on later passes.
func TestConcurrentPassesRemindOnce(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, cst) // before the digest hour
	st := openStore(t)
	tasks := &fakeTasks{tasks: []domain.Task{
		{ID: "t1", OwnerUserID: "sales01", Subject: "给王总发报价", Due: now.Add(time.Minute)},
		{ID: "t2", OwnerUserID: "sales01", Subject: "已完成的任务", Due: now.Add(time.Minute), Done: true},
		{ID: "t3", OwnerUserID: "sales01", Subject: "下周的任务", Due: now.Add(7 * 24 * time.Hour)},
	}}
	s := &fakeSender{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := pass(t, st, tasks, s, nil, now).Run(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, later := range []time.Duration{time.Minute, 5 * time.Minute} {
		if _, err := pass(t, st, tasks, s, nil, now.Add(later)).Run(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got := s.all()
	if len(got) != 1 || got[0].to != "sales01" || !strings.Contains(got[0].text, "给王总发报价") || !strings.Contains(got[0].text, "11-25 08:01") {
		t.Fatalf("messages = %+v, want one reminder for t1", got)
	}
}

func TestReminders(t *testing.T) {
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, cst)
	tests := []struct {
		name      string
		now       time.Time
		tasks     []domain.Task
		fails     int
		runs      int
		wantTo    []string
		want, not []string
		robot     []string
	}{
		{"due soon, owner from CRM_OWNERS", base.Add(14 * time.Hour), []domain.Task{
			{ID: "a", OwnerID: "own-02", Subject: "回访云杉", Due: base.Add(14*time.Hour + 10*time.Minute)},
		}, 0, 1, []string{"sales02"}, []string{"回访云杉", "14:10"}, nil, nil},
		{"time zone: due 15:00 business time", base.Add(14*time.Hour + 50*time.Minute), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "x", Due: time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)},
		}, 0, 1, []string{"u1"}, []string{"11-25 15:00"}, nil, nil},
		{"not yet due", base.Add(14 * time.Hour), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "x", Due: base.Add(15 * time.Hour)},
		}, 0, 2, nil, nil, nil, nil},
		{"unknown owner is skipped", base.Add(14 * time.Hour), []domain.Task{
			{ID: "a", OwnerID: "own-99", Subject: "x", Due: base.Add(14*time.Hour + time.Minute)},
		}, 0, 1, nil, nil, nil, nil},
		{"failed send retried on the next pass, once", base.Add(14 * time.Hour), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "重试", Due: base.Add(14*time.Hour + 5*time.Minute)},
		}, 1, 3, []string{"u1"}, []string{"重试"}, nil, nil},
		{"snoozed task (new due) is reminded again", base.Add(14 * time.Hour), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "x", Due: base.Add(14*time.Hour + time.Minute)},
			{ID: "a", OwnerUserID: "u1", Subject: "x", Due: base.Add(14*time.Hour + 2*time.Minute)},
		}, 0, 2, []string{"u1", "u1"}, nil, nil, nil},
		{"morning digest once per rep", base.Add(9*time.Hour + 5*time.Minute), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "昨天的", Due: base.Add(-8 * time.Hour)},
			{ID: "b", OwnerUserID: "u1", Subject: "上周的", Due: base.Add(-5 * 24 * time.Hour)},
			{ID: "c", OwnerUserID: "u2", Subject: "u2 的", Due: base.Add(-30 * time.Hour)},
			{ID: "d", OwnerUserID: "u1", Subject: "完成了", Due: base.Add(-30 * time.Hour), Done: true},
		}, 0, 3, []string{"u1", "u2"}, []string{"逾期任务", "昨天的", "上周的", "逾期 5 天", "u2 的"}, []string{"完成了"}, nil},
		{"no digest before 9", base.Add(8 * time.Hour), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "昨天的", Due: base.Add(-8 * time.Hour)},
		}, 0, 1, nil, nil, nil, nil},
		{"no digest in the afternoon", base.Add(15 * time.Hour), []domain.Task{
			{ID: "a", OwnerUserID: "u1", Subject: "昨天的", Due: base.Add(-8 * time.Hour)},
		}, 0, 1, nil, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			s := &fakeSender{fails: tc.fails}
			var errs int
			for i := range tc.runs {
				if _, err := pass(t, st, &fakeTasks{tc.tasks}, s, nil, tc.now.Add(time.Duration(i)*time.Minute)).Run(t.Context()); err != nil {
					errs++
				}
			}
			if errs != tc.fails {
				t.Errorf("%d passes failed, want %d", errs, tc.fails)
			}
			got := s.all()
			var to []string
			all := ""
			for _, m := range got {
				to = append(to, m.to)
				all += m.text + "\n"
			}
			if strings.Join(to, ",") != strings.Join(tc.wantTo, ",") {
				t.Errorf("sent to %v, want %v:\n%s", to, tc.wantTo, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("messages lack %q:\n%s", w, all)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(all, n) {
					t.Errorf("messages have %q:\n%s", n, all)
				}
			}
		})
	}
}

// The team summary reads yesterday's counters and goes out once a day.
func TestTeamSummary(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	yesterday := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	// Yesterday's activity, counted by the real analytics recorder from the
	// worker's events (and some of today's, which is not in the summary).
	rec := analytics.New(st)
	emit := func(at time.Time, ev worker.Event, n int) {
		for range n {
			ev.At = at
			rec.Record(ctx, ev)
		}
	}
	for _, day := range []time.Time{yesterday, yesterday.AddDate(0, 0, 1)} {
		extra := 0
		if !day.Equal(yesterday) {
			extra = 7
		}
		emit(day, worker.Event{Channel: "default", Kind: "welcome", Reason: "new"}, 2+extra)
		emit(day, worker.Event{Channel: "kf2", Kind: "welcome", Reason: "known"}, 1)
		emit(day, worker.Event{Channel: "default", Kind: "conversation_start"}, 12+extra)
		emit(day, worker.Event{Channel: "default", Kind: "handoff", Reason: "requested"}, 2+extra)
		emit(day, worker.Event{Channel: "default", Kind: "message_in", Intent: "unknown", Text: "看不懂的问题"}, 4+extra)
		emit(day, worker.Event{Channel: "default", Kind: "message_in", Intent: "shipping", Answered: true}, 9)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	r := &fakeRobot{}
	now := time.Date(2026, 11, 25, 9, 1, 0, 0, cst)
	for i := range 3 {
		if _, err := pass(t, st, &fakeTasks{}, nil, r, now.Add(time.Duration(i)*time.Hour)).Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.msgs) != 1 {
		t.Fatalf("robot got %d messages, want 1: %v", len(r.msgs), r.msgs)
	}
	for _, w := range []string{"robot-key:", "2026-11-24", "新客户：<font color=\"info\">3<", "会话：<font color=\"info\">12<", "转人工：<font color=\"info\">2<", "未解答问题：<font color=\"info\">4<"} {
		if !strings.Contains(r.msgs[0], w) {
			t.Errorf("summary lacks %q:\n%s", w, r.msgs[0])
		}
	}
	// The next day brings the next summary.
	if _, err := pass(t, st, &fakeTasks{}, nil, r, now.AddDate(0, 0, 1)).Run(ctx); err != nil || len(r.msgs) != 2 {
		t.Errorf("next day: %v, %d messages", err, len(r.msgs))
	}
	if !errors.Is(func() error { _, err := reminders.New(reminders.Config{}); return err }(), domain.ErrConfig) {
		t.Error("New without dependencies should fail with ErrConfig")
	}
}
