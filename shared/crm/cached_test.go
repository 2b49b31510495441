package crm_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// memStore is a versioned in-memory store.Records subset with TTLs.
type memStore struct {
	mu   sync.Mutex
	now  func() time.Time
	recs map[string]memRec
}

type memRec struct {
	rec     store.Record
	expires time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, recs: map[string]memRec{}}
}

func (m *memStore) Get(ctx context.Context, key string) (store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	if !ok || (!r.expires.IsZero() && !m.now().Before(r.expires)) {
		return store.Record{}, store.ErrNotFound
	}
	return r.rec, nil
}

func (m *memStore) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	live := ok && (r.expires.IsZero() || m.now().Before(r.expires))
	cur := int64(0)
	if live {
		cur = r.rec.Version
	}
	if cur != version {
		return 0, store.ErrConflict
	}
	var exp time.Time
	if ttl > 0 {
		exp = m.now().Add(ttl)
	}
	m.recs[key] = memRec{rec: store.Record{Value: value, Version: cur + 1}, expires: exp}
	return cur + 1, nil
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newBuiltin(t *testing.T) *builtin.CRM {
	t.Helper()
	b, err := builtin.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCachedSteadyState(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}
	counting := crm.NewCounting(newBuiltin(t))
	c := crm.NewCached(counting, newMemStore(clk.Now))
	id := crm.Identity{ExternalUserID: "wmDEMO_zhangsan"}

	conversation := func(i int) {
		t.Helper()
		ct, err := c.FindContact(t.Context(), id)
		if err != nil {
			t.Fatalf("FindContact: %v", err)
		}
		cc, err := c.Context(t.Context(), ct.ID)
		if err != nil || cc.Contact.ID != ct.ID {
			t.Fatalf("Context = %+v, %v", cc.Contact, err)
		}
		if _, err := c.UpsertNote(t.Context(), domain.Note{Key: "conv-" + string(rune('a'+i)), ContactID: ct.ID, Title: "t", Body: "b", At: clk.Now()}); err != nil {
			t.Fatalf("UpsertNote: %v", err)
		}
	}
	conversation(0)
	if got := counting.Total(); got != 3 {
		t.Errorf("first conversation: %d CRM calls (%v), want 3 (find, context, note)", got, counting.Counts())
	}
	counting.Reset()
	conversation(1)
	if got := counting.Counts(); counting.Total() != 1 || got["UpsertNote"] != 1 {
		t.Errorf("warm conversation: CRM calls %v, want only UpsertNote", got)
	}
	// After the context TTL the contact mapping is still cached; only Context refreshes.
	counting.Reset()
	clk.Add(11 * time.Minute)
	conversation(2)
	if got := counting.Counts(); counting.Total() != 2 || got["Context"] != 1 || got["UpsertNote"] != 1 {
		t.Errorf("conversation after context TTL: CRM calls %v, want Context + UpsertNote", got)
	}
}

func TestCachedCreateContacts(t *testing.T) {
	tests := []struct {
		name    string
		create  bool
		wantErr error
	}{
		{"off", false, domain.ErrNotFound},
		{"on", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			counting := crm.NewCounting(newBuiltin(t))
			c := crm.NewCached(counting, newMemStore(clk.Now), crm.WithCreateContacts(tc.create))
			id := crm.Identity{ExternalUserID: "wmNEW_1", Name: "新客户"}
			ct, err := c.FindContact(t.Context(), id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FindContact err = %v, want %v", err, tc.wantErr)
			}
			if tc.create && (ct.ID == "" || ct.ExternalUserID != "wmNEW_1") {
				t.Errorf("created contact = %+v", ct)
			}
			// The answer (contact or miss) is cached.
			counting.Reset()
			ct2, err := c.FindContact(t.Context(), id)
			if !errors.Is(err, tc.wantErr) || ct2.ID != ct.ID {
				t.Errorf("second FindContact = %+v, %v", ct2, err)
			}
			if counting.Total() != 0 {
				t.Errorf("second FindContact made CRM calls %v, want none", counting.Counts())
			}
		})
	}
}

// slowCRM blocks FindContact and Context until released, ignoring ctx.
type slowCRM struct {
	crm.CRM
	release chan struct{}
}

func (s slowCRM) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	<-s.release
	return domain.Contact{}, nil
}

func (s slowCRM) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	<-s.release
	return domain.CustomerContext{}, nil
}

func TestCachedTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c := crm.NewCached(slowCRM{CRM: newBuiltin(t), release: release}, newMemStore(time.Now), crm.WithTimeout(50*time.Millisecond))
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"FindContact", func(ctx context.Context) error {
			_, err := c.FindContact(ctx, crm.Identity{ExternalUserID: "wmX"})
			return err
		}},
		{"Context", func(ctx context.Context) error { _, err := c.Context(ctx, "c001"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.call(t.Context()) }()
			select {
			case err := <-done:
				if !errors.Is(err, domain.ErrUnavailable) {
					t.Errorf("err = %v, want domain.ErrUnavailable", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the hard timeout did not fire")
			}
		})
	}
}

// brokenStore fails every operation; the cache must degrade to the CRM.
type brokenStore struct{}

func (brokenStore) Get(context.Context, string) (store.Record, error) {
	return store.Record{}, errors.New("store down")
}
func (brokenStore) Put(context.Context, string, []byte, int64, time.Duration) (int64, error) {
	return 0, errors.New("store down")
}

func TestCachedStoreDown(t *testing.T) {
	c := crm.NewCached(newBuiltin(t), brokenStore{})
	ct, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmDEMO_lisi"})
	if err != nil || ct.Name != "李四" {
		t.Fatalf("FindContact with a broken store = %+v, %v", ct, err)
	}
	if _, err := c.Context(t.Context(), ct.ID); err != nil {
		t.Fatalf("Context with a broken store: %v", err)
	}
}
