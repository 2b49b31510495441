package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// Client is the HubSpot adapter. It is safe for concurrent use.
type Client struct {
	token  string
	base   string
	rc     *retryablehttp.Client // idempotent requests: retried
	once   *retryablehttp.Client // plain creates: never retried
	owners map[string]string
}

var _ crm.CRM = (*Client)(nil)

type options struct {
	base       string
	hc         *http.Client
	retries    int
	serverWait time.Duration
	rateWait   time.Duration
	searchWait time.Duration
	maxWait    time.Duration
	owners     map[string]string
}

// Option configures New.
type Option func(*options)

// WithBaseURL sets the API base URL. Default https://api.hubapi.com.
func WithBaseURL(u string) Option {
	return func(o *options) { o.base = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the underlying HTTP client. Default: 10 s timeout.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithRetry sets the retry policy: at most retries retries; 5xx and
// transport errors wait serverWait×n, 429 TEN_SECONDLY_ROLLING waits
// rateWait×n (search "secondly" limit: rateWait/10×n). Defaults 3, 200 ms,
// 10 s — HubSpot's SDK policy.
func WithRetry(retries int, serverWait, rateWait time.Duration) Option {
	return func(o *options) {
		o.retries, o.serverWait, o.rateWait, o.searchWait = retries, serverWait, rateWait, rateWait/10
	}
}

// WithOwners maps HubSpot owner ids to WeCom userids, filling
// Contact.OwnerUserID and Task.OwnerUserID.
func WithOwners(ownerToUserID map[string]string) Option {
	return func(o *options) { o.owners = ownerToUserID }
}

// New returns a client authenticating with a private-app token
// (HUBSPOT_TOKEN). An empty token is domain.ErrConfig.
func New(token string, opts ...Option) (*Client, error) {
	o := options{
		base:       "https://api.hubapi.com",
		hc:         &http.Client{Timeout: 10 * time.Second},
		retries:    3,
		serverWait: 200 * time.Millisecond,
		rateWait:   10 * time.Second,
		searchWait: time.Second,
		maxWait:    30 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("hubspot: empty private-app token: set HUBSPOT_TOKEN: %w", domain.ErrConfig)
	}
	if _, err := url.Parse(o.base); err != nil || o.base == "" {
		return nil, fmt.Errorf("hubspot: base URL %q: %w", o.base, domain.ErrConfig)
	}
	mk := func(retries int) *retryablehttp.Client {
		return &retryablehttp.Client{
			HTTPClient:   o.hc,
			RetryWaitMin: o.serverWait,
			RetryWaitMax: o.maxWait,
			RetryMax:     retries,
			CheckRetry:   checkRetry,
			Backoff:      backoff(o),
			ErrorHandler: retryablehttp.PassthroughErrorHandler,
		}
	}
	return &Client{token: token, base: o.base, rc: mk(o.retries), once: mk(0), owners: o.owners}, nil
}

// policyHeader carries the 429 policy from checkRetry to backoff (the body
// is drained in between). It never leaves the process.
const policyHeader = "X-Wecom-Crm-Ratelimit-Policy"

// checkRetry retries 5xx, transport errors and burst 429s; never 4xx auth
// or validation errors, never the DAILY limit.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil {
			return false, nil
		}
		e, _ := decodeError(b)
		switch {
		case e.PolicyName == "TEN_SECONDLY_ROLLING":
			resp.Header.Set(policyHeader, "ten")
			return true, nil
		case strings.Contains(e.Message, "secondly limit"):
			resp.Header.Set(policyHeader, "second")
			return true, nil
		}
		return false, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return true, nil
	}
	return false, nil
}

func backoff(o options) retryablehttp.Backoff {
	return func(_, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
		n := time.Duration(attempt + 1)
		wait := o.serverWait * n
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			switch resp.Header.Get(policyHeader) {
			case "ten":
				wait = o.rateWait * n
			case "second":
				wait = o.searchWait * n
			}
		}
		return min(wait, maxWait)
	}
}

// call is one API request.
type call struct {
	method string
	path   string // with leading slash, already escaped
	query  url.Values
	body   any
	ok     []int // accepted statuses; default 200
	once   bool  // not idempotent: no retries
}

// do performs c and decodes a successful JSON body into out (when non-nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	op := cl.method + " " + cl.path
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("hubspot: %s: encode: %w: %w", op, domain.ErrInvalid, err)
		}
	}
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, cl.method, u, rb)
	if err != nil {
		return fmt.Errorf("hubspot: %s: %w: %w", op, domain.ErrInvalid, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rc := c.rc
	if cl.once {
		rc = c.once
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return crm.TransportError("hubspot", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return crm.TransportError("hubspot", op, err)
	}
	ok := cl.ok
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			if out == nil || len(bytes.TrimSpace(b)) == 0 {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("hubspot: %s: decode response: %w: %w", op, domain.ErrUnavailable, err)
			}
			return nil
		}
	}
	return apiError(op, resp.StatusCode, resp.Header, b)
}

// apiError translates a non-success response into a *crm.APIError.
func apiError(op string, status int, h http.Header, body []byte) error {
	e, _ := decodeError(body)
	msg := e.Message
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	ae := &crm.APIError{Vendor: "hubspot", Op: op, Status: status, Code: e.Category, Message: msg,
		Policy: e.PolicyName, Kind: crm.KindForStatus(status)}
	switch status {
	case http.StatusUnauthorized:
		ae.Hint = "the private-app token is invalid or revoked: fix HUBSPOT_TOKEN"
	case http.StatusForbidden:
		ae.Hint = "the private app lacks a scope (crm.objects.contacts.read/write, crm.objects.deals.read): fix the app or HUBSPOT_TOKEN"
	case http.StatusTooManyRequests:
		if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && e.PolicyName != "DAILY" {
			ae.RetryAfter = time.Duration(ms) * time.Millisecond
		}
		if e.PolicyName == "DAILY" {
			ae.Hint = "daily API limit reached; it resets at midnight in the account's time zone"
		} else if ae.RetryAfter == 0 {
			ae.RetryAfter = 10 * time.Second
		}
	}
	return ae
}
