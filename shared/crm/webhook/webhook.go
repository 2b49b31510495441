package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// Header names of the contract.
const (
	HeaderTimestamp = "X-CRM-Timestamp"
	HeaderSignature = "X-CRM-Signature"
)

// MaxSkew is how far a request timestamp may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// Sign returns the X-CRM-Signature value for op and body at ts.
func Sign(secret string, ts int64, op string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s.", ts, op)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's timestamp and signature headers.
func Verify(secret string, now time.Time, op, tsHeader, sigHeader string, body []byte) error {
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad timestamp: %w", domain.ErrInvalid)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("webhook: timestamp outside ±%s: %w", MaxSkew, domain.ErrInvalid)
	}
	if !hmac.Equal([]byte(sigHeader), []byte(Sign(secret, ts, op, body))) {
		return fmt.Errorf("webhook: bad signature: %w", domain.ErrInvalid)
	}
	return nil
}

// Operation names (URL path suffixes).
const (
	OpFindContact    = "find_contact"
	OpCreateContact  = "create_contact"
	OpContext        = "context"
	OpUpsertNote     = "upsert_note"
	OpCreateTask     = "create_task"
	OpListTasks      = "list_tasks"
	OpCompleteTask   = "complete_task"
	OpSearchContacts = "search_contacts"
)

// Identity is the wire form of crm.Identity.
type Identity struct {
	ExternalUserID string   `json:"external_userid,omitempty"`
	UnionID        string   `json:"unionid,omitempty"`
	Name           string   `json:"name,omitempty"`
	Company        string   `json:"company,omitempty"`
	Phones         []string `json:"phones,omitempty"`
	FollowUserID   string   `json:"follow_userid,omitempty"`
}

type contactIDReq struct {
	ContactID string `json:"contact_id"`
}

type idReq struct {
	ID string `json:"id"`
}

type taskQuery struct {
	OwnerID   string    `json:"owner_id,omitempty"`
	ContactID string    `json:"contact_id,omitempty"`
	DueBefore time.Time `json:"due_before,omitzero"`
	Limit     int       `json:"limit,omitempty"`
}

type searchReq struct {
	Query string `json:"query"`
	Limit int    `json:"limit,omitempty"`
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// Client is the webhook adapter. It is safe for concurrent use.
type Client struct {
	base   string
	secret string
	hc     *http.Client
	now    func() time.Time
}

var _ crm.CRM = (*Client)(nil)

// Option configures New.
type Option func(*Client)

// WithHTTPClient sets the HTTP client. Default: 10 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithClock sets the clock used for timestamps. Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client posting to baseURL/{op}, signing with secret
// (CRM_WEBHOOK_URL and CRM_WEBHOOK_SECRET, read by the caller).
func New(baseURL, secret string, opts ...Option) (*Client, error) {
	if baseURL == "" || secret == "" {
		return nil, fmt.Errorf("webhook: URL and secret required: set CRM_WEBHOOK_URL and CRM_WEBHOOK_SECRET: %w", domain.ErrConfig)
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), secret: secret, hc: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func (c *Client) post(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("webhook: %s: encode: %w: %w", op, domain.ErrInvalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+op, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %s: %w: %w", op, domain.ErrConfig, err)
	}
	ts := c.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(c.secret, ts, op, body))
	resp, err := c.hc.Do(req)
	if err != nil {
		return crm.TransportError("webhook", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return crm.TransportError("webhook", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		_ = json.Unmarshal(b, &e) // a non-JSON error body leaves e empty
		ae := &crm.APIError{Vendor: "webhook", Op: op, Status: resp.StatusCode, Code: e.Error, Message: e.Message, Kind: crm.KindForStatus(resp.StatusCode)}
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			ae.Hint = "the receiver rejected the signature: check CRM_WEBHOOK_SECRET (and clock skew)"
		case http.StatusTooManyRequests:
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				ae.RetryAfter = time.Duration(s) * time.Second
			}
		}
		return ae
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("webhook: %s: decode response: %w: %w", op, domain.ErrUnavailable, err)
		}
	}
	return nil
}

func wireIdentity(id crm.Identity) Identity {
	return Identity{ExternalUserID: id.ExternalUserID, UnionID: id.UnionID, Name: id.Name, Company: id.Company, Phones: id.Phones, FollowUserID: id.FollowUserID}
}

// FindContact implements crm.CRM.
func (c *Client) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	var ct domain.Contact
	return ct, c.post(ctx, OpFindContact, wireIdentity(id), &ct)
}

// CreateContact implements crm.CRM.
func (c *Client) CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	var ct domain.Contact
	return ct, c.post(ctx, OpCreateContact, wireIdentity(id), &ct)
}

// Context implements crm.CRM.
func (c *Client) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	var cc domain.CustomerContext
	return cc, c.post(ctx, OpContext, contactIDReq{contactID}, &cc)
}

// UpsertNote implements crm.CRM.
func (c *Client) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	var out idReq
	return out.ID, c.post(ctx, OpUpsertNote, n, &out)
}

// CreateTask implements crm.CRM.
func (c *Client) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	var out domain.Task
	return out, c.post(ctx, OpCreateTask, t, &out)
}

// ListTasks implements crm.CRM.
func (c *Client) ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	var out struct {
		Tasks []domain.Task `json:"tasks"`
	}
	err := c.post(ctx, OpListTasks, taskQuery{q.OwnerID, q.ContactID, q.DueBefore, q.Limit}, &out)
	return out.Tasks, err
}

// CompleteTask implements crm.CRM.
func (c *Client) CompleteTask(ctx context.Context, id string) error {
	return c.post(ctx, OpCompleteTask, idReq{id}, nil)
}

// SearchContacts implements crm.CRM.
func (c *Client) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	var out struct {
		Contacts []domain.Contact `json:"contacts"`
	}
	err := c.post(ctx, OpSearchContacts, searchReq{query, limit}, &out)
	return out.Contacts, err
}

// Handler is the receiving side of the contract over any crm.CRM: it
// verifies signatures and dispatches to c. Mount it at the base URL.
type Handler struct {
	c      crm.CRM
	secret string
	now    func() time.Time
	logger *slog.Logger
}

// NewHandler returns a receiver for c. logger may be nil.
func NewHandler(c crm.CRM, secret string, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{c: c, secret: secret, now: time.Now, logger: logger}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusMethodNotAllowed, "invalid", "POST only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid", "read body")
		return
	}
	if err := Verify(h.secret, h.now(), op, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body); err != nil {
		writeErr(w, http.StatusUnauthorized, "unauthorized", "bad signature or timestamp")
		return
	}
	out, err := h.dispatch(r.Context(), op, body)
	if err != nil {
		status, code := statusFor(err)
		if status >= 500 {
			h.logger.ErrorContext(r.Context(), "crm webhook operation failed", "op", op, "err", err)
		}
		writeErr(w, status, code, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out) // client gone: nothing to do
}

func decode[T any](body []byte) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode request: %w: %w", domain.ErrInvalid, err)
	}
	return v, nil
}

func (h *Handler) dispatch(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case OpFindContact, OpCreateContact:
		id, err := decode[Identity](body)
		if err != nil {
			return nil, err
		}
		ci := crm.Identity{ExternalUserID: id.ExternalUserID, UnionID: id.UnionID, Name: id.Name, Company: id.Company, Phones: id.Phones, FollowUserID: id.FollowUserID}
		if op == OpFindContact {
			return h.c.FindContact(ctx, ci)
		}
		return h.c.CreateContact(ctx, ci)
	case OpContext:
		req, err := decode[contactIDReq](body)
		if err != nil {
			return nil, err
		}
		return h.c.Context(ctx, req.ContactID)
	case OpUpsertNote:
		n, err := decode[domain.Note](body)
		if err != nil {
			return nil, err
		}
		id, err := h.c.UpsertNote(ctx, n)
		return idReq{id}, err
	case OpCreateTask:
		t, err := decode[domain.Task](body)
		if err != nil {
			return nil, err
		}
		return h.c.CreateTask(ctx, t)
	case OpListTasks:
		q, err := decode[taskQuery](body)
		if err != nil {
			return nil, err
		}
		ts, err := h.c.ListTasks(ctx, crm.TaskQuery{OwnerID: q.OwnerID, ContactID: q.ContactID, DueBefore: q.DueBefore, Limit: q.Limit})
		return map[string][]domain.Task{"tasks": ts}, err
	case OpCompleteTask:
		req, err := decode[idReq](body)
		if err != nil {
			return nil, err
		}
		return struct{}{}, h.c.CompleteTask(ctx, req.ID)
	case OpSearchContacts:
		req, err := decode[searchReq](body)
		if err != nil {
			return nil, err
		}
		cs, err := h.c.SearchContacts(ctx, req.Query, req.Limit)
		return map[string][]domain.Contact{"contacts": cs}, err
	}
	return nil, fmt.Errorf("unknown operation %q: %w", op, domain.ErrNotFound)
}

func statusFor(err error) (int, string) {
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, domain.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, domain.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, domain.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	}
	return http.StatusServiceUnavailable, "unavailable"
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Message: msg}) // client gone: nothing to do
}
