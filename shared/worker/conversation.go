package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// maxTurns bounds the transcript kept in one conversation record; older
// turns are dropped from the middle so the note keeps the opening and the end.
const maxTurns = 200

// StoreKey is where the current conversation of a peer on a channel lives.
func StoreKey(channel, peer string) string { return "conv:" + channel + ":" + peer }

// IdleJob is the payload of a TopicIdle outbox item.
type IdleJob struct {
	StoreKey string `json:"store_key"`
	ConvKey  string `json:"conv_key"`
}

// errRetryCAS is returned when optimistic updates keep conflicting.
var errRetryCAS = errors.New("worker: conversation update kept conflicting")

// updateConv loads the peer's conversation, lets fn change it and saves it
// with optimistic concurrency, retrying on conflicts. fn sees a fresh
// conversation (Key set, StartedAt now) when none is active; an active
// conversation that has been idle past NoteIdle is ended (its note queued)
// and replaced by a fresh one first.
func (w *Worker) updateConv(ctx context.Context, channel, peer string, init func(*domain.Conversation), fn func(*domain.Conversation) error) (domain.Conversation, error) {
	key := StoreKey(channel, peer)
	now := w.cfg.Now()
	for attempt := 0; attempt < 8; attempt++ {
		var c domain.Conversation
		var version int64
		rec, err := w.cfg.State.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return c, fmt.Errorf("worker: load conversation: %w", err)
		default:
			if err := json.Unmarshal(rec.Value, &c); err != nil {
				w.logger(ctx).Error("worker: corrupt conversation record replaced", "err", err)
				c = domain.Conversation{}
			}
			version = rec.Version
		}
		if c.Key != "" && !c.Ended && now.Sub(c.LastActivity) > w.cfg.NoteIdle {
			if err := w.queueNote(ctx, &c, "idle", now); err != nil {
				return c, err
			}
		}
		fresh := c.Key == "" || c.Ended
		if fresh {
			c = domain.Conversation{
				Key:       channel + ":" + peer + ":" + strconv.FormatInt(now.Unix(), 10),
				Channel:   channel,
				StartedAt: now,
			}
			if init != nil {
				init(&c)
			}
		}
		if err := fn(&c); err != nil {
			return c, err
		}
		if c.LastActivity.IsZero() {
			c.LastActivity = now
		}
		trimTurns(&c)
		b, err := json.Marshal(c)
		if err != nil {
			return c, fmt.Errorf("worker: encode conversation: %w", err)
		}
		// Conversations outlive their idle window by a day so late events
		// still find them; ended ones are replaced by the next message.
		if _, err := w.cfg.State.Put(ctx, key, b, version, w.cfg.NoteIdle+24*time.Hour); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return c, fmt.Errorf("worker: save conversation: %w", err)
		}
		if fresh && !c.Ended {
			w.scheduleIdle(ctx, key, c)
			w.record(ctx, Event{Channel: channel, Kind: "conversation_start"})
		}
		return c, nil
	}
	return domain.Conversation{}, errRetryCAS
}

func trimTurns(c *domain.Conversation) {
	if len(c.Turns) <= maxTurns {
		return
	}
	head := maxTurns / 4
	tail := maxTurns - head - 1
	kept := append([]domain.Turn{}, c.Turns[:head]...)
	kept = append(kept, domain.Turn{At: c.Turns[head].At, Role: domain.RoleSystem, Text: fmt.Sprintf("… %d messages omitted …", len(c.Turns)-head-tail)})
	kept = append(kept, c.Turns[len(c.Turns)-tail:]...)
	c.Turns = kept
}

// scheduleIdle queues the check that ends the conversation after NoteIdle of
// silence. The note sync re-schedules it while the conversation is active.
func (w *Worker) scheduleIdle(ctx context.Context, storeKey string, c domain.Conversation) {
	job, _ := json.Marshal(IdleJob{StoreKey: storeKey, ConvKey: c.Key}) // plain struct: cannot fail
	err := w.cfg.State.Add(ctx, store.Item{Topic: TopicIdle, ID: c.Key, Payload: job, Due: c.StartedAt.Add(w.cfg.NoteIdle)})
	if err != nil {
		// The next message re-saves the conversation; the idle check is
		// also re-derived by EndIfIdle from LastActivity, so log and go on.
		w.logger(ctx).Warn("worker: schedule idle check failed", "err", err)
	}
}

// queueNote marks c ended and queues its note. Adding the note is idempotent
// by conversation key, so ending twice never writes two notes.
func (w *Worker) queueNote(ctx context.Context, c *domain.Conversation, reason string, now time.Time) error {
	c.Ended = true
	c.EndedAt = now
	if c.EndReason == "" {
		c.EndReason = reason
	}
	return queueNoteItem(ctx, w.cfg.State, *c)
}

func queueNoteItem(ctx context.Context, st interface {
	Add(ctx context.Context, item store.Item) error
}, c domain.Conversation) error {
	if len(c.Turns) == 0 {
		return nil // nothing was said: no note
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("worker: encode note job: %w", err)
	}
	if err := st.Add(ctx, store.Item{Topic: TopicNotes, ID: c.Key, Payload: payload}); err != nil {
		return fmt.Errorf("worker: queue note for %s: %w", c.Key, err)
	}
	return nil
}

// EndIfIdle is called by the note sync for a due TopicIdle item. It ends the
// conversation (queueing its note) when its customer has been silent for
// idle, and otherwise returns when to check again. done is true when the
// item needs no further checks.
func EndIfIdle(ctx context.Context, st State, job IdleJob, idle time.Duration, now time.Time) (next time.Time, done bool, err error) {
	for attempt := 0; attempt < 8; attempt++ {
		rec, err := st.Get(ctx, job.StoreKey)
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, true, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("worker: idle check: %w", err)
		}
		var c domain.Conversation
		if err := json.Unmarshal(rec.Value, &c); err != nil || c.Key != job.ConvKey || c.Ended {
			return time.Time{}, true, nil // replaced, ended or unreadable: nothing to do
		}
		if due := c.LastActivity.Add(idle); due.After(now) {
			return due, false, nil
		}
		c.Ended, c.EndedAt = true, now
		if c.EndReason == "" {
			c.EndReason = "idle"
		}
		if err := queueNoteItem(ctx, st, c); err != nil {
			return time.Time{}, false, err
		}
		b, err := json.Marshal(c)
		if err != nil {
			return time.Time{}, false, err
		}
		if _, err := st.Put(ctx, job.StoreKey, b, rec.Version, idle+24*time.Hour); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return time.Time{}, false, fmt.Errorf("worker: idle end: %w", err)
		}
		return time.Time{}, true, nil
	}
	return time.Time{}, false, errRetryCAS
}

// markDone records that a pulled message was processed. It reports false if
// it was already marked.
func (w *Worker) markDone(ctx context.Context, key string) error {
	_, err := w.cfg.State.Put(ctx, key, []byte{'1'}, 0, w.cfg.DoneTTL)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("worker: mark %s done: %w", key, err)
	}
	return nil
}

func (w *Worker) isDone(ctx context.Context, key string) (bool, error) {
	_, err := w.cfg.State.Get(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("worker: check %s: %w", key, err)
	}
}

// DecodeIdleJob decodes a TopicIdle item's payload.
func DecodeIdleJob(payload []byte) (IdleJob, error) {
	var j IdleJob
	if err := json.Unmarshal(payload, &j); err != nil {
		return j, fmt.Errorf("worker: idle job: %w", err)
	}
	return j, nil
}

// knownContactID returns the CRM contact already linked to the peer's active
// conversation, so follow-up messages skip the look-up.
func (w *Worker) knownContactID(ctx context.Context, channel, peer string) (string, error) {
	rec, err := w.cfg.State.Get(ctx, StoreKey(channel, peer))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("worker: load conversation: %w", err)
	}
	var c domain.Conversation
	if json.Unmarshal(rec.Value, &c) != nil || c.Ended {
		return "", nil
	}
	return c.ContactID, nil
}
