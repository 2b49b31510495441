package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wecom-crm-bot/shared/domain"
)

// Errors returned by every engine. ErrNotFound and ErrConflict wrap the domain
// sentinels, so errors.Is(err, domain.ErrNotFound) holds too.
var (
	ErrNotFound = fmt.Errorf("store: %w", domain.ErrNotFound)
	ErrConflict = fmt.Errorf("store: version %w", domain.ErrConflict)
	ErrNotOwner = errors.New("store: lease not held by owner")
)

// Claims is atomic put-if-absent with a TTL: de-duplication of callbacks,
// messages and reminders.
type Claims interface {
	// Claim creates key unless an unexpired claim exists and reports whether
	// this caller won. Of N concurrent callers exactly one wins.
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Unclaim deletes the claim so that a retry can win it again (used when
	// the work the claim guarded failed). Unclaiming an absent key is no error.
	Unclaim(ctx context.Context, key string) error
}

// Leases are locks with an owner and an expiry.
type Leases interface {
	// Acquire takes the lease for owner for ttl. It returns false if another
	// owner holds an unexpired lease; the same owner re-acquiring extends it.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Renew extends a held lease; ErrNotOwner if owner does not hold it.
	Renew(ctx context.Context, name, owner string, ttl time.Duration) error
	// Release frees the lease; ErrNotOwner if owner does not hold it
	// (an expired or stolen lease).
	Release(ctx context.Context, name, owner string) error
}

// Record is a stored value with its version (1 after the first Put).
type Record struct {
	Value   []byte
	Version int64
}

// Records are versioned values with optimistic concurrency and optional TTL.
type Records interface {
	// Get returns ErrNotFound for an absent or expired key.
	Get(ctx context.Context, key string) (Record, error)
	// Put stores value when the current version equals version (0 means the
	// key must be absent or expired) and returns the new version; ErrConflict
	// otherwise. ttl 0 keeps the record forever.
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
	// Delete removes key; deleting an absent key is no error.
	Delete(ctx context.Context, key string) error
}

// Item is an outbox entry. Topic+ID identify it.
type Item struct {
	Topic     string    `json:"topic"`
	ID        string    `json:"id"`
	Payload   []byte    `json:"payload"`
	Due       time.Time `json:"due"`
	Attempts  int       `json:"attempts"` // incremented by every Take
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
}

// Outbox holds work to deliver later (CRM notes), with retries and dead letters.
type Outbox interface {
	// Add enqueues item, due at item.Due (zero means now; a zero Created is
	// set too). Adding an ID that is already live or dead in the topic is a
	// no-op.
	Add(ctx context.Context, item Item) error
	// Take returns up to n items of topic that are due, hides each from other
	// takers for visibility and increments its Attempts. Two concurrent
	// takers never receive the same item while it is hidden.
	Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]Item, error)
	// Ack removes a delivered item; acking an absent item is no error.
	// Adding the same ID after Ack makes a new item.
	Ack(ctx context.Context, topic, id string) error
	// Retry makes a taken item due again at due, recording lastErr;
	// ErrNotFound if the item is absent or dead.
	Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error
	// Bury moves an item to the topic's dead-letter list; ErrNotFound if
	// the item is absent or already dead.
	Bury(ctx context.Context, topic, id, lastErr string) error
	// Dead lists up to n dead items of topic, in the order they were buried.
	Dead(ctx context.Context, topic string, n int) ([]Item, error)
	// Revive moves a dead item back to the live queue, due now, attempts 0;
	// ErrNotFound if the item is not dead.
	Revive(ctx context.Context, topic, id string) error
}

// Counters are daily counters for analytics: a series (e.g. "intent") has
// members (e.g. "order_status") counted per UTC day ("2006-01-02").
type Counters interface {
	Incr(ctx context.Context, series, member string, day time.Time, delta int64) error
	// Counts returns day → member → count for days in [from, to], inclusive.
	Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error)
}

// ClaimAdder is an optional engine capability: claim key and add an outbox
// item in one atomic write. It reports false, and writes nothing, when the
// claim is already taken. The callback uses it (through localq) to
// acknowledge a callback with one durable write instead of two.
type ClaimAdder interface {
	ClaimAndAdd(ctx context.Context, key string, ttl time.Duration, item Item) (bool, error)
}

// Store is everything an engine provides.
type Store interface {
	Claims
	Leases
	Records
	Outbox
	Counters
	Close() error
}

// DayKey formats t as the counter day key (UTC).
func DayKey(t time.Time) string { return t.UTC().Format(time.DateOnly) }
