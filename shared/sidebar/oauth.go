package sidebar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"wecom-crm-bot/shared/domain"
)

// OAuth exchanges WeCom OAuth2 codes for member userids
// (GET /cgi-bin/auth/getuserinfo), with its own cached access token of the
// self-built app (the shared wecom.Client does not offer this call).
type OAuth struct {
	base, corpID, secret string
	hc                   *http.Client
	now                  func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewOAuth returns an OAuth for the app credentials; base is WECOM_API_BASE.
func NewOAuth(base, corpID, secret string, hc *http.Client) *OAuth {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &OAuth{base: base, corpID: corpID, secret: secret, hc: hc, now: time.Now}
}

type apiResult struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (o *OAuth) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sidebar: %s: %w", path, domain.ErrUnavailable) // the URL holds secrets: not wrapped
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sidebar: %s: HTTP %d: %w", path, resp.StatusCode, domain.ErrUnavailable)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("sidebar: %s: %w", path, domain.ErrUnavailable)
	}
	return nil
}

func (o *OAuth) accessToken(ctx context.Context, refresh bool) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !refresh && o.token != "" && o.now().Before(o.expires) {
		return o.token, nil
	}
	var r struct {
		apiResult
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := o.get(ctx, "/cgi-bin/gettoken", url.Values{"corpid": {o.corpID}, "corpsecret": {o.secret}}, &r); err != nil {
		return "", err
	}
	if r.ErrCode != 0 || r.AccessToken == "" {
		return "", fmt.Errorf("sidebar: gettoken errcode %d: %w", r.ErrCode, domain.ErrConfig)
	}
	if r.ExpiresIn <= 0 {
		r.ExpiresIn = 7200
	}
	o.token, o.expires = r.AccessToken, o.now().Add(time.Duration(r.ExpiresIn)*time.Second-5*time.Minute)
	return o.token, nil
}

// UserID returns the member userid for an OAuth2 code. A code of someone
// who is not a member of the corp (openid only), or an invalid or used code,
// is domain.ErrInvalid.
func (o *OAuth) UserID(ctx context.Context, code string) (string, error) {
	for attempt := 0; attempt < 2; attempt++ {
		tok, err := o.accessToken(ctx, attempt > 0)
		if err != nil {
			return "", err
		}
		var r struct {
			apiResult
			UserID    string `json:"userid"`
			OldUserID string `json:"UserId"` // the older /cgi-bin/user/getuserinfo spelling
		}
		if err := o.get(ctx, "/cgi-bin/auth/getuserinfo", url.Values{"access_token": {tok}, "code": {code}}, &r); err != nil {
			return "", err
		}
		switch {
		case r.ErrCode == 40014 || r.ErrCode == 42001 || r.ErrCode == 40001:
			continue // token expired: refresh once
		case r.ErrCode == -1:
			return "", fmt.Errorf("sidebar: getuserinfo busy: %w", domain.ErrUnavailable)
		case r.ErrCode != 0:
			return "", fmt.Errorf("sidebar: getuserinfo errcode %d: %w", r.ErrCode, domain.ErrInvalid)
		}
		if r.UserID == "" {
			r.UserID = r.OldUserID
		}
		if r.UserID == "" {
			return "", fmt.Errorf("sidebar: not a member of the corp: %w", domain.ErrInvalid)
		}
		return r.UserID, nil
	}
	return "", fmt.Errorf("sidebar: access token rejected twice: %w", domain.ErrConfig)
}
