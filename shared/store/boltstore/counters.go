package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"wecom-crm-bot/shared/store"
)

// counterKey is series NUL day NUL member.
func counterKey(series, day, member string) []byte {
	return []byte(series + "\x00" + day + "\x00" + member)
}

// Incr implements store.Counters.
func (s *Store) Incr(ctx context.Context, series, member string, day time.Time, delta int64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		k := counterKey(series, store.DayKey(day), member)
		var cur int64
		if v := b.Get(k); len(v) == 8 {
			cur = getBE64(v)
		}
		return b.Put(k, be64(cur+delta))
	})
	if err != nil {
		return fmt.Errorf("boltstore: incr %s/%s: %w", series, member, err)
	}
	return nil
}

// Counts implements store.Counters.
func (s *Store) Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := []byte(series + "\x00")
		last := store.DayKey(to)
		c := tx.Bucket(bucketCounters).Cursor()
		for k, v := c.Seek(counterKey(series, store.DayKey(from), "")); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			day, member, ok := bytes.Cut(k[len(prefix):], []byte{0})
			if !ok || len(v) != 8 {
				continue
			}
			if string(day) > last {
				break
			}
			if out[string(day)] == nil {
				out[string(day)] = make(map[string]int64)
			}
			out[string(day)][string(member)] = getBE64(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: counts %s: %w", series, err)
	}
	return out, nil
}
