package localq_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/store/boltstore"
)

func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func fastConfig() localq.Config {
	return localq.Config{Workers: 3, MaxAttempts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Visibility: 300 * time.Millisecond, Poll: 20 * time.Millisecond}
}

func TestDeliversEachMessageOnceAndDeadLettersPoison(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "q.db"))
	defer st.Close()
	q := localq.New(st, fastConfig())
	ctx := t.Context()
	for i := range 30 {
		id := fmt.Sprintf("m%02d", i)
		if err := q.Publish(ctx, queue.Message{ID: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
		// A duplicate publish (WeCom retry that raced the claim) is a no-op.
		if err := q.Publish(ctx, queue.Message{ID: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var flaky atomic.Int32
	h := func(ctx context.Context, m queue.Message) error {
		mu.Lock()
		seen[m.ID]++
		mu.Unlock()
		switch {
		case m.ID == "m07":
			return errors.New("poison")
		case m.ID == "m03" && flaky.Add(1) == 1:
			return errors.New("transient")
		case m.ID == "m05" && seen["m05"] == 1:
			panic("handler bug")
		}
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- q.Run(runCtx, h) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dead, err := st.Dead(ctx, q.Topic(), 10)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		ok := seen["m03"] >= 2 && seen["m05"] >= 2
		mu.Unlock()
		if len(dead) == 1 && n == 30 && ok {
			if dead[0].ID != "m07" || dead[0].LastError != "poison" {
				t.Fatalf("dead letter = %+v", dead[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout: seen %d, dead %d", n, len(dead))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		want := 1
		switch id {
		case "m07":
			want = 3
		case "m03", "m05":
			want = 2
		}
		if n != want {
			t.Errorf("%s delivered %d times, want %d", id, n, want)
		}
	}
}

// A crash (the consumer stops without acknowledging) loses nothing: the
// messages are in the file, and a new process delivers them.
func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	st := openStore(t, path)
	q := localq.New(st, fastConfig())
	for i := range 5 {
		if err := q.Publish(t.Context(), queue.Message{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// First consumer takes everything but "crashes" inside the handler.
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{}, 5)
	block := func(ctx context.Context, m queue.Message) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan error)
	go func() { done <- q.Run(ctx, block) }()
	<-started
	cancel()
	<-done
	st.Close()

	st2 := openStore(t, path)
	defer st2.Close()
	q2 := localq.New(st2, fastConfig())
	time.Sleep(350 * time.Millisecond) // visibility of the crashed deliveries lapses
	got := map[string]bool{}
	n, err := q2.Drain(t.Context(), func(ctx context.Context, m queue.Message) error { got[m.ID] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 || len(got) != 5 {
		t.Fatalf("after restart delivered %d (%v), want 5", n, got)
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= 10; attempt++ {
		d := localq.Backoff(attempt, time.Second, 30*time.Second)
		upper := time.Second << (attempt - 1)
		if upper > 30*time.Second {
			upper = 30 * time.Second
		}
		if d < upper/2 || d > upper {
			t.Errorf("attempt %d: %v not in [%v, %v]", attempt, d, upper/2, upper)
		}
	}
}
