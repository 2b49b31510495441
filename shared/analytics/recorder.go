package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/worker"
)

// Counter series. Each is written for all channels under its plain name and
// per channel under name+"@"+channel (see SeriesFor).
const (
	SeriesMessages      = "messages"         // in, out, answered, clarified, unanswered
	SeriesConversations = "conversations"    // start, end
	SeriesIntent        = "intent"           // intent name (FAQ id, rule id, flow, human…)
	SeriesHandoff       = "handoff_reason"   // handoff reason
	SeriesCSAT          = "csat"             // "1".."5"
	SeriesLatency       = "latency_bucket"   // upper bound in ms ("100" … "20000", "inf")
	SeriesWelcome       = "welcome"          // known, new
	SeriesSentiment     = "sentiment"        // negative, neutral, positive
	SeriesEndReason     = "conversation_end" // end reason
)

// Raw event kinds kept in day buckets with the retention TTL.
const (
	KindUnanswered   = "unanswered"   // customer questions the bot could not answer (with text)
	KindConversation = "conversation" // conversation start/end, handoff, csat, welcome (no text)
)

// LatencyBounds are the upper bounds (ms) of the reply latency buckets; a
// last bucket "inf" takes the rest.
var latencyBounds = [...]int64{100, 250, 500, 1000, 2000, 3000, 5000, 10000, 20000}

// LatencyBounds returns the bucket upper bounds in milliseconds.
func LatencyBounds() []int64 { return latencyBounds[:] }

// Store is the part of store.Store analytics uses.
type Store interface {
	Incr(ctx context.Context, series, member string, day time.Time, delta int64) error
	Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error)
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
}

// RawEvent is one stored interaction fact.
type RawEvent struct {
	At      time.Time `json:"at"`
	Channel string    `json:"channel,omitempty"`
	Kind    string    `json:"kind"` // the worker.Event kind
	Intent  string    `json:"intent,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Score   int       `json:"score,omitempty"`
	Text    string    `json:"text,omitempty"` // only for unanswered questions
}

// maxBucket caps one day bucket of raw events; more are counted, not kept.
const maxBucket = 2000

// SeriesFor is the counter series name for a channel ("" = all channels).
func SeriesFor(series, channel string) string {
	if channel == "" {
		return series
	}
	return series + "@" + channel
}

// BucketKey is the record key of one day's raw events of a kind.
func BucketKey(kind, day string) string { return "analytics:ev:" + kind + ":" + day }

type counterKey struct{ series, member, day string }

type bucketKey struct{ kind, day string }

// Recorder implements worker.Metrics over a Store. Safe for concurrent use.
type Recorder struct {
	st        Store
	log       *slog.Logger
	retention time.Duration
	emf       *EMF
	now       func() time.Time
	interval  time.Duration

	mu     sync.Mutex
	counts map[counterKey]int64
	events map[bucketKey][]RawEvent

	flushMu sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Option configures a Recorder.
type Option func(*Recorder)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Recorder) { r.log = l } }

// WithRetention sets how long raw events are kept (default 90 days).
func WithRetention(d time.Duration) Option { return func(r *Recorder) { r.retention = d } }

// WithEMF also writes each event as CloudWatch Embedded Metric Format lines to w
// (used on Lambda, where stdout goes to CloudWatch Logs).
func WithEMF(w io.Writer) Option { return func(r *Recorder) { r.emf = NewEMF(w) } }

// WithFlushInterval sets the background flush period (default 1 s);
// 0 disables the background flush (call Flush).
func WithFlushInterval(d time.Duration) Option { return func(r *Recorder) { r.interval = d } }

// WithClock replaces time.Now for events without a time (tests).
func WithClock(now func() time.Time) Option { return func(r *Recorder) { r.now = now } }

// New returns a Recorder writing to st. Unless WithFlushInterval(0) is
// given it flushes in the background every second; Close stops it.
func New(st Store, opts ...Option) *Recorder {
	r := &Recorder{st: st, log: slog.Default(), retention: 90 * 24 * time.Hour, now: time.Now, interval: time.Second,
		counts: map[counterKey]int64{}, events: map[bucketKey][]RawEvent{}}
	for _, o := range opts {
		o(r)
	}
	if r.interval > 0 {
		r.stop, r.done = make(chan struct{}), make(chan struct{})
		go r.loop(r.interval)
	}
	return r
}

var _ worker.Metrics = (*Recorder)(nil)

// Record implements worker.Metrics: it only updates the in-memory aggregate.
func (r *Recorder) Record(ctx context.Context, ev worker.Event) {
	at := ev.At
	if at.IsZero() {
		at = r.now()
	}
	day := store.DayKey(at)
	r.mu.Lock()
	add := func(series, member string) {
		r.counts[counterKey{series, member, day}]++
		if ev.Channel != "" {
			r.counts[counterKey{series + "@" + ev.Channel, member, day}]++
		}
	}
	raw := func(kind string, e RawEvent) {
		k := bucketKey{kind, day}
		if len(r.events[k]) < maxBucket {
			r.events[k] = append(r.events[k], e)
		}
	}
	switch ev.Kind {
	case "message_in":
		add(SeriesMessages, "in")
		switch {
		case ev.Answered:
			add(SeriesMessages, "answered")
		case ev.Clarified:
			add(SeriesMessages, "clarified")
		}
		if ev.Intent != "" {
			add(SeriesIntent, ev.Intent)
		}
		if Unanswered(ev) {
			add(SeriesMessages, "unanswered")
			raw(KindUnanswered, RawEvent{At: at, Channel: ev.Channel, Kind: "unanswered", Intent: ev.Intent, Text: ev.Text})
		}
		switch {
		case ev.Sentiment <= -0.3:
			add(SeriesSentiment, "negative")
		case ev.Sentiment >= 0.3:
			add(SeriesSentiment, "positive")
		default:
			add(SeriesSentiment, "neutral")
		}
	case "message_out":
		add(SeriesMessages, "out")
		if ev.Latency > 0 {
			add(SeriesLatency, latencyMember(ev.Latency))
		}
	case "unanswered":
		// Derived from message_in (see Unanswered), which carries the same
		// text and outcome; counting this event too would count twice.
	case "handoff":
		add(SeriesHandoff, orUnknown(ev.Reason))
		raw(KindConversation, RawEvent{At: at, Channel: ev.Channel, Kind: ev.Kind, Reason: ev.Reason})
	case "csat":
		if ev.Score >= 1 && ev.Score <= 5 {
			add(SeriesCSAT, strconv.Itoa(ev.Score))
			raw(KindConversation, RawEvent{At: at, Channel: ev.Channel, Kind: ev.Kind, Score: ev.Score})
		}
	case "conversation_start":
		add(SeriesConversations, "start")
		raw(KindConversation, RawEvent{At: at, Channel: ev.Channel, Kind: ev.Kind})
	case "conversation_end":
		add(SeriesConversations, "end")
		add(SeriesEndReason, orUnknown(ev.Reason))
		raw(KindConversation, RawEvent{At: at, Channel: ev.Channel, Kind: ev.Kind, Reason: ev.Reason})
	case "welcome":
		add(SeriesWelcome, orUnknown(ev.Reason))
		raw(KindConversation, RawEvent{At: at, Channel: ev.Channel, Kind: ev.Kind, Reason: ev.Reason})
	}
	r.mu.Unlock()
	if r.emf != nil {
		r.emf.Event(at, ev)
	}
}

// Unanswered tells whether a message_in event is a question the bot could
// not answer: not answered and the intent is unknown, a "did you mean"
// suggestion, or empty (clarified, suggested, or handed off for low
// confidence). Requests for a person, flows and satisfaction answers are not.
func Unanswered(ev worker.Event) bool {
	if ev.Kind != "message_in" || ev.Answered {
		return false
	}
	switch ev.Intent {
	case "", "unknown", "suggest":
		return true
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func latencyMember(d time.Duration) string {
	ms := d.Milliseconds()
	for _, b := range latencyBounds {
		if ms <= b {
			return strconv.FormatInt(b, 10)
		}
	}
	return "inf"
}

func (r *Recorder) loop(d time.Duration) {
	defer close(r.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.Flush(ctx); err != nil {
				r.log.Warn("analytics: flush", "err", err)
			}
			cancel()
		}
	}
}

// Flush writes the aggregate to the store. Counts that could not be written
// are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	counts, events := r.counts, r.events
	if len(counts) == 0 && len(events) == 0 {
		r.mu.Unlock()
		return nil
	}
	r.counts, r.events = make(map[counterKey]int64, len(counts)), map[bucketKey][]RawEvent{}
	r.mu.Unlock()

	var errs []error
	failedCounts := map[counterKey]int64{}
	for k, n := range counts {
		day, _ := time.Parse(time.DateOnly, k.day)
		if err := r.st.Incr(ctx, k.series, k.member, day, n); err != nil {
			failedCounts[k] = n
			errs = append(errs, err)
		}
	}
	failedEvents := map[bucketKey][]RawEvent{}
	for k, evs := range events {
		if err := r.appendBucket(ctx, k, evs); err != nil {
			failedEvents[k] = evs
			errs = append(errs, err)
		}
	}
	if len(failedCounts)+len(failedEvents) > 0 {
		r.mu.Lock()
		for k, n := range failedCounts {
			r.counts[k] += n
		}
		for k, evs := range failedEvents {
			r.events[k] = append(evs, r.events[k]...)
		}
		r.mu.Unlock()
	}
	if len(errs) > 0 {
		return fmt.Errorf("analytics: flush: %d writes failed: %w", len(errs), errs[0])
	}
	return nil
}

func (r *Recorder) appendBucket(ctx context.Context, k bucketKey, evs []RawEvent) error {
	key := BucketKey(k.kind, k.day)
	for attempt := 0; attempt < 8; attempt++ {
		var cur []RawEvent
		var version int64
		rec, err := r.st.Get(ctx, key)
		switch {
		case err == nil:
			if jerr := json.Unmarshal(rec.Value, &cur); jerr != nil {
				cur = nil // unreadable bucket: start over rather than block analytics
			}
			version = rec.Version
		case !errors.Is(err, domain.ErrNotFound):
			return err
		}
		room := maxBucket - len(cur)
		if room <= 0 {
			return nil
		}
		add := evs
		if len(add) > room {
			add = add[:room]
		}
		data, err := json.Marshal(append(cur, add...))
		if err != nil {
			return err
		}
		_, err = r.st.Put(ctx, key, data, version, r.retention)
		if errors.Is(err, domain.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("analytics: bucket %s: %w", key, domain.ErrConflict)
}

// Close stops the background flush and flushes what is left.
func (r *Recorder) Close() error {
	r.once.Do(func() {
		if r.stop != nil {
			close(r.stop)
			<-r.done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Flush(ctx)
}
