package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/store"
)

//go:embed web
var webFS embed.FS

// ErrNoToken is returned by New when no admin token is configured.
var ErrNoToken = errors.New("admin: ADMIN_TOKEN is not set; the admin console refuses to start without it")

// Records is the part of the store the admin keeps its audit log and reads
// the raw knowledge file from.
type Records interface {
	Get(ctx context.Context, key string) (store.Record, error)
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
}

// Knowledge is the live knowledge version (bot.KnowledgeSource).
type Knowledge interface {
	Current(ctx context.Context) (*bot.Knowledge, int64, error)
	Publish(ctx context.Context, data []byte) (int64, error)
}

// Reports is the analytics query side (analytics.Query).
type Reports interface {
	Report(ctx context.Context, r analytics.Range) (analytics.Report, error)
	Unanswered(ctx context.Context, r analytics.Range) ([]analytics.Group, error)
	Events(ctx context.Context, r analytics.Range, kind string) ([]analytics.RawEvent, error)
}

// PreviewFunc answers one message with a given knowledge version, the way
// the bot would (without side effects worth mentioning: no reply is sent).
type PreviewFunc func(ctx context.Context, kb *bot.Knowledge, in bot.Input) (bot.Output, error)

// Config holds the admin's dependencies.
type Config struct {
	Token        string // ADMIN_TOKEN (required)
	Records      Records
	Outbox       notes.Outbox // dead letters and replay
	DeadTopics   []string     // outbox topics whose dead letters can be listed and replayed
	Knowledge    Knowledge
	KnowledgeKey string // record key of the live knowledge file; default bot.DefaultKnowledgeKey
	Reports      Reports
	Preview      PreviewFunc
	Sidebar      http.Handler // optional, mounted at /sidebar/ without admin auth (it has its own)
	Channels     []string     // channel names for the dashboard filter
	Retention    time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	SessionTTL   time.Duration // default 12 h
}

// Handler serves /admin/… (and /sidebar/… when configured).
type Handler struct {
	cfg        Config
	key        []byte
	mux        *http.ServeMux
	log        *slog.Logger
	now        func() time.Time
	sessionTTL time.Duration
	pages      map[string]string
	static     http.Handler
}

// New returns the admin handler; ErrNoToken when cfg.Token is empty.
func New(cfg Config) (*Handler, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, ErrNoToken
	}
	if len(cfg.Token) < 12 {
		return nil, fmt.Errorf("admin: ADMIN_TOKEN is shorter than 12 characters: %w", domain.ErrInvalid)
	}
	if cfg.Records == nil || cfg.Knowledge == nil || cfg.Reports == nil || cfg.Outbox == nil {
		return nil, fmt.Errorf("admin: Records, Knowledge, Reports and Outbox are required: %w", domain.ErrInvalid)
	}
	if cfg.KnowledgeKey == "" {
		cfg.KnowledgeKey = bot.DefaultKnowledgeKey
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, sessionTTL: cfg.SessionTTL}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.sessionTTL <= 0 {
		h.sessionTTL = 12 * time.Hour
	}
	k := hmac.New(sha256.New, []byte(cfg.Token))
	k.Write([]byte("wecom-crm-bot admin session key v1"))
	h.key = k.Sum(nil)
	var err error
	if h.pages, err = loadPages(); err != nil {
		return nil, fmt.Errorf("admin: templates: %w", err)
	}
	sub, _ := fs.Sub(webFS, "web/static")
	h.static = http.StripPrefix("/admin/static/", http.FileServerFS(sub))
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /admin/login", h.loginPage)
	m.HandleFunc("POST /admin/login", h.login)
	m.Handle("GET /admin/static/", h.static)
	if h.cfg.Sidebar != nil {
		m.Handle("/sidebar/", h.cfg.Sidebar)
	}
	auth := func(pattern string, f func(http.ResponseWriter, *http.Request, principal)) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, ok := h.authenticate(r)
			if !ok {
				h.unauthorized(w, r)
				return
			}
			if !safeMethod(r.Method) && !csrfOK(r, p) {
				writeErr(w, http.StatusForbidden, "missing or wrong CSRF token")
				return
			}
			f(w, r, p)
		})
	}
	auth("GET /admin", func(w http.ResponseWriter, r *http.Request, _ principal) {
		http.Redirect(w, r, "/admin/", http.StatusFound)
	})
	auth("GET /admin/{$}", h.console)
	auth("POST /admin/logout", h.logout)
	auth("GET /admin/api/me", h.me)
	auth("GET /admin/api/report", h.report)
	auth("GET /admin/api/unanswered", h.unanswered)
	auth("POST /admin/api/unanswered/faq", h.unansweredToFAQ)
	auth("GET /admin/api/knowledge", h.getKnowledge)
	auth("POST /admin/api/knowledge/validate", h.validateKnowledge)
	auth("PUT /admin/api/knowledge", h.putKnowledge)
	auth("POST /admin/api/preview", h.preview)
	auth("GET /admin/api/export/{file}", h.export)
	auth("GET /admin/api/deadletters", h.deadLetters)
	auth("POST /admin/api/deadletters/replay", h.replay)
	auth("GET /admin/api/audit", h.audit)
	// Everything else under /admin answers only after authentication too.
	auth("/admin/", func(w http.ResponseWriter, r *http.Request, _ principal) { http.NotFound(w, r) })
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/admin") {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/admin/api/") || !safeMethod(r.Method) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
		writeErr(w, http.StatusUnauthorized, "authentication required")
		return
	}
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "login.html", page{})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	// Cross-site login attempts are refused (login CSRF).
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		writeErr(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	if user == "" {
		user = "admin"
	}
	if len([]rune(user)) > 64 {
		user = string([]rune(user)[:64])
	}
	if !h.tokenOK(r.PostFormValue("token")) {
		h.log.Warn("admin: failed login")
		h.render(w, http.StatusUnauthorized, "login.html", page{Error: "Wrong token.", User: user})
		return
	}
	v, _ := h.newSession(user)
	h.setSession(w, r, v, h.sessionTTL)
	h.auditWrite(r.Context(), user, "login", "")
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func sameOrigin(origin string, r *http.Request) bool {
	_, rest, ok := strings.Cut(origin, "://")
	return ok && rest == r.Host
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p principal) {
	h.setSession(w, r, "", -time.Second)
	h.auditWrite(r.Context(), p.who, "logout", "")
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (h *Handler) console(w http.ResponseWriter, r *http.Request, p principal) {
	h.render(w, http.StatusOK, "index.html", page{User: p.who, CSRF: p.csrf, Channels: h.cfg.Channels})
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p principal) {
	writeJSON(w, http.StatusOK, map[string]any{"user": p.who, "csrf": p.csrf, "channels": h.cfg.Channels})
}

// page is what the two server-rendered pages show; everything else is
// drawn by the console's script from the JSON API.
type page struct {
	User, CSRF, Error string
	Channels          []string
}

// loadPages reads the embedded HTML pages. They are filled by plain,
// HTML-escaping substitution rather than html/template: template execution
// looks methods up by name through reflection, which makes the linker keep
// every exported method in the binary (megabytes, for the admin function).
func loadPages() (map[string]string, error) {
	pages := map[string]string{}
	for _, name := range []string{"index.html", "login.html"} {
		b, err := webFS.ReadFile("web/" + name)
		if err != nil {
			return nil, err
		}
		pages[name] = string(b)
	}
	return pages, nil
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	var opts, errBlock strings.Builder
	for _, ch := range p.Channels {
		c := html.EscapeString(ch)
		fmt.Fprintf(&opts, `<option value="%s">%s</option>`, c, c)
	}
	if p.Error != "" {
		fmt.Fprintf(&errBlock, `<p class="error" id="login-error">%s</p>`, html.EscapeString(p.Error))
	}
	out := strings.NewReplacer(
		"%%CSRF%%", html.EscapeString(p.CSRF),
		"%%USER%%", html.EscapeString(p.User),
		"%%CHANNEL_OPTIONS%%", opts.String(),
		"%%ERROR%%", errBlock.String(),
	).Replace(h.pages[name])
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if _, err := io.WriteString(w, out); err != nil {
		h.log.Debug("admin: render", "page", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// statusOf maps domain errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, domain.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, domain.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, domain.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
