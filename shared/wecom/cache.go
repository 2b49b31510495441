package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// fetchFunc obtains a fresh value (token or ticket) and its expiry.
type fetchFunc func(ctx context.Context) (string, time.Time, error)

// cache holds one short-lived credential (access token or JS-SDK ticket):
// in-process, and in the shared TokenStore when there is one. Refreshes are
// single-flight in-process (one goroutine fetches, the others wait) and
// across instances (a lease; losers poll the store for the new value).
type cache struct {
	opts  *options
	key   string
	owner string
	fetch fetchFunc
	log   *slog.Logger

	mu        sync.Mutex
	val       string
	exp       time.Time
	flight    *flight
	failErr   error
	failUntil time.Time
}

type flight struct {
	done chan struct{}
	val  string
	err  error
}

// entry is the stored form of a cached value.
type entry struct {
	Value     string `json:"value"`
	ExpiresAt int64  `json:"expires_at"` // unix milliseconds
}

func newCache(o *options, key, owner string, fetch fetchFunc) *cache {
	return &cache{opts: o, key: key, owner: owner, fetch: fetch, log: o.logger}
}

// fresh reports whether a value expiring at exp may still be handed out.
func (c *cache) fresh(exp time.Time) bool {
	return c.opts.now().Before(exp.Add(-c.opts.refreshBefore))
}

// get returns a fresh value. reject is a value the caller saw refused by the
// API: it is never returned from the in-process cache or the store.
func (c *cache) get(ctx context.Context, reject string) (string, error) {
	for {
		c.mu.Lock()
		if c.val != "" && c.val != reject && c.fresh(c.exp) {
			v := c.val
			c.mu.Unlock()
			return v, nil
		}
		if c.failErr != nil && c.opts.now().Before(c.failUntil) {
			err := c.failErr
			c.mu.Unlock()
			return "", err
		}
		if f := c.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if f.err != nil && ctx.Err() == nil &&
				(errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the leader gave up on its own context; try again with ours
			}
			return f.val, f.err
		}
		f := &flight{done: make(chan struct{})}
		c.flight = f
		c.mu.Unlock()

		val, exp, err := c.load(ctx, reject)

		c.mu.Lock()
		c.flight = nil
		if err == nil {
			c.val, c.exp = val, exp
			c.failErr = nil
		} else if errors.Is(err, domain.ErrConfig) {
			// A bad secret stays bad: do not hammer gettoken (which has its
			// own rate limit) from every call until an operator fixes it.
			c.failErr, c.failUntil = err, c.opts.now().Add(c.opts.failFor)
		}
		c.mu.Unlock()
		f.val, f.err = val, err
		close(f.done)
		return val, err
	}
}

// load finds a fresh value in the store or fetches one, publishing it.
func (c *cache) load(ctx context.Context, reject string) (string, time.Time, error) {
	st := c.opts.store
	if st == nil {
		return c.fetch(ctx)
	}
	e, _, err := c.read(ctx)
	if err == nil && e.Value != reject && c.fresh(e.exp()) {
		return e.Value, e.exp(), nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.WarnContext(ctx, "wecom: token store read failed; fetching directly", "key", c.key, "err", err)
		return c.fetch(ctx)
	}

	lock := "tokenlock:" + c.key
	won, err := st.Acquire(ctx, lock, c.owner, c.opts.leaseTTL)
	if err != nil {
		c.log.WarnContext(ctx, "wecom: token lease failed; fetching directly", "key", c.key, "err", err)
		return c.fetch(ctx)
	}
	if won {
		defer func() {
			if err := st.Release(context.WithoutCancel(ctx), lock, c.owner); err != nil {
				c.log.WarnContext(ctx, "wecom: token lease release failed", "key", c.key, "err", err)
			}
		}()
		// Another instance may have published while we raced for the lease.
		e, version, err := c.read(ctx)
		if err == nil && e.Value != reject && c.fresh(e.exp()) {
			return e.Value, e.exp(), nil
		}
		val, exp, err := c.fetch(ctx)
		if err != nil {
			return "", time.Time{}, err
		}
		c.write(ctx, version, val, exp)
		return val, exp, nil
	}

	// Someone else is refreshing: wait for it to publish.
	deadline := time.Now().Add(c.opts.pollFor)
	t := time.NewTicker(c.opts.pollEvery)
	defer t.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return "", time.Time{}, ctx.Err()
		case <-t.C:
		}
		e, _, err := c.read(ctx)
		if err == nil && e.Value != reject && c.fresh(e.exp()) {
			return e.Value, e.exp(), nil
		}
	}
	c.log.WarnContext(ctx, "wecom: token lease holder did not publish; fetching directly", "key", c.key)
	val, exp, err := c.fetch(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	_, version, rerr := c.read(ctx)
	if rerr == nil || errors.Is(rerr, store.ErrNotFound) {
		c.write(ctx, version, val, exp)
	}
	return val, exp, nil
}

func (e entry) exp() time.Time { return time.UnixMilli(e.ExpiresAt) }

// read returns the stored entry and its version (0 when absent).
func (c *cache) read(ctx context.Context) (entry, int64, error) {
	rec, err := c.opts.store.Get(ctx, c.key)
	if err != nil {
		return entry{}, 0, err
	}
	var e entry
	if err := json.Unmarshal(rec.Value, &e); err != nil || e.Value == "" {
		// A corrupt record is treated as stale and overwritten.
		return entry{}, rec.Version, nil
	}
	return e, rec.Version, nil
}

// write publishes a value; failures only cost other instances a fetch.
func (c *cache) write(ctx context.Context, version int64, val string, exp time.Time) {
	ttl := exp.Sub(c.opts.now())
	if ttl <= 0 {
		return
	}
	b, err := json.Marshal(entry{Value: val, ExpiresAt: exp.UnixMilli()})
	if err != nil {
		return
	}
	if _, err := c.opts.store.Put(ctx, c.key, b, version, ttl); err != nil {
		c.log.WarnContext(ctx, "wecom: token store write failed", "key", c.key, "err", err)
	}
}
