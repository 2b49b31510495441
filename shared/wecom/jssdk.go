package wecom

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wecom-crm-bot/shared/domain"
)

type ticketResponse struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int64  `json:"expires_in"`
}

func (c *Client) fetchTicket(path string, query url.Values) fetchFunc {
	return func(ctx context.Context) (string, time.Time, error) {
		var r ticketResponse
		if err := c.call(ctx, http.MethodGet, path, query, nil, &r); err != nil {
			return "", time.Time{}, err
		}
		if r.Ticket == "" {
			return "", time.Time{}, fmt.Errorf("wecom: %s: empty ticket: %w", path, domain.ErrUnavailable)
		}
		return r.Ticket, c.opts.now().Add(lifetime(r.ExpiresIn)), nil
	}
}

// JSAPITicket returns the corp jsapi_ticket used by wx.config
// (GET /cgi-bin/get_jsapi_ticket), cached like access tokens (7200 s).
func (c *Client) JSAPITicket(ctx context.Context) (string, error) {
	return c.jsapiTicket.get(ctx, "")
}

// AgentConfigTicket returns the app ticket used by wx.agentConfig
// (GET /cgi-bin/ticket/get?type=agent_config), cached like access tokens.
func (c *Client) AgentConfigTicket(ctx context.Context) (string, error) {
	return c.agentTicket.get(ctx, "")
}

// JSSDKSignature signs a page for wx.config / wx.agentConfig:
// lower-case hex sha1 of "jsapi_ticket=T&noncestr=N&timestamp=TS&url=U",
// where U is the page URL without its #fragment.
func JSSDKSignature(ticket, nonce, timestamp, pageURL string) string {
	if i := strings.IndexByte(pageURL, '#'); i >= 0 {
		pageURL = pageURL[:i]
	}
	sum := sha1.Sum([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonce + "&timestamp=" + timestamp + "&url=" + pageURL))
	return hex.EncodeToString(sum[:])
}
