package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// Timing used by the suite. Engines expire on their own clocks, so the TTLs
// are real but short, and every wait leaves a generous margin.
const (
	shortTTL = 400 * time.Millisecond
	longTTL  = time.Minute
	// settle is how long the suite waits past a short TTL before it expects
	// the entry to be gone.
	settle = shortTTL + 350*time.Millisecond
)

// Run runs the whole conformance suite. open returns a fresh, empty, isolated
// store for each call (e.g. new file, new key prefix, new table); the suite
// closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		if s == nil {
			t.Fatal("open returned a nil store")
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("Claims", func(t *testing.T) { t.Parallel(); testClaims(t, fresh) })
	t.Run("Leases", func(t *testing.T) { t.Parallel(); testLeases(t, fresh) })
	t.Run("Records", func(t *testing.T) { t.Parallel(); testRecords(t, fresh) })
	t.Run("Outbox", func(t *testing.T) { t.Parallel(); testOutbox(t, fresh) })
	t.Run("Counters", func(t *testing.T) { t.Parallel(); testCounters(t, fresh) })
}

type opener = func(t *testing.T) store.Store

// claim calls Claim and fails the test on error.
func claim(t *testing.T, s store.Claims, key string, ttl time.Duration) bool {
	t.Helper()
	won, err := s.Claim(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Claim(%q): %v", key, err)
	}
	return won
}

func testClaims(t *testing.T, open opener) {
	t.Run("FirstWinsSecondLoses", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if !claim(t, s, "cb:msg-1", longTTL) {
			t.Fatal("first Claim lost")
		}
		if claim(t, s, "cb:msg-1", longTTL) {
			t.Fatal("second Claim of the same key won")
		}
		if !claim(t, s, "cb:msg-2", longTTL) {
			t.Fatal("Claim of a different key lost")
		}
	})
	t.Run("ExpiryMakesClaimableAgain", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if !claim(t, s, "k", shortTTL) {
			t.Fatal("first Claim lost")
		}
		if claim(t, s, "k", shortTTL) {
			t.Fatal("Claim before expiry won")
		}
		time.Sleep(settle)
		if !claim(t, s, "k", longTTL) {
			t.Fatal("Claim after expiry lost")
		}
		if claim(t, s, "k", longTTL) {
			t.Fatal("Claim right after the re-claim won")
		}
	})
	t.Run("Unclaim", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		if err := s.Unclaim(ctx, "absent"); err != nil {
			t.Fatalf("Unclaim of absent key: %v", err)
		}
		if !claim(t, s, "k", longTTL) {
			t.Fatal("first Claim lost")
		}
		if err := s.Unclaim(ctx, "k"); err != nil {
			t.Fatalf("Unclaim: %v", err)
		}
		if !claim(t, s, "k", longTTL) {
			t.Fatal("Claim after Unclaim lost")
		}
	})
	t.Run("ConcurrentExactlyOneWinner", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const n = 50
		var wins atomic.Int32
		errs := make(chan error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				<-start
				won, err := s.Claim(t.Context(), "hot", longTTL)
				if err != nil {
					errs <- err
					return
				}
				if won {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Claim: %v", err)
		}
		if got := wins.Load(); got != 1 {
			t.Fatalf("%d of %d concurrent claims won, want exactly 1", got, n)
		}
	})
}

// acquire calls Acquire and fails the test on error.
func acquire(t *testing.T, s store.Leases, name, owner string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.Acquire(t.Context(), name, owner, ttl)
	if err != nil {
		t.Fatalf("Acquire(%q, %q): %v", name, owner, err)
	}
	return ok
}

func wantNotOwner(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotOwner) {
		t.Fatalf("%s: got %v, want ErrNotOwner", what, err)
	}
}

func testLeases(t *testing.T, open opener) {
	t.Run("AcquireAndRefuseOther", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if !acquire(t, s, "sync", "a", longTTL) {
			t.Fatal("Acquire of a free lease failed")
		}
		if acquire(t, s, "sync", "b", longTTL) {
			t.Fatal("other owner acquired a held lease")
		}
		if !acquire(t, s, "other", "b", longTTL) {
			t.Fatal("Acquire of a different free lease failed")
		}
	})
	t.Run("SameOwnerExtends", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if !acquire(t, s, "l", "a", shortTTL) {
			t.Fatal("Acquire failed")
		}
		time.Sleep(shortTTL / 2)
		if !acquire(t, s, "l", "a", 2*shortTTL) {
			t.Fatal("same owner re-Acquire failed")
		}
		// Past the first TTL, inside the extended one.
		time.Sleep(shortTTL/2 + shortTTL/4)
		if acquire(t, s, "l", "b", longTTL) {
			t.Fatal("other owner took a lease its holder extended by re-Acquire")
		}
		if err := s.Renew(t.Context(), "l", "a", 2*shortTTL); err != nil {
			t.Fatalf("Renew by holder: %v", err)
		}
		time.Sleep(shortTTL + shortTTL/4)
		if acquire(t, s, "l", "b", longTTL) {
			t.Fatal("other owner took a lease its holder renewed")
		}
	})
	t.Run("NonOwnerRefused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		wantNotOwner(t, "Renew of an absent lease", s.Renew(ctx, "l", "a", longTTL))
		wantNotOwner(t, "Release of an absent lease", s.Release(ctx, "l", "a"))
		if !acquire(t, s, "l", "a", longTTL) {
			t.Fatal("Acquire failed")
		}
		wantNotOwner(t, "Renew by non-owner", s.Renew(ctx, "l", "b", longTTL))
		wantNotOwner(t, "Release by non-owner", s.Release(ctx, "l", "b"))
		if acquire(t, s, "l", "b", longTTL) {
			t.Fatal("lease lost its holder after refused Renew/Release by another owner")
		}
		if err := s.Release(ctx, "l", "a"); err != nil {
			t.Fatalf("Release by holder: %v", err)
		}
		wantNotOwner(t, "second Release", s.Release(ctx, "l", "a"))
		if !acquire(t, s, "l", "b", longTTL) {
			t.Fatal("Acquire after Release failed")
		}
	})
	t.Run("ExpiryLetsAnotherOwnerTakeIt", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		if !acquire(t, s, "l", "a", shortTTL) {
			t.Fatal("Acquire failed")
		}
		time.Sleep(settle)
		if !acquire(t, s, "l", "b", longTTL) {
			t.Fatal("other owner could not take an expired lease")
		}
		// a lost the lease: it can neither renew nor release it, and cannot take it back.
		wantNotOwner(t, "Renew by the owner who lost the lease", s.Renew(ctx, "l", "a", longTTL))
		wantNotOwner(t, "Release by the owner who lost the lease", s.Release(ctx, "l", "a"))
		if acquire(t, s, "l", "a", longTTL) {
			t.Fatal("the owner who lost the lease re-acquired it while held")
		}
		if err := s.Renew(ctx, "l", "b", longTTL); err != nil {
			t.Fatalf("Renew by new holder: %v", err)
		}
		if err := s.Release(ctx, "l", "b"); err != nil {
			t.Fatalf("Release by new holder: %v", err)
		}
	})
	t.Run("ExpiredHolderCannotRenew", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		if !acquire(t, s, "l", "a", shortTTL) {
			t.Fatal("Acquire failed")
		}
		time.Sleep(settle)
		wantNotOwner(t, "Renew of an expired lease", s.Renew(ctx, "l", "a", longTTL))
		wantNotOwner(t, "Release of an expired lease", s.Release(ctx, "l", "a"))
	})
}

func testRecords(t *testing.T, open opener) {
	t.Run("GetAbsent", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, err := s.Get(t.Context(), "absent")
		if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Get absent: got %v, want store.ErrNotFound and domain.ErrNotFound", err)
		}
	})
	t.Run("PutGetVersions", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		v, err := s.Put(ctx, "conv:1", []byte("one"), 0, 0)
		if err != nil || v != 1 {
			t.Fatalf("Put create: got (%d, %v), want (1, nil)", v, err)
		}
		r, err := s.Get(ctx, "conv:1")
		if err != nil || string(r.Value) != "one" || r.Version != 1 {
			t.Fatalf("Get: got (%q v%d, %v), want (\"one\" v1, nil)", r.Value, r.Version, err)
		}
		v, err = s.Put(ctx, "conv:1", []byte("two"), 1, 0)
		if err != nil || v != 2 {
			t.Fatalf("Put update: got (%d, %v), want (2, nil)", v, err)
		}
		tests := []struct {
			name    string
			key     string
			version int64
		}{
			{"CreateExisting", "conv:1", 0},
			{"StaleVersion", "conv:1", 1},
			{"FutureVersion", "conv:1", 3},
			{"UpdateAbsent", "conv:absent", 1},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Put(ctx, tc.key, []byte("x"), tc.version, 0)
				if !errors.Is(err, store.ErrConflict) || !errors.Is(err, domain.ErrConflict) {
					t.Fatalf("Put(%q, version %d): got %v, want ErrConflict", tc.key, tc.version, err)
				}
			})
		}
		r, err = s.Get(ctx, "conv:1")
		if err != nil || string(r.Value) != "two" || r.Version != 2 {
			t.Fatalf("Get after conflicts: got (%q v%d, %v), want (\"two\" v2, nil)", r.Value, r.Version, err)
		}
	})
	t.Run("BinaryAndEmptyValues", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		for i, val := range [][]byte{{0, 1, 2, 0xff, '\n', 0}, {}} {
			key := fmt.Sprintf("bin:%d", i)
			if _, err := s.Put(ctx, key, val, 0, 0); err != nil {
				t.Fatalf("Put %q: %v", key, err)
			}
			r, err := s.Get(ctx, key)
			if err != nil || string(r.Value) != string(val) {
				t.Fatalf("Get %q: got (%x, %v), want %x", key, r.Value, err, val)
			}
		}
	})
	t.Run("TTLExpiry", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		if _, err := s.Put(ctx, "k", []byte("v"), 0, shortTTL); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if _, err := s.Put(ctx, "keep", []byte("v"), 0, longTTL); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if _, err := s.Get(ctx, "k"); err != nil {
			t.Fatalf("Get before expiry: %v", err)
		}
		time.Sleep(settle)
		if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get after expiry: got %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "keep"); err != nil {
			t.Fatalf("Get of unexpired record: %v", err)
		}
		// An expired record counts as absent for version 0.
		v, err := s.Put(ctx, "k", []byte("again"), 0, 0)
		if err != nil || v < 1 {
			t.Fatalf("Put version 0 over expired record: got (%d, %v)", v, err)
		}
		r, err := s.Get(ctx, "k")
		if err != nil || string(r.Value) != "again" || r.Version != v {
			t.Fatalf("Get: got (%q v%d, %v), want (\"again\" v%d, nil)", r.Value, r.Version, err, v)
		}
	})
	t.Run("PutWithoutTTLKeepsForever", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		v, err := s.Put(ctx, "k", []byte("a"), 0, shortTTL)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		// Updating with ttl 0 removes the earlier expiry.
		if _, err := s.Put(ctx, "k", []byte("b"), v, 0); err != nil {
			t.Fatalf("Put: %v", err)
		}
		time.Sleep(settle)
		r, err := s.Get(ctx, "k")
		if err != nil || string(r.Value) != "b" {
			t.Fatalf("Get: got (%q, %v), want (\"b\", nil)", r.Value, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		if err := s.Delete(ctx, "absent"); err != nil {
			t.Fatalf("Delete absent: %v", err)
		}
		if _, err := s.Put(ctx, "k", []byte("v"), 0, 0); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get after Delete: got %v, want ErrNotFound", err)
		}
		if v, err := s.Put(ctx, "k", []byte("v"), 0, 0); err != nil || v < 1 {
			t.Fatalf("Put version 0 after Delete: got (%d, %v)", v, err)
		}
	})
	t.Run("ConcurrentReadModifyWrite", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				errs <- increment(t, s, "ctr")
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		r, err := s.Get(t.Context(), "ctr")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		var count int
		if _, err := fmt.Sscan(string(r.Value), &count); err != nil || count != n {
			t.Fatalf("final count %q (%v), want %d", r.Value, err, n)
		}
	})
}

// increment adds one to the decimal counter stored at key, retrying on
// conflict, as a use case doing optimistic read-modify-write would.
func increment(t *testing.T, s store.Records, key string) error {
	ctx := t.Context()
	for attempt := 0; attempt < 1000; attempt++ {
		var count int
		r, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			r = store.Record{}
		case err != nil:
			return fmt.Errorf("get: %w", err)
		default:
			if _, err := fmt.Sscan(string(r.Value), &count); err != nil {
				return fmt.Errorf("parse %q: %w", r.Value, err)
			}
		}
		_, err = s.Put(ctx, key, []byte(fmt.Sprint(count+1)), r.Version, 0)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("put: %w", err)
		}
		return nil
	}
	return errors.New("increment: too many conflicts")
}
