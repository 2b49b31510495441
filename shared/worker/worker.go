package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/event"
)

// Outbox topics the worker writes to; the notesync function consumes them.
const (
	TopicNotes = "notes" // ended conversations waiting to become CRM notes
	TopicIdle  = "idle"  // conversations to end when their customer goes quiet
)

// KfAPI is the part of the WeCom client the 微信客服 flow uses.
type KfAPI interface {
	SyncMsg(ctx context.Context, req wecom.SyncMsgRequest) (wecom.SyncMsgResponse, error)
	SendMsg(ctx context.Context, m wecom.KfMessage) (string, error)
	SendMsgOnEvent(ctx context.Context, code string, m wecom.KfMessage) (string, error)
	TransServiceState(ctx context.Context, openKfID, externalUserID string, state int, servicer string) (string, error)
	BatchGetCustomers(ctx context.Context, ids []string) ([]wecom.Customer, error)
}

// AppAPI sends self-built app messages (staff answers, handoff cards).
type AppAPI interface {
	SendAppMessage(ctx context.Context, m wecom.AppMessage) (wecom.AppSendResult, error)
}

// ContactAPI reads external contacts and sends their welcome messages.
type ContactAPI interface {
	GetExternalContact(ctx context.Context, externalUserID string) (wecom.ExternalContact, error)
	SendWelcomeMsg(ctx context.Context, welcomeCode, text string) error
}

// Brain is the bot.
type Brain interface {
	Respond(ctx context.Context, in bot.Input) (bot.Output, error)
	Welcome(in bot.Input) []domain.Reply
	SurveyPrompt() domain.Reply
}

// Customers is the part of the CRM the worker reads (normally crm.Cached,
// which caches and bounds every call with a timeout).
type Customers interface {
	FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	Context(ctx context.Context, contactID string) (domain.CustomerContext, error)
}

// State is the part of the store the worker uses.
type State interface {
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	Renew(ctx context.Context, name, owner string, ttl time.Duration) error
	Release(ctx context.Context, name, owner string) error
	Add(ctx context.Context, item store.Item) error
}

// Metrics counts what happens, for analytics. It must be cheap and must not fail the work.
type Metrics interface {
	Record(ctx context.Context, ev Event)
}

// Event is one analytics fact emitted by the worker.
type Event struct {
	At         time.Time
	Channel    string
	Kind       string // message_in, message_out, handoff, csat, welcome, conversation_start, conversation_end
	Intent     string
	Confidence float64
	Answered   bool
	Clarified  bool
	Reason     string // handoff reason, end reason
	Text       string // the customer question (for unanswered grouping); redact before logging
	Score      int    // csat 1..5
	Sentiment  float64
	Latency    time.Duration // callback received → reply sent
}

// Channel is one WeCom channel's API clients. Nil clients disable that flow.
type Channel struct {
	Name     string
	CorpID   string
	AgentID  int64
	Kf       KfAPI
	App      AppAPI
	Contacts ContactAPI
}

// Config holds the worker's dependencies and tunables.
type Config struct {
	Channels  []Channel
	State     State
	Brain     Brain
	Customers Customers // optional: nil means no CRM personalisation
	Metrics   Metrics   // optional
	Logger    *slog.Logger
	Now       func() time.Time

	NoteIdle  time.Duration // customer silence that ends a conversation; default 30m
	LeaseTTL  time.Duration // kf sync lease; default 60s
	LeaseWait time.Duration // how long to wait for a busy lease before retrying later; default 8s
	DoneTTL   time.Duration // how long processed-message markers live; default 7 days
	// Redact prepares message text for the logs; the default logs only its
	// length. The app passes platform.RedactText, which shows the text when
	// LOG_CONTENT=true and masks phone numbers always.
	Redact func(string) string
}

// Worker handles queued envelopes.
type Worker struct {
	cfg      Config
	channels map[string]Channel
	log      *slog.Logger
	staff    StaffHandler
}

// New returns a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.State == nil || cfg.Brain == nil {
		return nil, fmt.Errorf("worker: State and Brain are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NoteIdle <= 0 {
		cfg.NoteIdle = 30 * time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 60 * time.Second
	}
	if cfg.LeaseWait <= 0 {
		cfg.LeaseWait = 8 * time.Second
	}
	if cfg.DoneTTL <= 0 {
		cfg.DoneTTL = 7 * 24 * time.Hour
	}
	w := &Worker{cfg: cfg, channels: map[string]Channel{}, log: cfg.Logger}
	for _, ch := range cfg.Channels {
		w.channels[ch.Name] = ch
	}
	return w, nil
}

// Handle processes one queued envelope. A nil error acknowledges it; an
// error makes the queue redeliver it later (and, in the end, dead-letter it).
func (w *Worker) Handle(ctx context.Context, msg queue.Message) error {
	var env callback.Envelope
	if err := json.Unmarshal(msg.Body, &env); err != nil {
		// Undecodable: retrying cannot help. Log and drop (the queue's own
		// dead-letter handling keeps a copy where it redelivers).
		w.log.Error("worker: undecodable envelope dropped", "msg_id", msg.ID, "err", err)
		return nil
	}
	log := w.log.With("correlation_id", env.CorrelationID, "channel", env.Channel, "key", env.Key)
	ctx = withLogger(ctx, log)
	ch, ok := w.channels[env.Channel]
	if !ok {
		log.Error("worker: envelope for an unconfigured channel dropped")
		return nil
	}
	m := env.Message
	switch m.Kind() {
	case event.KindKf:
		if ch.Kf == nil {
			log.Warn("worker: kf event but no kf secret configured for channel; dropped")
			return nil
		}
		return w.syncKf(ctx, ch, m.OpenKfID, m.Token, env.Received)
	case event.KindContact:
		return w.contactChange(ctx, ch, m)
	case event.KindAppMessage:
		return w.appMessage(ctx, ch, m, env.Received)
	case event.KindAppEvent:
		log.Info("worker: app event acknowledged", "event", m.Event)
		return nil
	default:
		log.Info("worker: unknown callback acknowledged and dropped", "msg_type", m.MsgType, "event", m.Event)
		return nil
	}
}

type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func (w *Worker) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return w.log
}

func (w *Worker) record(ctx context.Context, ev Event) {
	if w.cfg.Metrics == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = w.cfg.Now()
	}
	w.cfg.Metrics.Record(ctx, ev)
}

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// redact returns s as it may appear in the logs.
func (w *Worker) redact(s string) string {
	if w.cfg.Redact != nil {
		return w.cfg.Redact(s)
	}
	return fmt.Sprintf("[%d chars]", len([]rune(s)))
}
