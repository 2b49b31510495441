package worker_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/worker"
)

func TestEndIfIdle(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	idle := 30 * time.Minute
	key := worker.StoreKey("default", "wkDEMO/wm1")
	conv := domain.Conversation{Key: "default:wkDEMO/wm1:1", Channel: "default", ExternalUserID: "wm1",
		StartedAt: now.Add(-time.Hour), LastActivity: now.Add(-10 * time.Minute),
		Turns: []domain.Turn{{At: now.Add(-10 * time.Minute), Role: domain.RoleCustomer, Text: "hi"}}}
	b, _ := json.Marshal(conv)
	if _, err := st.Put(ctx, key, b, 0, 0); err != nil {
		t.Fatal(err)
	}
	job := worker.IdleJob{StoreKey: key, ConvKey: conv.Key}

	// Still active: check again when it could go idle.
	next, done, err := worker.EndIfIdle(ctx, st, job, idle, now)
	if err != nil || done || !next.Equal(conv.LastActivity.Add(idle)) {
		t.Fatalf("active: next=%v done=%v err=%v", next, done, err)
	}
	// Idle: ended, note queued once.
	later := now.Add(25 * time.Minute)
	if _, done, err = worker.EndIfIdle(ctx, st, job, idle, later); err != nil || !done {
		t.Fatalf("idle: done=%v err=%v", done, err)
	}
	rec, err := st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var ended domain.Conversation
	if err := json.Unmarshal(rec.Value, &ended); err != nil || !ended.Ended || ended.EndReason != "idle" {
		t.Fatalf("conversation not ended: %+v %v", ended, err)
	}
	items, err := st.Take(ctx, worker.TopicNotes, 10, time.Minute)
	if err != nil || len(items) != 1 || items[0].ID != conv.Key {
		t.Fatalf("note items %+v err %v", items, err)
	}
	// A second check (a redelivered idle item) is a no-op.
	if _, done, err = worker.EndIfIdle(ctx, st, job, idle, later); err != nil || !done {
		t.Fatalf("again: done=%v err=%v", done, err)
	}
	if more, _ := st.Take(ctx, worker.TopicNotes, 10, time.Minute); len(more) != 0 {
		t.Fatalf("second note queued: %+v", more)
	}
	// A job for a replaced conversation is done without touching anything.
	if _, done, err = worker.EndIfIdle(ctx, st, worker.IdleJob{StoreKey: key, ConvKey: "old"}, idle, later); err != nil || !done {
		t.Fatalf("replaced: done=%v err=%v", done, err)
	}
	if _, done, err = worker.EndIfIdle(ctx, st, worker.IdleJob{StoreKey: "conv:none", ConvKey: "x"}, idle, later); err != nil || !done {
		t.Fatalf("missing: done=%v err=%v", done, err)
	}
	var _ store.Store = st
}
