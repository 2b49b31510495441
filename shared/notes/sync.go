package notes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/backoff"
	"wecom-crm-bot/shared/store"
)

// Outbox is the part of the store the syncer drains.
type Outbox interface {
	Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error)
	Ack(ctx context.Context, topic, id string) error
	Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error
	Bury(ctx context.Context, topic, id, lastErr string) error
	Dead(ctx context.Context, topic string, n int) ([]store.Item, error)
	Revive(ctx context.Context, topic, id string) error
}

// CRM is the part of the CRM the syncer writes to.
type CRM interface {
	FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	UpsertNote(ctx context.Context, n domain.Note) (string, error)
}

// IdleFunc ends the conversation of an idle-check item when it is due, or
// returns when to look again (done=false, next set).
type IdleFunc func(ctx context.Context, payload []byte, now time.Time) (next time.Time, done bool, err error)

// Config configures a Syncer.
type Config struct {
	Outbox         Outbox
	CRM            CRM
	Idle           IdleFunc // optional: handles IdleTopic items
	NotesTopic     string   // default "notes"
	IdleTopic      string   // default "idle"
	TimeZone       *time.Location
	CreateContacts bool
	MaxAttempts    int           // default 8
	MinBackoff     time.Duration // default 30s
	MaxBackoff     time.Duration // default 1h
	Batch          int           // items per Take; default 25
	Visibility     time.Duration // default 2m
	Logger         *slog.Logger
	Now            func() time.Time
}

// Stats counts one pass.
type Stats struct {
	Delivered, Retried, Buried, IdleEnded, IdleRescheduled int
}

// Syncer delivers queued notes.
type Syncer struct{ cfg Config }

// NewSyncer returns a syncer with defaults applied.
func NewSyncer(cfg Config) *Syncer {
	if cfg.NotesTopic == "" {
		cfg.NotesTopic = "notes"
	}
	if cfg.IdleTopic == "" {
		cfg.IdleTopic = "idle"
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 25
	}
	if cfg.Visibility <= 0 {
		cfg.Visibility = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Syncer{cfg: cfg}
}

// Run makes one pass: ends due idle conversations, then delivers due notes,
// until nothing is due or ctx ends. It is what the scheduled function calls.
func (s *Syncer) Run(ctx context.Context) (Stats, error) {
	var st Stats
	if s.cfg.Idle != nil {
		if err := s.drain(ctx, s.cfg.IdleTopic, func(it store.Item) { s.idle(ctx, it, &st) }); err != nil {
			return st, err
		}
	}
	err := s.drain(ctx, s.cfg.NotesTopic, func(it store.Item) { s.deliver(ctx, it, &st) })
	return st, err
}

func (s *Syncer) drain(ctx context.Context, topic string, handle func(store.Item)) error {
	seen := map[string]bool{}
	for ctx.Err() == nil {
		items, err := s.cfg.Outbox.Take(ctx, topic, s.cfg.Batch, s.cfg.Visibility)
		if err != nil {
			return fmt.Errorf("notes: take %s: %w", topic, err)
		}
		again := false
		for _, it := range items {
			if seen[it.ID] {
				// Handled earlier in this pass and already due again (a very
				// short backoff): leave it for the next pass.
				again = true
				s.retry(ctx, topic, it.ID, s.cfg.Now(), it.LastError)
				continue
			}
			seen[it.ID] = true
			handle(it)
		}
		if again || len(items) < s.cfg.Batch {
			return nil
		}
	}
	return ctx.Err()
}

func (s *Syncer) idle(ctx context.Context, it store.Item, st *Stats) {
	now := s.cfg.Now()
	next, done, err := s.cfg.Idle(ctx, it.Payload, now)
	switch {
	case err != nil:
		// Idle checks never dead-letter: they only decide when a note is due.
		s.cfg.Logger.Warn("notes: idle check failed; will retry", "item", it.ID, "err", err)
		s.retry(ctx, s.cfg.IdleTopic, it.ID, now.Add(s.cfg.MinBackoff), err.Error())
	case done:
		if err := s.cfg.Outbox.Ack(ctx, s.cfg.IdleTopic, it.ID); err != nil {
			s.cfg.Logger.Warn("notes: ack idle item", "err", err)
		}
		st.IdleEnded++
	default:
		s.retry(ctx, s.cfg.IdleTopic, it.ID, next, "")
		st.IdleRescheduled++
	}
}

func (s *Syncer) retry(ctx context.Context, topic, id string, due time.Time, lastErr string) {
	if err := s.cfg.Outbox.Retry(ctx, topic, id, due, lastErr); err != nil {
		s.cfg.Logger.Warn("notes: reschedule failed; visibility timeout will bring it back", "topic", topic, "item", id, "err", err)
	}
}

func (s *Syncer) deliver(ctx context.Context, it store.Item, st *Stats) {
	log := s.cfg.Logger.With("conversation", it.ID, "attempt", it.Attempts)
	var c domain.Conversation
	if err := json.Unmarshal(it.Payload, &c); err != nil {
		log.Error("notes: undecodable note job dead-lettered", "err", err)
		s.bury(ctx, it, "undecodable: "+err.Error(), st)
		return
	}
	id, err := s.write(ctx, c)
	if err == nil {
		if err := s.cfg.Outbox.Ack(ctx, s.cfg.NotesTopic, it.ID); err != nil {
			// The note is written; a redelivery upserts the same key again.
			log.Warn("notes: ack failed after delivery", "err", err)
		}
		log.Info("notes: delivered", "note_id", id)
		st.Delivered++
		return
	}
	if errors.Is(err, domain.ErrConfig) {
		log.Error("notes: CRM configuration error; fix it, then replay dead letters", "err", err)
	}
	if it.Attempts >= s.cfg.MaxAttempts {
		log.Error("notes: giving up, dead-lettered", "err", err)
		s.bury(ctx, it, err.Error(), st)
		return
	}
	delay := backoff.Delay(it.Attempts, s.cfg.MinBackoff, s.cfg.MaxBackoff)
	if wait, ok := retryAfter(err); ok && wait > delay {
		delay = wait
	}
	log.Warn("notes: delivery failed, will retry", "err", err, "retry_in", delay)
	s.retry(ctx, s.cfg.NotesTopic, it.ID, s.cfg.Now().Add(delay), err.Error())
	st.Retried++
}

func (s *Syncer) bury(ctx context.Context, it store.Item, reason string, st *Stats) {
	if err := s.cfg.Outbox.Bury(ctx, s.cfg.NotesTopic, it.ID, reason); err != nil {
		s.cfg.Logger.Error("notes: bury failed", "conversation", it.ID, "err", err)
		return
	}
	st.Buried++
}

// write finds (or creates) the contact and upserts the note: at most two CRM
// calls, one when the worker already linked the contact.
func (s *Syncer) write(ctx context.Context, c domain.Conversation) (string, error) {
	note := Render(c, s.cfg.TimeZone)
	if note.ContactID == "" {
		id := crm.Identity{ExternalUserID: c.ExternalUserID, Name: c.CustomerName}
		if id.ExternalUserID == "" {
			return "", fmt.Errorf("notes: conversation %s has no customer identity: %w", c.Key, domain.ErrInvalid)
		}
		contact, err := s.cfg.CRM.FindContact(ctx, id)
		if errors.Is(err, domain.ErrNotFound) && s.cfg.CreateContacts {
			contact, err = s.cfg.CRM.CreateContact(ctx, id)
		}
		if err != nil {
			return "", fmt.Errorf("notes: contact for %s: %w", c.Key, err)
		}
		note.ContactID, note.OwnerID = contact.ID, contact.OwnerID
	}
	id, err := s.cfg.CRM.UpsertNote(ctx, note)
	if err != nil {
		return "", fmt.Errorf("notes: upsert %s: %w", c.Key, err)
	}
	return id, nil
}

// DeadLetters lists up to n dead notes.
func (s *Syncer) DeadLetters(ctx context.Context, n int) ([]store.Item, error) {
	return s.cfg.Outbox.Dead(ctx, s.cfg.NotesTopic, n)
}

// Replay moves the given dead items of topic (all of them when ids is
// empty) back to the live queue; the next pass delivers them. It returns how
// many moved.
func Replay(ctx context.Context, box Outbox, topic string, ids ...string) (int, error) {
	if len(ids) > 0 {
		return revive(ctx, box, topic, ids)
	}
	total := 0
	for {
		dead, err := box.Dead(ctx, topic, 100)
		if err != nil {
			return total, err
		}
		for _, it := range dead {
			ids = append(ids, it.ID)
		}
		n, err := revive(ctx, box, topic, ids)
		total += n
		if err != nil || len(dead) < 100 {
			return total, err
		}
		ids = ids[:0]
	}
}

func revive(ctx context.Context, box Outbox, topic string, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		if err := box.Revive(ctx, topic, id); err != nil {
			return n, fmt.Errorf("notes: replay %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// retryAfter extracts a server-requested wait from an error, if it carries one.
func retryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	// The CRM adapters report Retry-After in crm.APIError's field.
	var api *crm.APIError
	if errors.As(err, &api) && api.RetryAfter > 0 {
		return api.RetryAfter, true
	}
	return 0, false
}
