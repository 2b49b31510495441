package sidebar

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot/zhdate"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
)

//go:embed web
var webFS embed.FS

// Tickets signs JS-SDK pages (wecom.Client).
type Tickets interface {
	JSAPITicket(ctx context.Context) (string, error)
	AgentConfigTicket(ctx context.Context) (string, error)
}

// Identity turns an OAuth2 code into a member userid (OAuth).
type Identity interface {
	UserID(ctx context.Context, code string) (string, error)
}

// Contacts reads an external contact with its follow users (wecom.Client).
type Contacts interface {
	GetExternalContact(ctx context.Context, externalUserID string) (wecom.ExternalContact, error)
}

// Owners maps a WeCom userid to the rep's CRM owner id (staff.Owners).
type Owners interface {
	OwnerID(ctx context.Context, userID string) (string, error)
}

// Config holds the sidebar's dependencies.
type Config struct {
	CorpID   string
	AgentID  string
	Tickets  Tickets
	Identity Identity
	// Contacts, when set, checks that the rep follows the client.
	Contacts Contacts
	CRM      crm.CRM
	Owners   Owners
	// SessionKey signs session cookies and CSRF tokens (at least 32 bytes).
	SessionKey []byte
	// Prefix is where the handler is mounted. Default "/sidebar/".
	Prefix string
	// AuthorizeURL is WeCom's OAuth2 page. Default
	// https://open.weixin.qq.com/connect/oauth2/authorize.
	AuthorizeURL string
	SessionTTL   time.Duration // default 8 h
	Location     *time.Location
	Now          func() time.Time
	Logger       *slog.Logger
}

// Handler serves the page and its API.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

const cookieName = "sidebar_session"

// New checks cfg and builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Tickets == nil || cfg.Identity == nil || cfg.CRM == nil || cfg.CorpID == "" || cfg.AgentID == "" {
		return nil, fmt.Errorf("sidebar: CorpID, AgentID, Tickets, Identity and CRM are required: %w", domain.ErrConfig)
	}
	if len(cfg.SessionKey) < 32 {
		return nil, fmt.Errorf("sidebar: session key must have at least 32 bytes: %w", domain.ErrConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/sidebar/"
	}
	if cfg.AuthorizeURL == "" {
		cfg.AuthorizeURL = "https://open.weixin.qq.com/connect/oauth2/authorize"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	static, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	p := cfg.Prefix
	h.mux.HandleFunc("GET "+p+"{$}", h.page)
	h.mux.Handle("GET "+p+"assets/", http.StripPrefix(p+"assets/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET "+p+"api/config", h.authed(h.jsConfig))
	h.mux.HandleFunc("GET "+p+"api/contact", h.authed(h.contact))
	h.mux.HandleFunc("POST "+p+"api/note", h.authed(h.csrf(h.addNote)))
	h.mux.HandleFunc("POST "+p+"api/task", h.authed(h.csrf(h.addTask)))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// --- sessions ---

func (h *Handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.cfg.SessionKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

func (h *Handler) newSession(userID string) string {
	exp := strconv.FormatInt(h.cfg.Now().Add(h.cfg.SessionTTL).Unix(), 10)
	payload := base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + exp
	return payload + "." + h.mac("session", payload)
}

// session returns the userid of a valid session cookie.
func (h *Handler) session(r *http.Request) (userID, token string, ok bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return "", "", false
	}
	payload := parts[0] + "." + parts[1]
	if !hmac.Equal([]byte(parts[2]), []byte(h.mac("session", payload))) {
		return "", "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || h.cfg.Now().Unix() >= exp {
		return "", "", false
	}
	u, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || len(u) == 0 {
		return "", "", false
	}
	return string(u), c.Value, true
}

func (h *Handler) csrfToken(session string) string { return h.mac("csrf", session)[:32] }

type authedFunc func(w http.ResponseWriter, r *http.Request, userID, session string)

func (h *Handler) authed(next authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, ok := h.session(r)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no session: open the sidebar from WeCom"})
			return
		}
		next(w, r, u, s)
	}
}

func (h *Handler) csrf(next authedFunc) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, userID, session string) {
		if !hmac.Equal([]byte(r.Header.Get("X-CSRF-Token")), []byte(h.csrfToken(session))) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "bad CSRF token"})
			return
		}
		next(w, r, userID, session)
	}
}

// --- page ---

// publicURL is the URL the browser used (behind API gateways too).
func publicURL(r *http.Request) *url.URL {
	u := *r.URL
	u.Host = r.Host
	u.Scheme = "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		u.Scheme = "https"
	}
	return &u
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code := q.Get("code"); code != "" {
		userID, err := h.cfg.Identity.UserID(r.Context(), code)
		if err != nil {
			h.cfg.Logger.WarnContext(r.Context(), "sidebar: OAuth code refused", "err", err)
			status := http.StatusUnauthorized
			if domain.Retryable(err) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, "身份验证失败，请从企业微信重新打开侧边栏。", status)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.newSession(userID), Path: h.cfg.Prefix,
			HttpOnly: true, Secure: publicURL(r).Scheme == "https", SameSite: http.SameSiteLaxMode, MaxAge: int(h.cfg.SessionTTL.Seconds())})
		q.Del("code")
		q.Del("state")
		target := h.cfg.Prefix
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	if _, _, ok := h.session(r); !ok {
		self := publicURL(r)
		aq := url.Values{"appid": {h.cfg.CorpID}, "redirect_uri": {self.String()}, "response_type": {"code"},
			"scope": {"snsapi_base"}, "state": {"sidebar"}, "agentid": {h.cfg.AgentID}}
		http.Redirect(w, r, h.cfg.AuthorizeURL+"?"+aq.Encode()+"#wechat_redirect", http.StatusFound)
		return
	}
	b, err := webFS.ReadFile("web/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' https://res.wx.qq.com https://open.work.weixin.qq.com; style-src 'self'; img-src 'self' data:; frame-ancestors 'self' https://*.qq.com")
	w.Write(b)
}

// --- API ---

func nonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *Handler) jsConfig(w http.ResponseWriter, r *http.Request, userID, session string) {
	pageURL := r.URL.Query().Get("url")
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != r.Host {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "url must be this page's URL"})
		return
	}
	ctx := r.Context()
	corpTicket, err := h.cfg.Tickets.JSAPITicket(ctx)
	if err != nil {
		h.fail(w, r, "jsapi_ticket", err)
		return
	}
	agentTicket, err := h.cfg.Tickets.AgentConfigTicket(ctx)
	if err != nil {
		h.fail(w, r, "agent_config ticket", err)
		return
	}
	ts, n := strconv.FormatInt(h.cfg.Now().Unix(), 10), nonce()
	writeJSON(w, http.StatusOK, map[string]string{
		"corpid": h.cfg.CorpID, "agentid": h.cfg.AgentID, "timestamp": ts, "nonceStr": n,
		"signature":      wecom.JSSDKSignature(corpTicket, n, ts, pageURL),
		"agentSignature": wecom.JSSDKSignature(agentTicket, n, ts, pageURL),
		"csrf":           h.csrfToken(session), "userid": userID,
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.cfg.Logger.WarnContext(r.Context(), "sidebar: "+what+" failed", "err", err)
	status, msg := http.StatusBadGateway, "CRM 或企业微信暂时无法访问，请稍后重试。"
	switch {
	case errors.Is(err, domain.ErrNotFound):
		status, msg = http.StatusNotFound, "没有找到。"
	case errors.Is(err, domain.ErrInvalid):
		status, msg = http.StatusBadRequest, "请求无效。"
	case errors.Is(err, domain.ErrConfig):
		status, msg = http.StatusInternalServerError, "配置有误，请联系管理员。"
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func validExternalID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// resolve finds the CRM contact of the current chat, after checking that
// the rep follows the client (when a contact API is configured).
func (h *Handler) resolve(ctx context.Context, userID, externalID string) (domain.Contact, string, error) {
	if !validExternalID(externalID) {
		return domain.Contact{}, "", fmt.Errorf("sidebar: external_userid: %w", domain.ErrInvalid)
	}
	name := ""
	id := crm.Identity{ExternalUserID: externalID, FollowUserID: userID}
	if h.cfg.Contacts != nil {
		ec, err := h.cfg.Contacts.GetExternalContact(ctx, externalID)
		if err != nil {
			return domain.Contact{}, "", err
		}
		if !slices.ContainsFunc(ec.FollowUsers, func(f wecom.FollowUser) bool { return f.UserID == userID }) {
			return domain.Contact{}, "", errForbidden
		}
		name, id.Name, id.UnionID = ec.Name, ec.Name, ec.UnionID
		for _, f := range ec.FollowUsers {
			if f.UserID == userID {
				id.Phones, id.Company = f.RemarkMobiles, f.RemarkCorpName
				if f.Remark != "" {
					id.Name = f.Remark
				}
			}
		}
	}
	c, err := h.cfg.CRM.FindContact(ctx, id)
	return c, name, err
}

var errForbidden = errors.New("sidebar: the rep does not follow this client")

type contactView struct {
	Found     bool           `json:"found"`
	WeComName string         `json:"wecom_name,omitempty"`
	Contact   domain.Contact `json:"contact"`
	Deals     []domain.Deal  `json:"deals"`
	Notes     []viewNote     `json:"notes"`
	Tasks     []viewTask     `json:"tasks"`
	Problem   string         `json:"problem,omitempty"`
}

type viewNote struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	At    string `json:"at"`
}

type viewTask struct {
	Subject string `json:"subject"`
	Due     string `json:"due"`
	Overdue bool   `json:"overdue"`
}

func (h *Handler) contact(w http.ResponseWriter, r *http.Request, userID, _ string) {
	ctx := r.Context()
	ext := r.URL.Query().Get("external_userid")
	c, name, err := h.resolve(ctx, userID, ext)
	if errors.Is(err, errForbidden) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "你不是这位客户的跟进人。"})
		return
	}
	if errors.Is(err, domain.ErrNotFound) {
		writeJSON(w, http.StatusOK, contactView{Found: false, WeComName: name})
		return
	}
	if err != nil {
		h.fail(w, r, "contact", err)
		return
	}
	cc, err := h.cfg.CRM.Context(ctx, c.ID)
	if err != nil {
		h.fail(w, r, "context", err)
		return
	}
	now := h.cfg.Now()
	v := contactView{Found: true, WeComName: name, Contact: cc.Contact, Deals: cc.Deals, Notes: []viewNote{}, Tasks: []viewTask{}}
	if v.Deals == nil {
		v.Deals = []domain.Deal{}
	}
	for i, n := range cc.Notes {
		if i == 5 {
			break
		}
		v.Notes = append(v.Notes, viewNote{n.Title, n.Body, n.At.In(h.cfg.Location).Format("2006-01-02 15:04")})
	}
	for _, t := range cc.Tasks {
		if !t.Done {
			v.Tasks = append(v.Tasks, viewTask{t.Subject, t.Due.In(h.cfg.Location).Format("2006-01-02 15:04"), t.Due.Before(now)})
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("sidebar: body: %w", domain.ErrInvalid)
	}
	return nil
}

func (h *Handler) addNote(w http.ResponseWriter, r *http.Request, userID, _ string) {
	var in struct {
		ExternalUserID string `json:"external_userid"`
		Text           string `json:"text"`
	}
	if err := decode(r, &in); err != nil || strings.TrimSpace(in.Text) == "" || len([]rune(in.Text)) > 2000 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "备注不能为空，且不超过 2000 字。"})
		return
	}
	ctx := r.Context()
	c, _, err := h.resolve(ctx, userID, in.ExternalUserID)
	if err != nil {
		h.writeResolveErr(w, r, err)
		return
	}
	now := h.cfg.Now()
	owner, _ := h.ownerOf(ctx, userID)
	n := domain.Note{Key: "sidebar:" + userID + ":" + nonce(), ContactID: c.ID, OwnerID: owner,
		Title: "侧边栏备注（" + userID + "）", Body: strings.TrimSpace(in.Text), At: now}
	id, err := h.cfg.CRM.UpsertNote(ctx, n)
	if err != nil {
		h.fail(w, r, "note", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (h *Handler) ownerOf(ctx context.Context, userID string) (string, error) {
	if h.cfg.Owners == nil {
		return "", nil
	}
	return h.cfg.Owners.OwnerID(ctx, userID)
}

func (h *Handler) writeResolveErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errForbidden):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "你不是这位客户的跟进人。"})
	case errors.Is(err, domain.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "CRM 中还没有这位客户。"})
	default:
		h.fail(w, r, "resolve", err)
	}
}

func (h *Handler) addTask(w http.ResponseWriter, r *http.Request, userID, _ string) {
	var in struct {
		ExternalUserID string `json:"external_userid"`
		Subject        string `json:"subject"`
		Due            string `json:"due"` // 2006-01-02T15:04 (datetime-local) or Chinese (明天下午3点)
	}
	if err := decode(r, &in); err != nil || strings.TrimSpace(in.Subject) == "" || len([]rune(in.Subject)) > 200 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "任务内容不能为空，且不超过 200 字。"})
		return
	}
	now := h.cfg.Now()
	due, err := time.ParseInLocation("2006-01-02T15:04", in.Due, h.cfg.Location)
	if err != nil {
		var ok bool
		if due, ok = zhdate.Parse(in.Due, now, h.cfg.Location); !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "没看懂截止时间。"})
			return
		}
	}
	if !due.After(now) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "截止时间已经过去了。"})
		return
	}
	ctx := r.Context()
	c, _, err := h.resolve(ctx, userID, in.ExternalUserID)
	if err != nil {
		h.writeResolveErr(w, r, err)
		return
	}
	owner, err := h.ownerOf(ctx, userID)
	if err != nil {
		h.fail(w, r, "owner", err)
		return
	}
	subject := strings.TrimSpace(in.Subject)
	t, err := h.cfg.CRM.CreateTask(ctx, domain.Task{
		Key:       "sidebar:" + h.mac("task", userID, c.ID, subject, strconv.FormatInt(due.Unix(), 10))[:24],
		ContactID: c.ID, OwnerID: owner, OwnerUserID: userID, Subject: subject, Due: due,
	})
	if err != nil {
		h.fail(w, r, "task", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": t.ID, "due": due.In(h.cfg.Location).Format("2006-01-02 15:04")})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
