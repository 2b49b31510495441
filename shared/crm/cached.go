package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// Store is the part of store.Records that Cached needs. Get returns an error
// wrapping domain.ErrNotFound for absent or expired keys; Put is optimistic
// (version 0 = must be absent) and returns an error wrapping
// domain.ErrConflict on a version mismatch.
type Store interface {
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
}

// Cached is a CRM decorator for the hot path of a conversation. It caches
// the external_userid (or unionid) → contact mapping for a long TTL and the
// CustomerContext for a short one, and bounds FindContact and Context by a
// hard timeout: when the CRM is slow or down they return an error wrapping
// domain.ErrUnavailable quickly, so the bot can fall back to a generic reply.
// In steady state a conversation costs one CRM call: UpsertNote.
//
// Cache failures never fail a call; they are logged and the CRM is asked.
type Cached struct {
	next CRM
	st   Store
	o    cachedOptions
}

var _ CRM = (*Cached)(nil)

type cachedOptions struct {
	timeout        time.Duration
	contactTTL     time.Duration
	contextTTL     time.Duration
	missTTL        time.Duration
	createContacts bool
	prefix         string
	logger         *slog.Logger
}

// CachedOption configures NewCached.
type CachedOption func(*cachedOptions)

// WithTimeout sets the hard timeout of FindContact, CreateContact (when
// called by FindContact) and Context. Default 1.5 s.
func WithTimeout(d time.Duration) CachedOption { return func(o *cachedOptions) { o.timeout = d } }

// WithContactTTL sets how long the identity → contact mapping is cached.
// Default 7 days.
func WithContactTTL(d time.Duration) CachedOption {
	return func(o *cachedOptions) { o.contactTTL = d }
}

// WithContextTTL sets how long a CustomerContext is cached, and how long a
// "no such contact" answer is remembered. Default 10 minutes.
func WithContextTTL(d time.Duration) CachedOption {
	return func(o *cachedOptions) { o.contextTTL, o.missTTL = d, d }
}

// WithCreateContacts makes FindContact create a contact (with the
// external_userid set) when none is found. The caller reads this from
// CRM_CREATE_CONTACTS. Default false.
func WithCreateContacts(create bool) CachedOption {
	return func(o *cachedOptions) { o.createContacts = create }
}

// WithKeyPrefix sets the prefix of the store keys. Default "crm:".
func WithKeyPrefix(p string) CachedOption { return func(o *cachedOptions) { o.prefix = p } }

// WithLogger sets the logger for cache failures. Default discards.
func WithLogger(l *slog.Logger) CachedOption { return func(o *cachedOptions) { o.logger = l } }

// NewCached wraps c with a cache kept in st.
func NewCached(c CRM, st Store, opts ...CachedOption) *Cached {
	o := cachedOptions{
		timeout:    1500 * time.Millisecond,
		contactTTL: 7 * 24 * time.Hour,
		contextTTL: 10 * time.Minute,
		missTTL:    10 * time.Minute,
		prefix:     "crm:",
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&o)
	}
	return &Cached{next: c, st: st, o: o}
}

// contactEntry is the cached value of an identity lookup.
type contactEntry struct {
	Contact *domain.Contact `json:"contact,omitempty"`
	Missing bool            `json:"missing,omitempty"`
}

func (c *Cached) identityKey(id Identity) string {
	switch {
	case id.ExternalUserID != "":
		return c.o.prefix + "contact:ext:" + id.ExternalUserID
	case id.UnionID != "":
		return c.o.prefix + "contact:union:" + id.UnionID
	}
	return ""
}

// FindContact implements CRM. A cached mapping or cached miss answers
// without calling the CRM. When nothing is found and WithCreateContacts is
// on and the identity has an external_userid, the contact is created.
func (c *Cached) FindContact(ctx context.Context, id Identity) (domain.Contact, error) {
	key := c.identityKey(id)
	var version int64
	if key != "" {
		var e contactEntry
		v, found := c.get(ctx, key, &e)
		version = v
		if found && e.Contact != nil {
			return *e.Contact, nil
		}
		if found && e.Missing && !c.o.createContacts {
			return domain.Contact{}, fmt.Errorf("crm: find contact (cached): %w", domain.ErrNotFound)
		}
	}
	ct, err := withTimeout(ctx, c.o.timeout, "find contact", func(ctx context.Context) (domain.Contact, error) {
		ct, err := c.next.FindContact(ctx, id)
		if errors.Is(err, domain.ErrNotFound) && c.o.createContacts && id.ExternalUserID != "" {
			return c.next.CreateContact(ctx, id)
		}
		return ct, err
	})
	switch {
	case err == nil:
		c.put(ctx, key, version, contactEntry{Contact: &ct}, c.o.contactTTL)
	case errors.Is(err, domain.ErrNotFound):
		c.put(ctx, key, version, contactEntry{Missing: true}, c.o.missTTL)
	}
	return ct, err
}

// CreateContact implements CRM and caches the new mapping.
func (c *Cached) CreateContact(ctx context.Context, id Identity) (domain.Contact, error) {
	ct, err := c.next.CreateContact(ctx, id)
	if err != nil {
		return ct, err
	}
	if key := c.identityKey(id); key != "" {
		var e contactEntry
		v, _ := c.get(ctx, key, &e)
		c.put(ctx, key, v, contactEntry{Contact: &ct}, c.o.contactTTL)
	}
	return ct, nil
}

// Context implements CRM with a short-lived cache and the hard timeout.
func (c *Cached) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	key := c.o.prefix + "context:" + contactID
	var cc domain.CustomerContext
	version, found := c.get(ctx, key, &cc)
	if found {
		return cc, nil
	}
	cc, err := withTimeout(ctx, c.o.timeout, "context", func(ctx context.Context) (domain.CustomerContext, error) {
		return c.next.Context(ctx, contactID)
	})
	if err == nil {
		c.put(ctx, key, version, cc, c.o.contextTTL)
	}
	return cc, err
}

// UpsertNote implements CRM (not cached).
func (c *Cached) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	return c.next.UpsertNote(ctx, n)
}

// CreateTask implements CRM (not cached).
func (c *Cached) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	return c.next.CreateTask(ctx, t)
}

// ListTasks implements CRM (not cached).
func (c *Cached) ListTasks(ctx context.Context, q TaskQuery) ([]domain.Task, error) {
	return c.next.ListTasks(ctx, q)
}

// CompleteTask implements CRM (not cached).
func (c *Cached) CompleteTask(ctx context.Context, id string) error {
	return c.next.CompleteTask(ctx, id)
}

// SearchContacts implements CRM (not cached).
func (c *Cached) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	return c.next.SearchContacts(ctx, query, limit)
}

// get reads key into v and returns its version and whether it was found.
func (c *Cached) get(ctx context.Context, key string, v any) (int64, bool) {
	rec, err := c.st.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, domain.ErrNotFound) {
			c.o.logger.WarnContext(ctx, "crm cache get failed", "key", key, "err", err)
		}
		return 0, false
	}
	if err := json.Unmarshal(rec.Value, v); err != nil {
		c.o.logger.WarnContext(ctx, "crm cache entry corrupt", "key", key, "err", err)
		return rec.Version, false
	}
	return rec.Version, true
}

// put writes v at key over version; a lost race is fine (the winner wrote
// an equally fresh value).
func (c *Cached) put(ctx context.Context, key string, version int64, v any, ttl time.Duration) {
	if key == "" || ctx.Err() != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.o.logger.WarnContext(ctx, "crm cache encode failed", "key", key, "err", err)
		return
	}
	if _, err := c.st.Put(ctx, key, b, version, ttl); err != nil && !errors.Is(err, domain.ErrConflict) {
		c.o.logger.WarnContext(ctx, "crm cache put failed", "key", key, "err", err)
	}
}

// withTimeout runs fn with a deadline and returns as soon as the deadline
// passes even if fn ignores its context.
func withTimeout[T any](ctx context.Context, d time.Duration, op string, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		ch <- result{v, err}
	}()
	var zero T
	select {
	case r := <-ch:
		if r.err != nil && ctx.Err() == context.DeadlineExceeded && !errors.Is(r.err, domain.ErrUnavailable) {
			return zero, fmt.Errorf("crm: %s: timed out after %s: %w: %w", op, d, domain.ErrUnavailable, r.err)
		}
		return r.v, r.err
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return zero, fmt.Errorf("crm: %s: timed out after %s: %w", op, d, domain.ErrUnavailable)
		}
		return zero, fmt.Errorf("crm: %s: %w", op, ctx.Err())
	}
}
