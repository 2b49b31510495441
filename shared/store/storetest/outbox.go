package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/store"
)

// take calls Take and fails the test on error.
func take(t *testing.T, s store.Outbox, topic string, n int, vis time.Duration) []store.Item {
	t.Helper()
	items, err := s.Take(t.Context(), topic, n, vis)
	if err != nil {
		t.Fatalf("Take(%q, %d): %v", topic, n, err)
	}
	return items
}

func add(t *testing.T, s store.Outbox, it store.Item) {
	t.Helper()
	if err := s.Add(t.Context(), it); err != nil {
		t.Fatalf("Add(%s/%s): %v", it.Topic, it.ID, err)
	}
}

func ids(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	slices.Sort(out)
	return out
}

func wantIDs(t *testing.T, what string, items []store.Item, want ...string) {
	t.Helper()
	got := ids(items)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got IDs %q, want %q", what, got, want)
	}
}

func testOutbox(t *testing.T, open opener) {
	t.Run("AddTakeRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		payload := []byte("{\"note\":\"hi\"}\x00\xff")
		add(t, s, store.Item{Topic: "notes", ID: "n1", Payload: payload})
		got := take(t, s, "notes", 10, longTTL)
		wantIDs(t, "Take", got, "n1")
		it := got[0]
		if it.Topic != "notes" || string(it.Payload) != string(payload) || it.Attempts != 1 {
			t.Fatalf("Take: got topic %q payload %q attempts %d, want notes %q 1", it.Topic, it.Payload, it.Attempts, payload)
		}
		if it.Created.IsZero() || time.Since(it.Created).Abs() > time.Minute {
			t.Fatalf("Take: Created %v, want about now (set by Add when zero)", it.Created)
		}
		if got := take(t, s, "other-topic", 10, longTTL); len(got) != 0 {
			t.Fatalf("Take of another topic returned %q", ids(got))
		}
	})
	t.Run("AddIsIdempotent", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		add(t, s, store.Item{Topic: "t", ID: "a", Payload: []byte("first")})
		add(t, s, store.Item{Topic: "t", ID: "a", Payload: []byte("second")})
		// The same ID in another topic is a different item.
		add(t, s, store.Item{Topic: "u", ID: "a", Payload: []byte("other")})
		got := take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take", got, "a")
		if string(got[0].Payload) != "first" {
			t.Fatalf("payload %q, want the first Add's %q", got[0].Payload, "first")
		}
		// Adding while taken (hidden) is a no-op too: no second copy appears.
		add(t, s, store.Item{Topic: "t", ID: "a", Payload: []byte("third")})
		if got := take(t, s, "t", 10, longTTL); len(got) != 0 {
			t.Fatalf("Take after re-Add of a taken item returned %q", ids(got))
		}
		wantIDs(t, "Take of other topic", take(t, s, "u", 10, longTTL), "a")
	})
	t.Run("TakeOnlyDue", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		now := time.Now()
		add(t, s, store.Item{Topic: "t", ID: "past", Due: now.Add(-time.Minute)})
		add(t, s, store.Item{Topic: "t", ID: "now"})
		add(t, s, store.Item{Topic: "t", ID: "soon", Due: now.Add(shortTTL)})
		add(t, s, store.Item{Topic: "t", ID: "later", Due: now.Add(time.Hour)})
		wantIDs(t, "Take", take(t, s, "t", 10, longTTL), "past", "now")
		time.Sleep(settle)
		wantIDs(t, "Take after soon is due", take(t, s, "t", 10, longTTL), "soon")
	})
	t.Run("TakeLimit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for i := range 5 {
			add(t, s, store.Item{Topic: "t", ID: fmt.Sprint(i)})
		}
		first := take(t, s, "t", 3, longTTL)
		if len(first) != 3 {
			t.Fatalf("Take 3 returned %d items", len(first))
		}
		rest := take(t, s, "t", 10, longTTL)
		if len(rest) != 2 {
			t.Fatalf("second Take returned %d items, want the remaining 2", len(rest))
		}
		all := append(ids(first), ids(rest)...)
		slices.Sort(all)
		if !slices.Equal(all, []string{"0", "1", "2", "3", "4"}) {
			t.Fatalf("the two Takes returned %q", all)
		}
	})
	t.Run("VisibilityHidesAndLapses", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		add(t, s, store.Item{Topic: "t", ID: "a"})
		got := take(t, s, "t", 10, shortTTL)
		wantIDs(t, "first Take", got, "a")
		if got[0].Attempts != 1 {
			t.Fatalf("attempts %d after first Take, want 1", got[0].Attempts)
		}
		if got := take(t, s, "t", 10, shortTTL); len(got) != 0 {
			t.Fatalf("Take while hidden returned %q", ids(got))
		}
		time.Sleep(settle)
		got = take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take after visibility lapsed", got, "a")
		if got[0].Attempts != 2 {
			t.Fatalf("attempts %d after second Take, want 2", got[0].Attempts)
		}
	})
	t.Run("Ack", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		add(t, s, store.Item{Topic: "t", ID: "a"})
		add(t, s, store.Item{Topic: "t", ID: "b"})
		wantIDs(t, "Take", take(t, s, "t", 10, shortTTL), "a", "b")
		if err := s.Ack(ctx, "t", "a"); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		time.Sleep(settle)
		wantIDs(t, "Take after visibility lapsed", take(t, s, "t", 10, longTTL), "b")
		// After Ack the ID is free again: a new Add enqueues a new item.
		add(t, s, store.Item{Topic: "t", ID: "a", Payload: []byte("new")})
		got := take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take after re-Add of acked ID", got, "a")
		if string(got[0].Payload) != "new" || got[0].Attempts != 1 {
			t.Fatalf("re-added item: payload %q attempts %d, want \"new\" 1", got[0].Payload, got[0].Attempts)
		}
	})
	t.Run("Retry", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		add(t, s, store.Item{Topic: "t", ID: "a"})
		add(t, s, store.Item{Topic: "t", ID: "b"})
		wantIDs(t, "Take", take(t, s, "t", 10, longTTL), "a", "b")
		if err := s.Retry(ctx, "t", "a", time.Now().Add(shortTTL), "crm: 503"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		if err := s.Retry(ctx, "t", "b", time.Now().Add(-time.Second), "crm: timeout"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		got := take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take right after Retry", got, "b")
		if got[0].LastError != "crm: timeout" || got[0].Attempts != 2 {
			t.Fatalf("retried item: last error %q attempts %d, want \"crm: timeout\" 2", got[0].LastError, got[0].Attempts)
		}
		time.Sleep(settle)
		got = take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take after retry due", got, "a")
		if got[0].LastError != "crm: 503" || got[0].Attempts != 2 {
			t.Fatalf("retried item: last error %q attempts %d, want \"crm: 503\" 2", got[0].LastError, got[0].Attempts)
		}
	})
	t.Run("BuryDeadRevive", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		add(t, s, store.Item{Topic: "t", ID: "a", Payload: []byte("pa")})
		add(t, s, store.Item{Topic: "t", ID: "b", Payload: []byte("pb")})
		add(t, s, store.Item{Topic: "t", ID: "c"})
		wantIDs(t, "Take", take(t, s, "t", 10, shortTTL), "a", "b", "c")
		if err := s.Bury(ctx, "t", "a", "crm: 400 bad note"); err != nil {
			t.Fatalf("Bury a: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := s.Bury(ctx, "t", "b", "crm: 400 too long"); err != nil {
			t.Fatalf("Bury b: %v", err)
		}
		dead, err := s.Dead(ctx, "t", 10)
		if err != nil {
			t.Fatalf("Dead: %v", err)
		}
		if len(dead) != 2 || dead[0].ID != "a" || dead[1].ID != "b" {
			t.Fatalf("Dead: got %q, want [a b] oldest first", ids(dead))
		}
		if dead[0].LastError != "crm: 400 bad note" || string(dead[0].Payload) != "pa" {
			t.Fatalf("dead item a: last error %q payload %q", dead[0].LastError, dead[0].Payload)
		}
		if dead, err := s.Dead(ctx, "t", 1); err != nil || len(dead) != 1 || dead[0].ID != "a" {
			t.Fatalf("Dead(n=1): got %q, %v, want [a]", ids(dead), err)
		}
		if dead, err := s.Dead(ctx, "other", 10); err != nil || len(dead) != 0 {
			t.Fatalf("Dead of another topic: got %q, %v", ids(dead), err)
		}
		// Adding a dead ID is a no-op: it stays dead and is not taken.
		add(t, s, store.Item{Topic: "t", ID: "a"})
		time.Sleep(settle)
		wantIDs(t, "Take after visibility lapsed", take(t, s, "t", 10, longTTL), "c")
		if err := s.Revive(ctx, "t", "a"); err != nil {
			t.Fatalf("Revive: %v", err)
		}
		dead, err = s.Dead(ctx, "t", 10)
		if err != nil || len(dead) != 1 || dead[0].ID != "b" {
			t.Fatalf("Dead after Revive: got %q, %v, want [b]", ids(dead), err)
		}
		got := take(t, s, "t", 10, longTTL)
		wantIDs(t, "Take after Revive", got, "a")
		if got[0].Attempts != 1 || string(got[0].Payload) != "pa" {
			t.Fatalf("revived item: attempts %d payload %q, want 1 \"pa\"", got[0].Attempts, got[0].Payload)
		}
	})
	t.Run("BuryUntaken", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		add(t, s, store.Item{Topic: "t", ID: "a"})
		if err := s.Bury(ctx, "t", "a", "poison"); err != nil {
			t.Fatalf("Bury: %v", err)
		}
		if got := take(t, s, "t", 10, longTTL); len(got) != 0 {
			t.Fatalf("Take returned buried items %q", ids(got))
		}
		dead, err := s.Dead(ctx, "t", 10)
		if err != nil || len(dead) != 1 || dead[0].ID != "a" || dead[0].LastError != "poison" {
			t.Fatalf("Dead: got %+v, %v", dead, err)
		}
	})
	t.Run("MissingItems", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		add(t, s, store.Item{Topic: "t", ID: "live"})
		add(t, s, store.Item{Topic: "t", ID: "dead"})
		if err := s.Bury(ctx, "t", "dead", "x"); err != nil {
			t.Fatalf("Bury: %v", err)
		}
		// Acking an absent item is harmless (a redelivered acknowledgement).
		if err := s.Ack(ctx, "t", "absent"); err != nil {
			t.Fatalf("Ack of absent item: %v", err)
		}
		if err := s.Ack(ctx, "no-such-topic", "absent"); err != nil {
			t.Fatalf("Ack in absent topic: %v", err)
		}
		tests := []struct {
			name string
			call func() error
		}{
			{"RetryAbsent", func() error { return s.Retry(ctx, "t", "absent", time.Now(), "x") }},
			{"RetryDead", func() error { return s.Retry(ctx, "t", "dead", time.Now(), "x") }},
			{"BuryAbsent", func() error { return s.Bury(ctx, "t", "absent", "x") }},
			{"BuryDead", func() error { return s.Bury(ctx, "t", "dead", "x") }},
			{"ReviveAbsent", func() error { return s.Revive(ctx, "t", "absent") }},
			{"ReviveLive", func() error { return s.Revive(ctx, "t", "live") }},
			{"ReviveAbsentTopic", func() error { return s.Revive(ctx, "no-such-topic", "dead") }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("got %v, want ErrNotFound", err)
				}
			})
		}
		if got := take(t, s, "no-such-topic", 10, longTTL); len(got) != 0 {
			t.Fatalf("Take of absent topic returned %q", ids(got))
		}
		wantIDs(t, "Take", take(t, s, "t", 10, longTTL), "live")
	})
	t.Run("CompetingConsumersExactlyOnce", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		const total = 200
		for i := range total {
			add(t, s, store.Item{Topic: "t", ID: fmt.Sprintf("item-%03d", i), Payload: []byte(fmt.Sprint(i))})
		}
		var (
			mu        sync.Mutex
			delivered = make(map[string]int)
			wg        sync.WaitGroup
		)
		errs := make(chan error, 2)
		deadline := time.Now().Add(10 * time.Second)
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					items, err := s.Take(ctx, "t", 7, longTTL)
					if err != nil {
						errs <- fmt.Errorf("take: %w", err)
						return
					}
					if len(items) == 0 {
						return
					}
					for _, it := range items {
						mu.Lock()
						delivered[it.ID]++
						mu.Unlock()
						if err := s.Ack(ctx, it.Topic, it.ID); err != nil {
							errs <- fmt.Errorf("ack: %w", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(delivered) != total {
			t.Fatalf("%d distinct items delivered, want %d", len(delivered), total)
		}
		for id, n := range delivered {
			if n != 1 {
				t.Errorf("item %s delivered %d times", id, n)
			}
		}
		if got := take(t, s, "t", total, longTTL); len(got) != 0 {
			t.Fatalf("Take after all acked returned %d items", len(got))
		}
	})
}
