package localq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wecom-crm-bot/shared/internal/backoff"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/store"
)

// Outbox is the part of the store the queue needs.
type Outbox interface {
	Add(ctx context.Context, item store.Item) error
	Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error)
	Ack(ctx context.Context, topic, id string) error
	Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error
	Bury(ctx context.Context, topic, id, lastErr string) error
}

// Config tunes the queue. Zero values take the defaults noted.
type Config struct {
	Topic       string        // outbox topic; default "queue"
	Workers     int           // concurrent handlers; default 4
	MaxAttempts int           // deliveries before dead-lettering; default 5
	Visibility  time.Duration // how long a taken message is hidden; default 2m
	MinBackoff  time.Duration // first retry delay; default 1s
	MaxBackoff  time.Duration // cap on retry delay; default 2m
	Poll        time.Duration // idle poll interval (publishes wake the consumer at once); default 1s
	Logger      *slog.Logger
}

func (c *Config) defaults() {
	if c.Topic == "" {
		c.Topic = "queue"
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Visibility <= 0 {
		c.Visibility = 2 * time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 2 * time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Queue publishes to and consumes from the outbox topic.
type Queue struct {
	cfg  Config
	box  Outbox
	wake chan struct{}
}

// New returns a queue over box.
func New(box Outbox, cfg Config) *Queue {
	cfg.defaults()
	return &Queue{cfg: cfg, box: box, wake: make(chan struct{}, 1)}
}

// Topic returns the outbox topic the queue uses (for dead-letter tooling).
func (q *Queue) Topic() string { return q.cfg.Topic }

// Publish stores msg durably. Publishing an ID twice is a no-op.
func (q *Queue) Publish(ctx context.Context, msg queue.Message) error {
	if msg.ID == "" {
		return errors.New("localq: message without id")
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("localq: encode: %w", err)
	}
	if err := q.box.Add(ctx, store.Item{Topic: q.cfg.Topic, ID: msg.ID, Payload: payload, Due: time.Now()}); err != nil {
		return fmt.Errorf("localq: publish %s: %w", msg.ID, err)
	}
	q.notify()
	return nil
}

// CanClaimAndPublish reports whether the queue's store can claim a key and
// enqueue in one write (store.ClaimAdder), so ClaimAndPublish is usable.
func (q *Queue) CanClaimAndPublish() bool {
	_, ok := q.box.(store.ClaimAdder)
	return ok
}

// ClaimAndPublish claims key for ttl and stores msg in the same atomic write
// of the underlying store; it reports false, storing nothing, when key is
// already claimed. The store must support it (CanClaimAndPublish).
func (q *Queue) ClaimAndPublish(ctx context.Context, key string, ttl time.Duration, msg queue.Message) (bool, error) {
	ca, ok := q.box.(store.ClaimAdder)
	if !ok {
		return false, errors.New("localq: the store cannot claim and add atomically")
	}
	if msg.ID == "" {
		return false, errors.New("localq: message without id")
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("localq: encode: %w", err)
	}
	won, err := ca.ClaimAndAdd(ctx, key, ttl, store.Item{Topic: q.cfg.Topic, ID: msg.ID, Payload: payload, Due: time.Now()})
	if err != nil {
		return false, fmt.Errorf("localq: claim and publish %s: %w", msg.ID, err)
	}
	if won {
		q.notify()
	}
	return won, nil
}

func (q *Queue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run consumes messages until ctx is cancelled. It returns nil on cancellation.
func (q *Queue) Run(ctx context.Context, h queue.Handler) error {
	sem := make(chan struct{}, q.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := q.cfg.Workers - len(sem)
		var items []store.Item
		if free > 0 {
			var err error
			items, err = q.box.Take(ctx, q.cfg.Topic, free, q.cfg.Visibility)
			if err != nil && ctx.Err() == nil {
				q.cfg.Logger.Warn("localq: take failed", "err", err)
			}
		}
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func(it store.Item) {
				defer func() { <-sem; wg.Done() }()
				q.deliver(ctx, h, it)
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}(it)
		}
		if len(items) > 0 && len(items) == free {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		case <-time.After(q.cfg.Poll):
		}
	}
}

// Drain delivers every due message once, synchronously, and returns how many
// were handled successfully. Useful in tests and one-shot tools.
func (q *Queue) Drain(ctx context.Context, h queue.Handler) (int, error) {
	ok := 0
	for {
		items, err := q.box.Take(ctx, q.cfg.Topic, q.cfg.Workers, q.cfg.Visibility)
		if err != nil {
			return ok, err
		}
		if len(items) == 0 {
			return ok, nil
		}
		for _, it := range items {
			if q.deliver(ctx, h, it) {
				ok++
			}
		}
	}
}

func (q *Queue) deliver(ctx context.Context, h queue.Handler, it store.Item) bool {
	log := q.cfg.Logger.With("msg_id", it.ID, "attempt", it.Attempts)
	var msg queue.Message
	if err := json.Unmarshal(it.Payload, &msg); err != nil {
		log.Error("localq: undecodable message, dead-lettering", "err", err)
		q.bury(ctx, it, "undecodable: "+err.Error())
		return false
	}
	err := safeCall(ctx, h, msg)
	if err == nil {
		if aerr := q.box.Ack(ctx, q.cfg.Topic, it.ID); aerr != nil {
			log.Warn("localq: ack failed; message may be redelivered", "err", aerr)
		}
		return true
	}
	if it.Attempts >= q.cfg.MaxAttempts {
		log.Error("localq: giving up, dead-lettering", "err", err)
		q.bury(ctx, it, err.Error())
		return false
	}
	delay := Backoff(it.Attempts, q.cfg.MinBackoff, q.cfg.MaxBackoff)
	log.Warn("localq: handler failed, will retry", "err", err, "retry_in", delay)
	if rerr := q.box.Retry(ctx, q.cfg.Topic, it.ID, time.Now().Add(delay), err.Error()); rerr != nil {
		log.Warn("localq: retry bookkeeping failed; visibility timeout will redeliver", "err", rerr)
	}
	return false
}

func (q *Queue) bury(ctx context.Context, it store.Item, reason string) {
	if err := q.box.Bury(ctx, q.cfg.Topic, it.ID, reason); err != nil {
		q.cfg.Logger.Error("localq: bury failed", "msg_id", it.ID, "err", err)
	}
}

// safeCall runs h and turns a panic into an error, so one bad message cannot
// take the consumer down.
func safeCall(ctx context.Context, h queue.Handler, msg queue.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("localq: handler panic: %v", r)
		}
	}()
	return h(ctx, msg)
}

// Backoff returns the delay before retry number attempt (1-based):
// exponential from min, capped at max, with jitter over the upper half.
func Backoff(attempt int, min, max time.Duration) time.Duration {
	return backoff.Delay(attempt, min, max)
}
