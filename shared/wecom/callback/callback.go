package callback

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/wecom/event"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// Channel is one WeCom callback endpoint, served at /wecom/{Name}
// ("default" is also served at /wecom).
type Channel struct {
	Name           string
	CorpID         string // the receiveid checked after decryption
	Token          string
	EncodingAESKey string
}

// Claimer de-duplicates callbacks (store.Claims satisfies it).
type Claimer interface {
	// Claim creates key unless an unexpired claim exists and reports whether
	// this caller won.
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Unclaim releases key so that a retry can win it again.
	Unclaim(ctx context.Context, key string) error
}

// Envelope is what the handler publishes: the JSON body of queue.Message.
type Envelope struct {
	Key           string        // "cb:<channel>:<DedupeKey>", also the queue message ID
	Channel       string        // Channel.Name
	CorpID        string        // Channel.CorpID
	Received      time.Time     // when the callback arrived
	CorrelationID string        // random per callback; logged at every step
	Kind          string        // event.Kind.String(): app_message, app_event, kf, contact, unknown
	Message       event.Message // the decrypted callback
	Raw           string        `json:",omitempty"` // decrypted XML, kept only for Kind "unknown"
}

// Defaults for the options.
const (
	// DefaultClaimTTL is how long a callback's dedupe claim lives: far
	// longer than WeCom's retry window.
	DefaultClaimTTL = 24 * time.Hour
	// DefaultMaxBody is the largest POST body accepted (1 MiB).
	DefaultMaxBody = 1 << 20
)

// Option configures a Handler.
type Option func(*options)

type options struct {
	claimTTL       time.Duration
	maxBody        int64
	now            func() time.Time
	claimPublisher ClaimPublisher
}

func defaultOptions() options {
	return options{claimTTL: DefaultClaimTTL, maxBody: DefaultMaxBody, now: time.Now}
}

// ClaimPublisher claims the de-duplication key and queues the message in
// one atomic step (localq over a store that supports store.ClaimAdder). It
// reports false, and queues nothing, when the key was already claimed.
type ClaimPublisher interface {
	ClaimAndPublish(ctx context.Context, key string, ttl time.Duration, msg queue.Message) (bool, error)
}

// WithClaimPublisher makes the handler claim and publish in one atomic
// step through cp (one durable write per callback, nothing to release on
// failure) instead of Claim then Publish.
func WithClaimPublisher(cp ClaimPublisher) Option { return func(o *options) { o.claimPublisher = cp } }

// WithClaimTTL sets how long a callback's dedupe claim lives (default 24h).
func WithClaimTTL(d time.Duration) Option { return func(o *options) { o.claimTTL = d } }

// WithMaxBody sets the largest POST body accepted (default 1 MiB); larger
// bodies get 413.
func WithMaxBody(n int64) Option { return func(o *options) { o.maxBody = n } }

// WithClock sets the clock used for Envelope.Received (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

type channel struct {
	Channel
	crypter *wxcrypt.Crypter
}

// Handler serves WeCom callbacks for a set of channels. It is safe for
// concurrent use.
type Handler struct {
	channels map[string]*channel
	claims   Claimer
	pub      queue.Publisher
	log      *slog.Logger
	opts     options
}

// NewHandler validates channels and returns a Handler. A nil logger
// discards logs. Errors wrap domain.ErrConfig (empty or duplicate names,
// bad keys, missing claimer or publisher, non-positive options).
func NewHandler(channels []Channel, claims Claimer, pub queue.Publisher, logger *slog.Logger, opts ...Option) (*Handler, error) {
	h := &Handler{channels: make(map[string]*channel, len(channels)), claims: claims, pub: pub, log: logger, opts: defaultOptions()}
	for _, o := range opts {
		o(&h.opts)
	}
	if claims == nil || pub == nil {
		return nil, fmt.Errorf("callback: claimer and publisher are required: %w", domain.ErrConfig)
	}
	if h.opts.claimTTL <= 0 || h.opts.maxBody <= 0 || h.opts.now == nil {
		return nil, fmt.Errorf("callback: claim TTL, max body and clock must be set: %w", domain.ErrConfig)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if len(channels) == 0 {
		return nil, fmt.Errorf("callback: no channels: %w", domain.ErrConfig)
	}
	for _, c := range channels {
		if c.Name == "" || strings.Contains(c.Name, "/") {
			return nil, fmt.Errorf("callback: channel name %q: %w", c.Name, domain.ErrConfig)
		}
		if _, dup := h.channels[c.Name]; dup {
			return nil, fmt.Errorf("callback: duplicate channel %q: %w", c.Name, domain.ErrConfig)
		}
		cr, err := wxcrypt.New(c.Token, c.EncodingAESKey, c.CorpID)
		if err != nil {
			return nil, fmt.Errorf("callback: channel %q: %w", c.Name, err)
		}
		h.channels[c.Name] = &channel{Channel: c, crypter: cr}
	}
	return h, nil
}

// ServeHTTP routes /wecom and /wecom/{channel}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := channelName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	ch := h.channels[name]
	if ch == nil {
		http.NotFound(w, r)
		return
	}
	cid := correlationID()
	w.Header().Set("X-Correlation-ID", cid)
	switch r.Method {
	case http.MethodGet:
		h.verifyURL(w, r, ch, cid)
	case http.MethodPost:
		h.receive(w, r, ch, cid)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func channelName(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/wecom")
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return "default", true
	}
	name, ok := strings.CutPrefix(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

func correlationID() string {
	var b [8]byte
	v := rand.Uint64() // not a secret: a log correlation id
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// verifyURL answers WeCom's GET URL verification with the decrypted echostr.
func (h *Handler) verifyURL(w http.ResponseWriter, r *http.Request, ch *channel, cid string) {
	q := r.URL.Query()
	sig, ts, nonce, echo := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")
	if sig == "" || echo == "" {
		h.reject(r.Context(), w, ch, cid, http.StatusBadRequest, "missing query parameters", nil)
		return
	}
	if !ch.crypter.Verify(sig, ts, nonce, echo) {
		h.reject(r.Context(), w, ch, cid, http.StatusUnauthorized, "bad signature", nil)
		return
	}
	msg, err := ch.crypter.Decrypt(echo)
	if err != nil {
		h.reject(r.Context(), w, ch, cid, http.StatusBadRequest, "undecryptable echostr", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(msg); err != nil {
		h.logAttrs(r.Context(), slog.LevelWarn, "callback: write verify reply", ch, cid, slog.String("err", err.Error()))
		return
	}
	h.logAttrs(r.Context(), slog.LevelInfo, "callback: URL verified", ch, cid)
}

// receive handles an encrypted POST callback.
func (h *Handler) receive(w http.ResponseWriter, r *http.Request, ch *channel, cid string) {
	ctx := r.Context()
	body, err := h.readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(ctx, w, ch, cid, http.StatusRequestEntityTooLarge, "body too large", nil)
			return
		}
		h.reject(ctx, w, ch, cid, http.StatusBadRequest, "read body", err)
		return
	}
	q := r.URL.Query()
	env, err := event.ParseEncrypted(body)
	if err != nil {
		h.reject(ctx, w, ch, cid, http.StatusBadRequest, "malformed body", err)
		return
	}
	if !ch.crypter.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
		h.reject(ctx, w, ch, cid, http.StatusUnauthorized, "bad signature", nil)
		return
	}
	plain, err := ch.crypter.Decrypt(env.Encrypt)
	if err != nil {
		h.reject(ctx, w, ch, cid, http.StatusBadRequest, "undecryptable", err)
		return
	}
	msg, err := event.Parse(plain)
	if err != nil {
		h.reject(ctx, w, ch, cid, http.StatusBadRequest, "unparseable plaintext", err)
		return
	}
	kind := msg.Kind()
	key := "cb:" + ch.Name + ":" + msg.DedupeKey()
	e := Envelope{
		Key: key, Channel: ch.Name, CorpID: ch.CorpID, Received: h.opts.now(),
		CorrelationID: cid, Kind: kind.String(), Message: msg,
	}
	if kind == event.KindUnknown {
		e.Raw = string(plain)
	}
	payload, err := json.Marshal(e)
	if err != nil {
		h.reject(ctx, w, ch, cid, http.StatusServiceUnavailable, "encode envelope", err)
		return
	}
	qm := queue.Message{ID: key, Body: payload, Attributes: map[string]string{"correlation_id": cid}}
	if cp := h.opts.claimPublisher; cp != nil {
		// One atomic write: nothing to release when it fails.
		won, err := cp.ClaimAndPublish(ctx, key, h.opts.claimTTL, qm)
		switch {
		case err != nil:
			h.reject(ctx, w, ch, cid, http.StatusServiceUnavailable, "claim and publish failed", err)
		case !won:
			h.logMsg(ctx, "callback: duplicate", ch, cid, kind, &msg)
			ack(w)
		default:
			h.logMsg(ctx, "callback: enqueued", ch, cid, kind, &msg)
			ack(w)
		}
		return
	}
	won, err := h.claims.Claim(ctx, key, h.opts.claimTTL)
	if err != nil {
		h.reject(ctx, w, ch, cid, http.StatusServiceUnavailable, "claim failed", err)
		return
	}
	if !won {
		h.logMsg(ctx, "callback: duplicate", ch, cid, kind, &msg)
		ack(w)
		return
	}
	if err := h.pub.Publish(ctx, qm); err != nil {
		// Release the claim so WeCom's retry can succeed. The request may be
		// cancelled already; the release must still happen.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if uerr := h.claims.Unclaim(uctx, key); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unclaim: %w", uerr))
		}
		h.reject(ctx, w, ch, cid, http.StatusServiceUnavailable, "publish failed", err)
		return
	}
	h.logMsg(ctx, "callback: enqueued", ch, cid, kind, &msg)
	ack(w)
}

// readBody reads at most maxBody bytes, with a single allocation when the
// Content-Length is known.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.opts.maxBody {
		return nil, &http.MaxBytesError{Limit: h.opts.maxBody}
	}
	body := http.MaxBytesReader(w, r.Body, h.opts.maxBody)
	if r.ContentLength >= 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

func ack(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "success") // the client going away is not our error
}

// reject answers with status and logs why (never the body or any key).
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, ch *channel, cid string, status int, reason string, err error) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	if err != nil {
		h.logAttrs(ctx, level, "callback: rejected", ch, cid, slog.Int("status", status), slog.String("reason", reason), slog.String("err", err.Error()))
	} else {
		h.logAttrs(ctx, level, "callback: rejected", ch, cid, slog.Int("status", status), slog.String("reason", reason))
	}
	http.Error(w, http.StatusText(status), status)
}

// logAttrs logs with the correlation id, channel and corp id, building
// nothing when the level is disabled.
func (h *Handler) logAttrs(ctx context.Context, level slog.Level, msg string, ch *channel, cid string, extra ...slog.Attr) {
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{slog.String("correlation_id", cid), slog.String("channel", ch.Name), slog.String("corp_id", ch.CorpID)}, extra...)
	h.log.LogAttrs(ctx, level, msg, attrs...)
}

// logMsg logs the routing facts of a message: never its content.
func (h *Handler) logMsg(ctx context.Context, msg string, ch *channel, cid string, kind event.Kind, m *event.Message) {
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	h.logAttrs(ctx, slog.LevelInfo, msg, ch, cid, slog.String("kind", kind.String()), slog.String("msg_type", m.MsgType),
		slog.String("event", m.Event), slog.String("change_type", m.ChangeType))
}
