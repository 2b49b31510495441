package emulator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"wecom-crm-bot/shared/domain"
)

// Hang is the errcode to pass to Inject to make calls hang instead of
// failing: the emulator holds the request until the client gives up (its
// context ends) or Config.HangTimeout passes, then answers HTTP 504 with
// errcode -1. Use it to exercise client timeouts.
const Hang = 0

// Config describes the emulated corp. Zero values take the defaults listed
// on each field; only CorpID, Token and EncodingAESKey are required.
type Config struct {
	// CorpID, Token and EncodingAESKey are the callback crypto settings of
	// the emulated corp (wecom-protocol.md §1.1).
	CorpID, Token, EncodingAESKey string
	// KfSecret, AppSecret and ContactSecret are the secrets gettoken
	// accepts (any of them; empty ones are ignored).
	KfSecret, AppSecret, ContactSecret string
	// AgentID is the self-built app's agent id; message/send must name it.
	AgentID string
	// OpenKfID is the emulated 微信客服 account. Default "wkDEMO".
	OpenKfID string
	// CallbackURL receives the encrypted kf_msg_or_event callbacks. Empty
	// means no callbacks are sent.
	CallbackURL string
	// AppCallbackURL receives app / external-contact event callbacks
	// (change_external_contact). Empty means those are not sent.
	AppCallbackURL string
	// WebhookKey, when set, is the only key webhook/send accepts; when empty
	// any non-empty key is accepted.
	WebhookKey string
	// TokenTTL is the access_token lifetime. Default 7200 s.
	TokenTTL time.Duration
	// CallbackTimeout is how long a callback receiver has to answer HTTP 200
	// before the attempt counts as failed. Default 5 s.
	CallbackTimeout time.Duration
	// RetryInterval is the pause between callback attempts. Default 5 s.
	RetryInterval time.Duration
	// Retries is how many times a failed callback is re-sent. Default 3;
	// negative means never.
	Retries int
	// HangTimeout bounds how long an injected Hang holds a request.
	// Default 30 s.
	HangTimeout time.Duration
	// HTTPClient posts callbacks. Default: a new http.Client.
	HTTPClient *http.Client
	// Clock tells the time. Default time.Now.
	Clock func() time.Time
	// Logger receives operational logs (never tokens or message bodies).
	// Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with every zero field set to its default. It is
// the one place defaults live.
func (cfg Config) withDefaults() Config {
	if cfg.OpenKfID == "" {
		cfg.OpenKfID = "wkDEMO"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	if cfg.CallbackTimeout <= 0 {
		cfg.CallbackTimeout = 5 * time.Second
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.HangTimeout <= 0 {
		cfg.HangTimeout = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg
}

// Stats counts what the emulator has seen since New.
type Stats struct {
	TokensIssued     int            `json:"tokens_issued"`     // access tokens handed out by gettoken
	GetTokenCalls    int            `json:"gettoken_calls"`    // calls to /cgi-bin/gettoken, including failed ones
	SyncMsgCalls     int            `json:"sync_msg_calls"`    // calls to /cgi-bin/kf/sync_msg
	SendMsgCalls     int            `json:"send_msg_calls"`    // calls to /cgi-bin/kf/send_msg
	CallbacksSent    int            `json:"callbacks_sent"`    // callbacks posted (first attempts)
	CallbacksRetried int            `json:"callbacks_retried"` // re-sent attempts after no 200 in time
	CallbacksFailed  int            `json:"callbacks_failed"`  // callbacks given up after all retries
	Injected         int            `json:"injected"`          // calls answered by an Inject rule
	Calls            map[string]int `json:"calls"`             // every request, by URL path
}

// Emulator is an in-memory WeCom server. It is safe for concurrent use.
// Create it with New and release it with Close.
type Emulator struct {
	cfg   Config
	log   *slog.Logger
	crypt sealer

	ctx    context.Context // cancelled by Close; bounds callback deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	tokens    map[string]time.Time // access_token → expiry
	cbTokens  map[string]time.Time // kf callback Token → expiry
	tickets   map[string]ticket    // "jsapi" / "agent_config"
	inject    map[string][]*rule
	kflog     []*kfMsg // the kf message log, in order
	customers map[string]*customer
	codes     map[string]*eventCode // welcome_code / msg_code for send_msg_on_event
	sent      map[string]string     // kf msgid → already sent (idempotency)
	contacts  map[string]*contact
	welcomes  map[string]*welcomeCode
	outbox    []Outbound
	hooks     map[string][]time.Time // webhook key → recent send times
	stats     Stats
}

type ticket struct {
	value   string
	expires time.Time
}

type rule struct {
	errcode   int
	remaining int
}

// New checks cfg, fills in defaults and returns a ready Emulator. It fails
// when CorpID or Token is empty or EncodingAESKey is not a valid 43-character
// key (the error then wraps domain.ErrConfig).
func New(cfg Config) (*Emulator, error) {
	cfg = cfg.withDefaults()
	if cfg.CorpID == "" || cfg.Token == "" {
		return nil, fmt.Errorf("emulator: CorpID and Token are required: %w", domain.ErrConfig)
	}
	crypt, err := newSealer(cfg.Token, cfg.EncodingAESKey, cfg.CorpID)
	if err != nil {
		return nil, fmt.Errorf("emulator: callback crypto: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Emulator{
		cfg:       cfg,
		log:       cfg.Logger,
		crypt:     crypt,
		ctx:       ctx,
		cancel:    cancel,
		tokens:    map[string]time.Time{},
		cbTokens:  map[string]time.Time{},
		tickets:   map[string]ticket{},
		inject:    map[string][]*rule{},
		customers: map[string]*customer{},
		codes:     map[string]*eventCode{},
		sent:      map[string]string{},
		contacts:  map[string]*contact{},
		welcomes:  map[string]*welcomeCode{},
		hooks:     map[string][]time.Time{},
		stats:     Stats{Calls: map[string]int{}},
	}, nil
}

// Close stops pending callback deliveries and waits for them to end.
func (e *Emulator) Close() error {
	e.cancel()
	e.wg.Wait()
	return nil
}

// Inject makes the next `times` calls to path (e.g. "/cgi-bin/kf/send_msg")
// answer errcode (-1, 45009, 42001, 40014, 95001, …) instead of being served.
// Errcode Hang (0) makes them hang instead (see Hang). Rules for the same
// path are used in the order they were added.
func (e *Emulator) Inject(path string, errcode int, times int) {
	if times <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inject[path] = append(e.inject[path], &rule{errcode: errcode, remaining: times})
}

// takeRule consumes one injected call for path, if any. Callers hold e.mu.
func (e *Emulator) takeRule(path string) (int, bool) {
	rules := e.inject[path]
	for len(rules) > 0 && rules[0].remaining <= 0 {
		rules = rules[1:]
	}
	e.inject[path] = rules
	if len(rules) == 0 {
		return 0, false
	}
	rules[0].remaining--
	e.stats.Injected++
	return rules[0].errcode, true
}

// Stats returns a snapshot of the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Calls = maps.Clone(e.stats.Calls)
	return s
}

// Outbox returns, in order, what was sent through the non-kf channels:
// app messages (message/send), external-contact welcome messages and group
// robot webhooks.
func (e *Emulator) Outbox() []Outbound {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Outbound(nil), e.outbox...)
}

// Handler serves the /cgi-bin/... API and the chat page under /emulator/.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/", e.serveAPI)
	mux.Handle("/emulator/", e.uiHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/emulator/", http.StatusFound)
			return
		}
		writeJSON(w, http.StatusNotFound, obj{"errcode": 404, "errmsg": "not found: " + r.URL.Path})
	})
	return mux
}

func (e *Emulator) now() time.Time { return e.cfg.Clock() }
