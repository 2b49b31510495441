package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"wecom-crm-bot/shared/store"
)

var (
	bucketClaims   = []byte("claims")
	bucketLeases   = []byte("leases")
	bucketRecords  = []byte("records")
	bucketOutbox   = []byte("outbox")
	bucketCounters = []byte("counters")
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store kept in one bbolt file. Build it with Open.
type Store struct {
	db     *bolt.DB
	log    *slog.Logger
	now    func() time.Time
	stop   chan struct{}
	done   sync.WaitGroup
	closed sync.Once
}

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	sweepEvery  time.Duration
	noSync      bool
	logger      *slog.Logger
	now         func() time.Time
}

func defaultOptions() options {
	return options{
		lockTimeout: 2 * time.Second,
		logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:         time.Now,
	}
}

// WithLockTimeout sets how long Open waits for the file lock held by another
// process before failing (default 2s).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithSweep deletes expired claims, leases and records every d in a
// background goroutine stopped by Close. Without it expired entries are only
// ignored (and overwritten), never removed.
func WithSweep(d time.Duration) Option { return func(o *options) { o.sweepEvery = d } }

// WithNoSync skips fsync after each write: much faster, but a crash may lose
// recent writes. For development and tests only.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithLogger sets the logger for background sweep failures (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock replaces time.Now for expiry and due times (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens or creates the store file at path. If another process holds the
// file, Open fails after the lock timeout with an error mentioning the lock.
func Open(path string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout, NoSync: o.noSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: file is locked by another process (waited %s): %w", path, o.lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketClaims, bucketLeases, bucketRecords, bucketOutbox, bucketCounters} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close() // the init error is what matters
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	s := &Store{db: db, log: o.logger, now: o.now, stop: make(chan struct{})}
	if o.sweepEvery > 0 {
		s.done.Go(func() { s.sweepLoop(o.sweepEvery) })
	}
	return s, nil
}

// Close stops the sweeper and closes the file.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		close(s.stop)
		s.done.Wait()
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("boltstore: close: %w", cerr)
		}
	})
	return err
}

// update runs fn in a write transaction unless ctx is already done.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// view runs fn in a read transaction unless ctx is already done.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) nowNano() int64 { return s.now().UnixNano() }

// expiry returns the absolute expiry in Unix nanoseconds for ttl (0: never).
func (s *Store) expiry(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return s.nowNano() + int64(ttl)
}

func live(exp, now int64) bool { return exp == 0 || exp > now }

func be64(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func getBE64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

// Claim implements store.Claims.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	var won bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		won, err = s.claimTx(tx, key, ttl)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("boltstore: claim %s: %w", key, err)
	}
	return won, nil
}

func (s *Store) claimTx(tx *bolt.Tx, key string, ttl time.Duration) (bool, error) {
	b := tx.Bucket(bucketClaims)
	if v := b.Get([]byte(key)); len(v) == 8 && live(getBE64(v), s.nowNano()) {
		return false, nil
	}
	return true, b.Put([]byte(key), be64(s.expiry(ttl)))
}

// ClaimAndAdd implements store.ClaimAdder: the claim and the outbox item
// are written in one transaction (one fsync instead of two), and neither is
// written when the claim is already taken.
func (s *Store) ClaimAndAdd(ctx context.Context, key string, ttl time.Duration, item store.Item) (bool, error) {
	var won bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if won, err = s.claimTx(tx, key, ttl); err != nil || !won {
			return err
		}
		return s.addTx(tx, item)
	})
	if err != nil {
		return false, fmt.Errorf("boltstore: claim %s and add outbox %s/%s: %w", key, item.Topic, item.ID, err)
	}
	return won, nil
}

// Unclaim implements store.Claims.
func (s *Store) Unclaim(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketClaims).Delete([]byte(key)) })
	if err != nil {
		return fmt.Errorf("boltstore: unclaim %s: %w", key, err)
	}
	return nil
}

// lease values are 8 bytes of expiry followed by the owner.
func (s *Store) leaseHolder(b *bolt.Bucket, name string) (owner string, ok bool) {
	v := b.Get([]byte(name))
	if len(v) < 8 || !live(getBE64(v[:8]), s.nowNano()) {
		return "", false
	}
	return string(v[8:]), true
}

func (s *Store) putLease(b *bolt.Bucket, name, owner string, ttl time.Duration) error {
	return b.Put([]byte(name), append(be64(s.expiry(ttl)), owner...))
}

// Acquire implements store.Leases.
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	var ok bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		holder, held := s.leaseHolder(b, name)
		ok = !held || holder == owner
		if !ok {
			return nil
		}
		return s.putLease(b, name, owner, ttl)
	})
	if err != nil {
		return false, fmt.Errorf("boltstore: acquire lease %s: %w", name, err)
	}
	return ok, nil
}

// Renew implements store.Leases.
func (s *Store) Renew(ctx context.Context, name, owner string, ttl time.Duration) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if holder, held := s.leaseHolder(b, name); !held || holder != owner {
			return store.ErrNotOwner
		}
		return s.putLease(b, name, owner, ttl)
	})
	if err != nil {
		return fmt.Errorf("boltstore: renew lease %s: %w", name, err)
	}
	return nil
}

// Release implements store.Leases.
func (s *Store) Release(ctx context.Context, name, owner string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if holder, held := s.leaseHolder(b, name); !held || holder != owner {
			return store.ErrNotOwner
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("boltstore: release lease %s: %w", name, err)
	}
	return nil
}

// record values are 8 bytes of version, 8 bytes of expiry (0: never), value.
func (s *Store) liveRecord(b *bolt.Bucket, key string) (store.Record, bool) {
	v := b.Get([]byte(key))
	if len(v) < 16 || !live(getBE64(v[8:16]), s.nowNano()) {
		return store.Record{}, false
	}
	return store.Record{Version: getBE64(v[:8]), Value: append([]byte{}, v[16:]...)}, true
}

// Get implements store.Records; ErrNotFound for an absent or expired key.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	var (
		r  store.Record
		ok bool
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, ok = s.liveRecord(tx.Bucket(bucketRecords), key)
		return nil
	})
	if err != nil {
		return store.Record{}, fmt.Errorf("boltstore: get %s: %w", key, err)
	}
	if !ok {
		return store.Record{}, fmt.Errorf("boltstore: get %s: %w", key, store.ErrNotFound)
	}
	return r, nil
}

// Put implements store.Records; ErrConflict when version is not current.
func (s *Store) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	var next int64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRecords)
		cur, _ := s.liveRecord(b, key) // absent or expired: version 0
		if cur.Version != version {
			return store.ErrConflict
		}
		next = version + 1
		v := make([]byte, 16, 16+len(value))
		binary.BigEndian.PutUint64(v[:8], uint64(next))
		binary.BigEndian.PutUint64(v[8:16], uint64(s.expiry(ttl)))
		return b.Put([]byte(key), append(v, value...))
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: put %s: %w", key, err)
	}
	return next, nil
}

// Delete implements store.Records.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucketRecords).Delete([]byte(key)) })
	if err != nil {
		return fmt.Errorf("boltstore: delete %s: %w", key, err)
	}
	return nil
}

// Sweep deletes expired claims, leases and records now. WithSweep calls it
// periodically.
func (s *Store) Sweep(ctx context.Context) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		now := s.nowNano()
		// Each value holds its expiry as 8 bytes at offset off.
		sweeps := []struct {
			bucket []byte
			off    int
		}{{bucketClaims, 0}, {bucketLeases, 0}, {bucketRecords, 8}}
		for _, sw := range sweeps {
			var dead [][]byte
			err := tx.Bucket(sw.bucket).ForEach(func(k, v []byte) error {
				if len(v) < sw.off+8 || !live(getBE64(v[sw.off:sw.off+8]), now) {
					dead = append(dead, append([]byte{}, k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				if err := tx.Bucket(sw.bucket).Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: sweep: %w", err)
	}
	return nil
}

func (s *Store) sweepLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Sweep(context.Background()); err != nil {
				s.log.Warn("boltstore sweep failed", "err", err)
			}
		}
	}
}
