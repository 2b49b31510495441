package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// Config holds the connection settings, read by the caller from the
// SALESFORCE_* environment variables.
type Config struct {
	LoginURL     string // SALESFORCE_LOGIN_URL, e.g. https://acme.my.salesforce.com
	ClientID     string // SALESFORCE_CLIENT_ID
	ClientSecret string // SALESFORCE_CLIENT_SECRET
	RefreshToken string // SALESFORCE_REFRESH_TOKEN; empty: client-credentials flow
	APIVersion   string // default "v59.0"
	// HTTPClient defaults to one with a 10 s timeout.
	HTTPClient *http.Client
	// Owners maps Salesforce user ids (005…) to WeCom userids.
	Owners map[string]string
}

// Client is the Salesforce adapter. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client

	mu       sync.Mutex
	token    string
	instance string
}

var _ crm.CRM = (*Client)(nil)

// New validates cfg and returns a client; the first call fetches a token.
func New(cfg Config) (*Client, error) {
	var missing []string
	for _, f := range []struct{ v, name string }{{cfg.LoginURL, "SALESFORCE_LOGIN_URL"}, {cfg.ClientID, "SALESFORCE_CLIENT_ID"}, {cfg.ClientSecret, "SALESFORCE_CLIENT_SECRET"}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("salesforce: set %s: %w", strings.Join(missing, ", "), domain.ErrConfig)
	}
	if u, err := url.Parse(cfg.LoginURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("salesforce: SALESFORCE_LOGIN_URL %q is not a URL: %w", cfg.LoginURL, domain.ErrConfig)
	}
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	if cfg.APIVersion == "" {
		cfg.APIVersion = "v59.0"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, hc: hc}, nil
}

func (c *Client) credentialVars() string {
	if c.cfg.RefreshToken != "" {
		return "SALESFORCE_REFRESH_TOKEN, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET"
	}
	return "SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET (and the run-as user of the client-credentials flow)"
}

// session returns the current token, fetching one if needed. stale is a
// token known to be expired: it is replaced unless another caller already
// refreshed it.
func (c *Client) session(ctx context.Context, stale string) (token, instance string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale {
		return c.token, c.instance, nil
	}
	form := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}}
	if c.cfg.RefreshToken != "" {
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", c.cfg.RefreshToken)
	} else {
		form.Set("grant_type", "client_credentials")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.LoginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", fmt.Errorf("salesforce: token: %w: %w", domain.ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", "", crm.TransportError("salesforce", "token", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", crm.TransportError("salesforce", "token", err)
	}
	var tr tokenResponse
	_ = json.Unmarshal(b, &tr) // a non-JSON body leaves tr empty and is handled below
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		ae := &crm.APIError{Vendor: "salesforce", Op: "POST /services/oauth2/token", Status: resp.StatusCode,
			Code: tr.Error, Message: tr.ErrorDescription, Kind: crm.KindForStatus(resp.StatusCode)}
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			ae.Kind = domain.ErrConfig
			ae.Hint = "fix " + c.credentialVars()
		}
		if resp.StatusCode == http.StatusOK {
			ae.Kind, ae.Message = domain.ErrUnavailable, "no access_token in response"
		}
		return "", "", ae
	}
	if tr.InstanceURL == "" {
		tr.InstanceURL = c.cfg.LoginURL
	}
	c.token, c.instance = tr.AccessToken, strings.TrimRight(tr.InstanceURL, "/")
	return c.token, c.instance, nil
}

// call is one REST request relative to /services/data/{version}.
type call struct {
	method string
	path   string // escaped, with leading slash
	query  url.Values
	body   any
	ok     []int
}

// do performs cl, refreshing the session once on 401 INVALID_SESSION_ID,
// and returns the status and body of a successful response.
func (c *Client) do(ctx context.Context, cl call) (int, []byte, error) {
	op := cl.method + " " + cl.path
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return 0, nil, fmt.Errorf("salesforce: %s: encode: %w: %w", op, domain.ErrInvalid, err)
		}
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		token, instance, err := c.session(ctx, stale)
		if err != nil {
			return 0, nil, err
		}
		u := instance + "/services/data/" + c.cfg.APIVersion + cl.path
		if len(cl.query) > 0 {
			u += "?" + cl.query.Encode()
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
		if err != nil {
			return 0, nil, fmt.Errorf("salesforce: %s: %w: %w", op, domain.ErrInvalid, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return 0, nil, crm.TransportError("salesforce", op, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return 0, nil, crm.TransportError("salesforce", op, err)
		}
		ok := cl.ok
		if len(ok) == 0 {
			ok = []int{http.StatusOK}
		}
		for _, s := range ok {
			if resp.StatusCode == s {
				return s, b, nil
			}
		}
		errs := decodeErrors(b)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			stale = token
			continue
		}
		return resp.StatusCode, nil, c.apiError(op, resp.StatusCode, errs)
	}
}

func (c *Client) apiError(op string, status int, errs []sfError) error {
	ae := &crm.APIError{Vendor: "salesforce", Op: op, Status: status, Kind: crm.KindForStatus(status)}
	if len(errs) > 0 {
		ae.Code, ae.Message = errs[0].ErrorCode, errs[0].Message
		if len(ae.Message) > 300 {
			ae.Message = ae.Message[:300] + "…"
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		ae.Hint = "the session was rejected even after a refresh: fix " + c.credentialVars()
	case status == http.StatusForbidden && ae.Code == "REQUEST_LIMIT_EXCEEDED":
		ae.Kind = domain.ErrRateLimited
		ae.Policy = "org 24h API request limit"
	case status == http.StatusForbidden:
		ae.Hint = "insufficient access: grant the integration user access to Contact, Task, Opportunity (" + c.credentialVars() + ")"
	}
	return ae
}

func (c *Client) query(ctx context.Context, soql string) ([]record, error) {
	_, b, err := c.do(ctx, call{method: http.MethodGet, path: "/query", query: url.Values{"q": {soql}}})
	if err != nil {
		return nil, err
	}
	q, err := decodeQuery(b)
	if err != nil {
		return nil, fmt.Errorf("salesforce: query: %w: %w", domain.ErrUnavailable, err)
	}
	return q.Records, nil
}

// upsert PATCHes an sObject by external id and returns its record id.
func (c *Client) upsert(ctx context.Context, object, field, value string, fields map[string]any) (string, error) {
	path := "/sobjects/" + object + "/" + field + "/" + url.PathEscape(value)
	status, b, err := c.do(ctx, call{method: http.MethodPatch, path: path, body: fields,
		ok: []int{http.StatusCreated, http.StatusOK, http.StatusNoContent}})
	if err != nil {
		return "", err
	}
	if status != http.StatusNoContent {
		var r upsertResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return "", fmt.Errorf("salesforce: upsert %s: decode: %w: %w", object, domain.ErrUnavailable, err)
		}
		if r.ID != "" {
			return r.ID, nil
		}
	}
	// 204 (older API versions) carries no body: look the id up.
	recs, err := c.query(ctx, "SELECT Id FROM "+object+" WHERE "+field+" = "+soqlString(value)+" LIMIT 1")
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("salesforce: upsert %s: record vanished: %w", object, domain.ErrUnavailable)
	}
	return recs[0].str("Id"), nil
}

// errNotFoundID is returned for ids that cannot be Salesforce ids.
func errNotFoundID(op, id string) error {
	return fmt.Errorf("salesforce: %s %q: not a record id: %w", op, id, domain.ErrNotFound)
}
