package boltstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/store/storetest"
)

// openTemp opens a store in a fresh file under t.TempDir.
func openTemp(t testing.TB, opts ...boltstore.Option) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "state.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOpenLockedFileFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeStore(t, first) })
	// bbolt's flock is per open file, so a second Open in this process
	// contends exactly as a second process would.
	second, err := boltstore.Open(path, boltstore.WithLockTimeout(100*time.Millisecond))
	if err == nil {
		closeStore(t, second)
		t.Fatal("second Open of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "locked") {
		t.Fatalf("error %q does not mention the lock", err)
	}
}

func TestReopenKeepsState(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.Put(ctx, "k", []byte("v"), 0, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Add(ctx, store.Item{Topic: "t", ID: "a"}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s, err = boltstore.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer closeStore(t, s)
	if r, err := s.Get(ctx, "k"); err != nil || string(r.Value) != "v" || r.Version != 1 {
		t.Fatalf("Get after reopen: %+v, %v", r, err)
	}
	if items, err := s.Take(ctx, "t", 10, time.Minute); err != nil || len(items) != 1 {
		t.Fatalf("Take after reopen: %+v, %v", items, err)
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := boltstore.Open(path, boltstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.Claim(ctx, "c", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, "l", "o", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "r", []byte("v"), 0, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "forever", []byte("v"), 0, 0); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if err := s.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Inspect the file directly: expired entries must be gone, not just hidden.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}()
	counts := map[string]int{}
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range []string{"claims", "leases", "records"} {
			counts[b] = tx.Bucket([]byte(b)).Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"claims": 0, "leases": 0, "records": 1}
	for b, n := range want {
		if counts[b] != n {
			t.Errorf("bucket %s holds %d keys after sweep, want %d", b, counts[b], n)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	s := openTemp(t)
	defer closeStore(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Claim(ctx, "k", time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim with canceled context: %v, want context.Canceled", err)
	}
}

func closeStore(t testing.TB, s *boltstore.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
