package wecom

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// DefaultBaseURL is the WeCom API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// maxResponseBytes bounds how much of a response body is read (a full
// sync_msg page of 1000 messages fits comfortably).
const maxResponseBytes = 16 << 20

// TokenStore is the shared cache for access tokens and JS-SDK tickets.
// store.Store satisfies it.
type TokenStore interface {
	// Get returns store.ErrNotFound for an absent or expired key.
	Get(ctx context.Context, key string) (store.Record, error)
	// Put stores value if the current version equals version (0: absent).
	Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error)
	// Acquire takes the named lease for owner.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Release frees a lease held by owner.
	Release(ctx context.Context, name, owner string) error
}

// Option configures a Client or a Webhook.
type Option func(*options)

type options struct {
	baseURL    string
	httpClient *http.Client
	store      TokenStore
	logger     *slog.Logger
	now        func() time.Time
	retryMax   int
	waitMin    time.Duration
	waitMax    time.Duration

	refreshBefore time.Duration // refresh tokens this long before expiry
	leaseTTL      time.Duration // cross-instance refresh lease
	pollEvery     time.Duration // how often lease losers look for the new token
	pollFor       time.Duration // how long lease losers wait before fetching themselves
	failFor       time.Duration // how long a gettoken config error is remembered
}

func defaultOptions() options {
	return options{
		baseURL:       DefaultBaseURL,
		httpClient:    &http.Client{Timeout: 15 * time.Second},
		logger:        slog.New(slog.DiscardHandler),
		now:           time.Now,
		retryMax:      3,
		waitMin:       200 * time.Millisecond,
		waitMax:       3 * time.Second,
		refreshBefore: 5 * time.Minute,
		leaseTTL:      10 * time.Second,
		pollEvery:     50 * time.Millisecond,
		pollFor:       3 * time.Second,
		failFor:       30 * time.Second,
	}
}

// WithBaseURL points the client at another API host (an emulator or a test
// server). The default is DefaultBaseURL.
func WithBaseURL(u string) Option {
	return func(o *options) { o.baseURL = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the underlying HTTP client (default: 15 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTokenStore shares access tokens and tickets through s across Clients and
// function instances. Without it tokens are cached in-process only.
func WithTokenStore(s TokenStore) Option { return func(o *options) { o.store = s } }

// WithLogger sets the logger (default: discard). Tokens, secrets and message
// bodies are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock used for token expiry (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRetry sets the number of retries after the first attempt and the
// backoff bounds (defaults: 3, 200 ms, 3 s). Errcode -1 is tried at most 3
// times in total whatever max says.
func WithRetry(max int, minWait, maxWait time.Duration) Option {
	return func(o *options) { o.retryMax, o.waitMin, o.waitMax = max, minWait, maxWait }
}

// Client calls the WeCom API with one app credential (corpID, secret). It is
// safe for concurrent use; build one per credential per process and reuse it.
type Client struct {
	corpID string
	secret string
	opts   options
	http   *retryablehttp.Client
	log    *slog.Logger

	token       *cache
	jsapiTicket *cache
	agentTicket *cache
}

// New returns a Client for the app credential (corpID, secret).
func New(corpID, secret string, opts ...Option) *Client {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{corpID: corpID, secret: secret, opts: o, log: o.logger}
	c.http = newRetryClient(&c.opts)
	sum := sha256.Sum256([]byte(secret))
	suffix := corpID + ":" + hex.EncodeToString(sum[:8])
	owner := randomID()
	c.token = newCache(&c.opts, "wecom:token:"+suffix, owner, c.fetchToken)
	c.jsapiTicket = newCache(&c.opts, "wecom:jsapi_ticket:"+suffix, owner, c.fetchTicket("/cgi-bin/get_jsapi_ticket", nil))
	c.agentTicket = newCache(&c.opts, "wecom:agent_ticket:"+suffix, owner,
		c.fetchTicket("/cgi-bin/ticket/get", url.Values{"type": {"agent_config"}}))
	return c
}

// CorpID returns the corp id the client was built with.
func (c *Client) CorpID() string { return c.corpID }

func randomID() string {
	b := make([]byte, 8)
	_, _ = crand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken calls gettoken. It is the only place the secret is sent.
func (c *Client) fetchToken(ctx context.Context) (string, time.Time, error) {
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret}}
	var r tokenResponse
	if err := c.do(ctx, http.MethodGet, "/cgi-bin/gettoken", q, nil, &r); err != nil {
		return "", time.Time{}, err
	}
	if r.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("wecom: gettoken: empty access_token: %w", domain.ErrUnavailable)
	}
	c.log.DebugContext(ctx, "wecom: fetched access token", "corp_id", c.corpID, "expires_in", r.ExpiresIn)
	return r.AccessToken, c.opts.now().Add(lifetime(r.ExpiresIn)), nil
}

func lifetime(expiresIn int64) time.Duration {
	if expiresIn <= 0 {
		expiresIn = 7200
	}
	return time.Duration(expiresIn) * time.Second
}

// call performs an authenticated API call. On 40014/42001/40001 it drops the
// token, fetches a fresh one and retries exactly once.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token.get(ctx, "")
		if err != nil {
			return err
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		err = c.do(ctx, method, path, q, in, out)
		var apiErr *APIError
		if attempt == 0 && errors.As(err, &apiErr) && isTokenError(apiErr.Code) {
			c.log.InfoContext(ctx, "wecom: access token rejected, refreshing", "corp_id", c.corpID, "path", path, "errcode", apiErr.Code)
			if _, err := c.token.get(ctx, tok); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// do sends one request (with transport-level retries) and decodes the
// response into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return doRequest(ctx, c.http, c.opts.baseURL, method, path, query, in, out)
}

func doRequest(ctx context.Context, hc *retryablehttp.Client, base, method, path string, query url.Values, in, out any) error {
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body any
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("wecom: %s: encode request: %w", path, err)
		}
		body = b
	}
	ctx = context.WithValue(ctx, retryStateKey{}, &retryState{})
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return redact(fmt.Errorf("wecom: %s: build request: %w", path, err), query)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		if ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		return redact(fmt.Errorf("wecom: %s: %w", path, err), query)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return redact(fmt.Errorf("wecom: %s: read response: %w: %w", path, domain.ErrUnavailable, err), query)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wecom: %s: HTTP %d: %w", path, resp.StatusCode, domain.ErrUnavailable)
	}
	return decodeResponse(path, data, out)
}

// envelope is the part every WeCom JSON response has.
type envelope struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// decodeResponse checks the errcode of a JSON response and decodes it into
// out. Anything that is not a JSON object is an error.
func decodeResponse(path string, data []byte, out any) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("wecom: %s: response is not a JSON object: %w", path, domain.ErrUnavailable)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("wecom: %s: decode response: %w: %w", path, domain.ErrUnavailable, err)
	}
	if env.ErrCode != nil && *env.ErrCode != 0 {
		return &APIError{Code: *env.ErrCode, Msg: env.ErrMsg, Path: path}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("wecom: %s: decode response: %w: %w", path, domain.ErrUnavailable, err)
	}
	return nil
}

// secretParams are query parameters whose values never appear in errors.
var secretParams = [...]string{"access_token", "corpsecret", "key"}

// redact removes secret query values from err's message.
func redact(err error, query url.Values) error {
	if err == nil {
		return nil
	}
	// The *url.Error from net/http belongs to this request alone: scrub its
	// URL in place so that unwrapping does not reveal the secrets either.
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			q := u.Query()
			for _, p := range secretParams {
				if q.Has(p) {
					q.Set(p, "REDACTED")
				}
			}
			u.RawQuery = q.Encode()
			ue.URL = u.String()
		}
	}
	msg := err.Error()
	changed := false
	for _, p := range secretParams {
		for _, v := range query[p] {
			if v == "" {
				continue
			}
			for _, form := range []string{url.QueryEscape(v), v} {
				if strings.Contains(msg, form) {
					msg = strings.ReplaceAll(msg, form, "REDACTED")
					changed = true
				}
			}
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// retryState counts, per logical request, how often WeCom said "busy".
type retryState struct {
	busy      int
	rateLimit bool
}

type retryStateKey struct{}

// maxBusyTries bounds attempts answered with errcode -1.
const maxBusyTries = 3

func newRetryClient(o *options) *retryablehttp.Client {
	return &retryablehttp.Client{
		HTTPClient:   o.httpClient,
		Logger:       nil, // its logger prints full URLs, tokens included
		RetryWaitMin: o.waitMin,
		RetryWaitMax: o.waitMax,
		RetryMax:     o.retryMax,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if err == nil && resp != nil {
				return resp, nil // out of retries on an errcode: let the caller decode it
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // draining is best effort
				resp.Body.Close()
			}
			if err == nil {
				err = errors.New("giving up")
			}
			return nil, err
		},
	}
}

// checkRetry retries transport errors, 5xx, errcode -1 (at most 3 tries in
// all) and errcodes 45009/45033 (with a jittered backoff), and nothing else.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil || resp == nil || resp.StatusCode != http.StatusOK {
		return retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr != nil {
		return true, rerr
	}
	var env envelope
	if json.Unmarshal(data, &env) != nil || env.ErrCode == nil {
		return false, nil
	}
	st, _ := ctx.Value(retryStateKey{}).(*retryState)
	if st == nil {
		st = &retryState{}
	}
	switch *env.ErrCode {
	case -1:
		st.busy++
		st.rateLimit = false
		return st.busy < maxBusyTries, nil
	case 45009, 45033:
		st.rateLimit = true
		return true, nil
	}
	return false, nil
}

// backoff is exponential between min and max; for rate limits it waits a
// random time in [half, full] of that, so many callers do not retry in step.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	d := minWait << min(attempt, 16)
	if d > maxWait || d <= 0 {
		d = maxWait
	}
	if resp != nil && resp.Request != nil {
		if st, _ := resp.Request.Context().Value(retryStateKey{}).(*retryState); st != nil && st.rateLimit {
			d = d/2 + rand.N(d/2+1)
		}
	}
	return d
}
