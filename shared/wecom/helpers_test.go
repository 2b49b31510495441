package wecom_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/wecomtest"
)

const (
	testCorp   = "ww0123456789abcdef"
	testSecret = "app-secret-SHOULD-NOT-LEAK"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memStore is an in-memory TokenStore following the store.Records and
// store.Leases contracts, on the test clock.
type memStore struct {
	now    func() time.Time
	mu     sync.Mutex
	recs   map[string]memRec
	leases map[string]memLease
	puts   int
}

type memRec struct {
	val []byte
	ver int64
	exp time.Time
}

type memLease struct {
	owner string
	exp   time.Time
}

var _ wecom.TokenStore = (*memStore)(nil)

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, recs: map[string]memRec{}, leases: map[string]memLease{}}
}

func (m *memStore) live(key string) (memRec, bool) {
	r, ok := m.recs[key]
	if !ok || (!r.exp.IsZero() && !m.now().Before(r.exp)) {
		return memRec{}, false
	}
	return r, true
}

func (m *memStore) Get(ctx context.Context, key string) (store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.live(key)
	if !ok {
		return store.Record{}, store.ErrNotFound
	}
	return store.Record{Value: append([]byte(nil), r.val...), Version: r.ver}, nil
}

func (m *memStore) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.live(key)
	cur := int64(0)
	if ok {
		cur = r.ver
	}
	if cur != version {
		return 0, store.ErrConflict
	}
	var exp time.Time
	if ttl > 0 {
		exp = m.now().Add(ttl)
	}
	next := r.ver + 1
	if !ok {
		next = m.recs[key].ver + 1 // versions keep growing across expiry
	}
	m.recs[key] = memRec{val: append([]byte(nil), value...), ver: next, exp: exp}
	m.puts++
	return next, nil
}

func (m *memStore) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if ok && l.owner != owner && m.now().Before(l.exp) {
		return false, nil
	}
	m.leases[name] = memLease{owner: owner, exp: m.now().Add(ttl)}
	return true, nil
}

func (m *memStore) Release(ctx context.Context, name, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok || l.owner != owner {
		return store.ErrNotOwner
	}
	delete(m.leases, name)
	return nil
}

// newServer starts a fake WeCom for the test credentials.
func newServer(t *testing.T) *wecomtest.Server {
	t.Helper()
	return wecomtest.New(t, testCorp, testSecret)
}

// newClient returns a Client for srv with millisecond retry waits.
func newClient(t *testing.T, srv *wecomtest.Server, opts ...wecom.Option) *wecom.Client {
	t.Helper()
	base := []wecom.Option{wecom.WithBaseURL(srv.URL), wecom.WithRetry(3, time.Millisecond, 5*time.Millisecond)}
	return wecom.New(testCorp, testSecret, append(base, opts...)...)
}

// sendText sends a small kf text message through c.
func sendText(t *testing.T, ctx context.Context, c *wecom.Client) (string, error) {
	t.Helper()
	return c.SendMsg(ctx, wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgType: "text", Text: &wecom.KfText{Content: "hi"}})
}
