package boltstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
)

func TestClaimAndAdd(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var _ store.ClaimAdder = st
	ctx := t.Context()
	item := func(id string) store.Item { return store.Item{Topic: "q", ID: id, Payload: []byte(id)} }

	won, err := st.ClaimAndAdd(ctx, "k", 300*time.Millisecond, item("a"))
	if err != nil || !won {
		t.Fatalf("first: won=%v err=%v", won, err)
	}
	// Taken claim: nothing is written, not even a different item.
	won, err = st.ClaimAndAdd(ctx, "k", time.Minute, item("b"))
	if err != nil || won {
		t.Fatalf("second: won=%v err=%v", won, err)
	}
	if won, _ := st.Claim(ctx, "k", time.Minute); won {
		t.Fatal("claim was not recorded")
	}
	items, err := st.Take(ctx, "q", 10, time.Minute)
	if err != nil || len(items) != 1 || items[0].ID != "a" {
		t.Fatalf("queued %+v err %v, want only a", items, err)
	}
	// After the claim expires the key can be claimed with a new item again.
	time.Sleep(350 * time.Millisecond)
	if won, err = st.ClaimAndAdd(ctx, "k", time.Minute, item("c")); err != nil || !won {
		t.Fatalf("after expiry: won=%v err=%v", won, err)
	}
	if items, _ = st.Take(ctx, "q", 10, time.Minute); len(items) != 1 || items[0].ID != "c" {
		t.Fatalf("queued after expiry %+v", items)
	}
}
