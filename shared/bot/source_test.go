package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// memRecords follows the store.Records contract for Get/Put.
type memRecords struct {
	mu   sync.Mutex
	recs map[string]store.Record
	gets int
	fail error
}

func (m *memRecords) Get(ctx context.Context, key string) (store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.fail != nil {
		return store.Record{}, m.fail
	}
	r, ok := m.recs[key]
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	return r, nil
}

func (m *memRecords) Put(ctx context.Context, key string, v []byte, version int64, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]store.Record{}
	}
	if m.recs[key].Version != version {
		return 0, store.ErrConflict
	}
	r := store.Record{Value: v, Version: version + 1}
	m.recs[key] = r
	return r.Version, nil
}

func TestKnowledgeSource(t *testing.T) {
	now := time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &memRecords{}
	src := bot.NewKnowledgeSource(st, bot.WithRefresh(10*time.Second), bot.WithClock(clock))
	ctx := t.Context()

	t.Run("DefaultUntilPublished", func(t *testing.T) {
		kb, v, err := src.Current(ctx)
		if err != nil || v != 0 || len(kb.FAQ) < 60 {
			t.Fatalf("got v%d %v", v, err)
		}
	})
	t.Run("PublishInvalidKeepsLive", func(t *testing.T) {
		_, err := src.Publish(ctx, []byte("faq:\n  - {id: a, question: q, answer: ''}\n"))
		if !errors.Is(err, domain.ErrInvalid) {
			t.Fatalf("err %v", err)
		}
		if _, v, _ := src.Current(ctx); v != 0 {
			t.Fatalf("version %d after invalid publish", v)
		}
	})
	t.Run("PublishValid", func(t *testing.T) {
		v, err := src.Publish(ctx, []byte("version: t\nfaq:\n  - {id: a, question: 营业时间, answer: 全天}\n"))
		if err != nil || v != 1 {
			t.Fatalf("v%d %v", v, err)
		}
		kb, cv, _ := src.Current(ctx)
		if cv != 1 || kb.Version != "t" {
			t.Fatalf("current v%d %q", cv, kb.Version)
		}
	})
	t.Run("HotReloadAfterRefresh", func(t *testing.T) {
		other := bot.NewKnowledgeSource(st, bot.WithClock(clock))
		if _, err := other.Publish(ctx, []byte("version: t2\nfaq:\n  - {id: b, question: 发票, answer: 可以}\n")); err != nil {
			t.Fatal(err)
		}
		gets := st.gets
		if kb, _, _ := src.Current(ctx); kb.Version != "t" {
			t.Fatalf("re-checked before refresh: %q", kb.Version)
		}
		if st.gets != gets {
			t.Fatal("store read before refresh interval")
		}
		now = now.Add(11 * time.Second)
		if kb, v, _ := src.Current(ctx); kb.Version != "t2" || v != 2 {
			t.Fatalf("after refresh: %q v%d", kb.Version, v)
		}
	})
	t.Run("StoreDownKeepsLast", func(t *testing.T) {
		st.fail = fmt.Errorf("down: %w", domain.ErrUnavailable)
		defer func() { st.fail = nil }()
		now = now.Add(time.Minute)
		if kb, _, err := src.Current(ctx); err != nil || kb.Version != "t2" {
			t.Fatalf("%v %v", kb, err)
		}
	})
	t.Run("ColdStoreDown", func(t *testing.T) {
		st2 := &memRecords{fail: domain.ErrUnavailable}
		if _, _, err := bot.NewKnowledgeSource(st2).Current(ctx); !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
	})
}
