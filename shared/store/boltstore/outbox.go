package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"wecom-crm-bot/shared/store"
)

var (
	subItems = []byte("items")
	subQueue = []byte("queue")
	subDead  = []byte("dead")
)

// entry is an outbox item as stored: the item plus the key of its index
// entry in "queue" (live) or "dead" (buried).
type entry struct {
	Item  store.Item `json:"item"`
	Index []byte     `json:"index"`
	Dead  bool       `json:"dead,omitempty"`
}

// topic holds the nested buckets of one outbox topic.
type topic struct{ items, queue, dead *bolt.Bucket }

// openTopic returns the topic's buckets, creating them if create is set;
// ok is false when the topic does not exist and create is not set.
func openTopic(tx *bolt.Tx, name string, create bool) (topic, bool, error) {
	ob := tx.Bucket(bucketOutbox)
	tb := ob.Bucket([]byte(name))
	if tb == nil {
		if !create {
			return topic{}, false, nil
		}
		var err error
		if tb, err = ob.CreateBucket([]byte(name)); err != nil {
			return topic{}, false, err
		}
		for _, sub := range [][]byte{subItems, subQueue, subDead} {
			if _, err := tb.CreateBucket(sub); err != nil {
				return topic{}, false, err
			}
		}
	}
	return topic{items: tb.Bucket(subItems), queue: tb.Bucket(subQueue), dead: tb.Bucket(subDead)}, true, nil
}

func (tp topic) load(id string) (entry, bool, error) {
	v := tp.items.Get([]byte(id))
	if v == nil {
		return entry{}, false, nil
	}
	var e entry
	if err := json.Unmarshal(v, &e); err != nil {
		return entry{}, false, fmt.Errorf("decode item %s: %w", id, err)
	}
	return e, true, nil
}

func (tp topic) save(e entry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tp.items.Put([]byte(e.Item.ID), v)
}

// schedule moves e's index entry to the live queue at time at.
func (tp topic) schedule(e *entry, at time.Time) error {
	if err := tp.unindex(e); err != nil {
		return err
	}
	e.Index = append(be64(at.UnixNano()), e.Item.ID...)
	e.Dead = false
	return tp.queue.Put(e.Index, nil)
}

// unindex removes e's index entry from whichever list holds it.
func (tp topic) unindex(e *entry) error {
	if e.Index == nil {
		return nil
	}
	b := tp.queue
	if e.Dead {
		b = tp.dead
	}
	return b.Delete(e.Index)
}

// Add implements store.Outbox.
func (s *Store) Add(ctx context.Context, item store.Item) error {
	err := s.update(ctx, func(tx *bolt.Tx) error { return s.addTx(tx, item) })
	if err != nil {
		return fmt.Errorf("boltstore: add outbox %s/%s: %w", item.Topic, item.ID, err)
	}
	return nil
}

func (s *Store) addTx(tx *bolt.Tx, item store.Item) error {
	tp, _, err := openTopic(tx, item.Topic, true)
	if err != nil {
		return err
	}
	if _, exists, err := tp.load(item.ID); err != nil || exists {
		return err
	}
	now := s.now()
	if item.Due.IsZero() {
		item.Due = now
	}
	if item.Created.IsZero() {
		item.Created = now
	}
	e := entry{Item: item}
	if err := tp.schedule(&e, item.Due); err != nil {
		return err
	}
	return tp.save(e)
}

// Take implements store.Outbox.
func (s *Store) Take(ctx context.Context, topicName string, n int, visibility time.Duration) ([]store.Item, error) {
	var out []store.Item
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out = nil
		tp, ok, err := openTopic(tx, topicName, false)
		if err != nil || !ok || n <= 0 {
			return err
		}
		now := s.now()
		limit := be64(now.UnixNano())
		var due [][]byte
		c := tp.queue.Cursor()
		for k, _ := c.First(); k != nil && len(due) < n && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			due = append(due, append([]byte{}, k...))
		}
		for _, k := range due {
			e, ok, err := tp.load(string(k[8:]))
			if err != nil {
				return err
			}
			if !ok { // index without item: repair
				if err := tp.queue.Delete(k); err != nil {
					return err
				}
				continue
			}
			e.Item.Attempts++
			if err := tp.schedule(&e, now.Add(visibility)); err != nil {
				return err
			}
			if err := tp.save(e); err != nil {
				return err
			}
			out = append(out, e.Item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: take outbox %s: %w", topicName, err)
	}
	return out, nil
}

// modify loads a live (or, with dead set, buried) item and applies fn;
// ErrNotFound when it is absent or in the other state.
func (s *Store) modify(ctx context.Context, op, topicName, id string, dead bool, fn func(tp topic, e *entry) error) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tp, ok, err := openTopic(tx, topicName, false)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		e, ok, err := tp.load(id)
		if err != nil {
			return err
		}
		if !ok || e.Dead != dead {
			return store.ErrNotFound
		}
		return fn(tp, &e)
	})
	if err != nil {
		return fmt.Errorf("boltstore: %s outbox %s/%s: %w", op, topicName, id, err)
	}
	return nil
}

// Ack implements store.Outbox. Acking an absent item is no error, so a
// redelivered acknowledgement is harmless.
func (s *Store) Ack(ctx context.Context, topicName, id string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tp, ok, err := openTopic(tx, topicName, false)
		if err != nil || !ok {
			return err
		}
		e, ok, err := tp.load(id)
		if err != nil || !ok {
			return err
		}
		if err := tp.unindex(&e); err != nil {
			return err
		}
		return tp.items.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("boltstore: ack outbox %s/%s: %w", topicName, id, err)
	}
	return nil
}

// Retry implements store.Outbox; ErrNotFound if the item is not live.
func (s *Store) Retry(ctx context.Context, topicName, id string, due time.Time, lastErr string) error {
	return s.modify(ctx, "retry", topicName, id, false, func(tp topic, e *entry) error {
		e.Item.Due = due
		e.Item.LastError = lastErr
		if err := tp.schedule(e, due); err != nil {
			return err
		}
		return tp.save(*e)
	})
}

// Bury implements store.Outbox; ErrNotFound if the item is not live.
func (s *Store) Bury(ctx context.Context, topicName, id, lastErr string) error {
	return s.modify(ctx, "bury", topicName, id, false, func(tp topic, e *entry) error {
		if err := tp.unindex(e); err != nil {
			return err
		}
		seq, err := tp.dead.NextSequence()
		if err != nil {
			return err
		}
		e.Index = append(append(be64(s.nowNano()), be64(int64(seq))...), id...)
		e.Dead = true
		e.Item.LastError = lastErr
		if err := tp.dead.Put(e.Index, nil); err != nil {
			return err
		}
		return tp.save(*e)
	})
}

// Revive implements store.Outbox; ErrNotFound if the item is not dead.
func (s *Store) Revive(ctx context.Context, topicName, id string) error {
	return s.modify(ctx, "revive", topicName, id, true, func(tp topic, e *entry) error {
		now := s.now()
		e.Item.Due = now
		e.Item.Attempts = 0
		if err := tp.schedule(e, now); err != nil {
			return err
		}
		return tp.save(*e)
	})
}

// Dead implements store.Outbox: up to n buried items, earliest buried first.
func (s *Store) Dead(ctx context.Context, topicName string, n int) ([]store.Item, error) {
	var out []store.Item
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		tp, ok, err := openTopic(tx, topicName, false)
		if err != nil || !ok {
			return err
		}
		c := tp.dead.Cursor()
		for k, _ := c.First(); k != nil && len(out) < n; k, _ = c.Next() {
			e, ok, err := tp.load(string(k[16:]))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, e.Item)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: dead outbox %s: %w", topicName, err)
	}
	return out, nil
}
