package emulator

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// obj is a JSON object response or request fragment.
type obj = map[string]any

// WeCom errcodes the emulator answers with (wecom-protocol.md §8).
const (
	codeBusy             = -1
	codeInvalidSecret    = 40001
	codeInvalidUserID    = 40003
	codeInvalidMsgType   = 40008
	codeInvalidCorpID    = 40013
	codeInvalidToken     = 40014
	codeInvalidAgentID   = 40056
	codeInvalidParam     = 40058
	codeInvalidExtUser   = 40096
	codeMissingToken     = 41001
	codeWelcomeUsed      = 41051
	codeTokenExpired     = 42001
	codeNeedGET          = 43001
	codeNeedPOST         = 43002
	codeContentTooLong   = 45002
	codeFreqLimit        = 45009
	codeDataFormat       = 47001
	codeNoRelationship   = 84061
	codeWebhookKey       = 93000
	codeInvalidKf        = 95000
	codeSendCountLimit   = 95001
	codeSendWindow       = 95002
	codeInvalidMsgToken  = 95007
	codeNotServicer      = 95014
	codeBadTransition    = 95016
	codeSessionForbidden = 95018
)

var errmsgs = map[int]string{
	codeBusy:             "system busy",
	codeInvalidSecret:    "invalid credential",
	codeInvalidUserID:    "invalid userid",
	codeInvalidMsgType:   "invalid message type",
	codeInvalidCorpID:    "invalid corpid",
	codeInvalidToken:     "invalid access_token",
	codeInvalidAgentID:   "invalid agentid",
	codeInvalidParam:     "invalid parameter",
	codeInvalidExtUser:   "invalid external userid",
	codeMissingToken:     "access_token missing",
	codeWelcomeUsed:      "welcome code expired or already used",
	codeTokenExpired:     "access_token expired",
	codeNeedGET:          "require GET method",
	codeNeedPOST:         "require POST method",
	codeContentTooLong:   "content size out of limit",
	codeFreqLimit:        "api freq out of limit",
	45033:                "api concurrent out of limit",
	codeDataFormat:       "data format error",
	48002:                "api forbidden",
	60020:                "not allow to access from your ip",
	codeNoRelationship:   "no external contact relationship",
	codeWebhookKey:       "invalid webhook url",
	codeInvalidKf:        "invalid open_kfid",
	95004:                "open_kfid not exist",
	codeSendCountLimit:   "send msg count limit",
	codeSendWindow:       "send msg time limit",
	codeInvalidMsgToken:  "invalid msg token",
	95013:                "session closed",
	codeNotServicer:      "user is not servicer",
	codeBadTransition:    "invalid service state transition",
	codeSessionForbidden: "send msg session status invalid",
}

// fail builds an error response for errcode.
func fail(code int) obj {
	msg, ok := errmsgs[code]
	if !ok {
		msg = "emulated error"
	}
	return obj{"errcode": code, "errmsg": msg}
}

// ok builds a success response carrying fields.
func ok(fields obj) obj {
	out := obj{"errcode": 0, "errmsg": "ok"}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// call is one API request after routing and authentication.
type call struct {
	r    *http.Request
	body []byte
	now  time.Time
}

// decode unmarshals the JSON body into v, reporting false for malformed JSON.
func (c *call) decode(v any) bool {
	return json.Unmarshal(c.body, v) == nil
}

// endpoint describes one /cgi-bin path. Handlers run with e.mu held.
type endpoint struct {
	method string
	public bool // no access_token needed
	serve  func(e *Emulator, c *call) obj
}

var endpoints = map[string]endpoint{
	"/cgi-bin/gettoken":                         {http.MethodGet, true, (*Emulator).getToken},
	"/cgi-bin/get_jsapi_ticket":                 {http.MethodGet, false, (*Emulator).jsapiTicket},
	"/cgi-bin/ticket/get":                       {http.MethodGet, false, (*Emulator).agentTicket},
	"/cgi-bin/kf/sync_msg":                      {http.MethodPost, false, (*Emulator).syncMsg},
	"/cgi-bin/kf/send_msg":                      {http.MethodPost, false, (*Emulator).sendMsg},
	"/cgi-bin/kf/send_msg_on_event":             {http.MethodPost, false, (*Emulator).sendMsgOnEvent},
	"/cgi-bin/kf/service_state/get":             {http.MethodPost, false, (*Emulator).serviceStateGet},
	"/cgi-bin/kf/service_state/trans":           {http.MethodPost, false, (*Emulator).serviceStateTrans},
	"/cgi-bin/kf/customer/batchget":             {http.MethodPost, false, (*Emulator).customerBatchGet},
	"/cgi-bin/message/send":                     {http.MethodPost, false, (*Emulator).messageSend},
	"/cgi-bin/externalcontact/get":              {http.MethodGet, false, (*Emulator).externalContactGet},
	"/cgi-bin/externalcontact/send_welcome_msg": {http.MethodPost, false, (*Emulator).sendWelcomeMsg},
	"/cgi-bin/externalcontact/remark":           {http.MethodPost, false, (*Emulator).remark},
	"/cgi-bin/webhook/send":                     {http.MethodPost, true, (*Emulator).webhookSend},
}

// maxBody bounds request bodies; WeCom payloads are small.
const maxBody = 1 << 20

// serveAPI routes a /cgi-bin/ request: counts it, applies injected faults,
// checks method and access_token, reads the body and runs the endpoint.
func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	ep, known := endpoints[path]
	// Read the body first: only then does net/http notice a client that
	// hangs up, which an injected Hang relies on.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeJSON(w, http.StatusOK, fail(codeDataFormat))
		return
	}

	e.mu.Lock()
	e.stats.Calls[path]++
	switch path {
	case "/cgi-bin/gettoken":
		e.stats.GetTokenCalls++
	case "/cgi-bin/kf/sync_msg":
		e.stats.SyncMsgCalls++
	case "/cgi-bin/kf/send_msg":
		e.stats.SendMsgCalls++
	}
	code, injected := e.takeRule(path)
	e.mu.Unlock()

	if injected {
		e.log.Info("emulator: injected fault", "path", path, "errcode", code)
		if code == Hang {
			e.hang(r)
			writeJSON(w, http.StatusGatewayTimeout, obj{"errcode": codeBusy, "errmsg": "emulator: injected timeout"})
			return
		}
		writeJSON(w, http.StatusOK, fail(code))
		return
	}
	if !known {
		writeJSON(w, http.StatusNotFound, obj{"errcode": 404, "errmsg": "emulator: unknown API path " + path})
		return
	}
	if r.Method != ep.method {
		c := codeNeedPOST
		if ep.method == http.MethodGet {
			c = codeNeedGET
		}
		writeJSON(w, http.StatusOK, fail(c))
		return
	}

	e.mu.Lock()
	now := e.now()
	var resp obj
	if !ep.public {
		resp = e.checkToken(r.URL.Query().Get("access_token"), now)
	}
	if resp == nil {
		resp = ep.serve(e, &call{r: r, body: body, now: now})
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// hang blocks until the client gives up, the emulator closes, or
// HangTimeout passes.
func (e *Emulator) hang(r *http.Request) {
	t := time.NewTimer(e.cfg.HangTimeout)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-e.ctx.Done():
	case <-t.C:
	}
}

// checkToken returns nil when tok is a live access_token, else the error
// response. Callers hold e.mu.
func (e *Emulator) checkToken(tok string, now time.Time) obj {
	if tok == "" {
		return fail(codeMissingToken)
	}
	exp, found := e.tokens[tok]
	switch {
	case !found:
		return fail(codeInvalidToken)
	case !now.Before(exp):
		return fail(codeTokenExpired)
	}
	return nil
}

// getToken serves GET /cgi-bin/gettoken?corpid&corpsecret.
func (e *Emulator) getToken(c *call) obj {
	q := c.r.URL.Query()
	if q.Get("corpid") != e.cfg.CorpID {
		return fail(codeInvalidCorpID)
	}
	secret := q.Get("corpsecret")
	valid := []string{e.cfg.KfSecret, e.cfg.AppSecret, e.cfg.ContactSecret}
	if secret == "" || !slices.Contains(valid, secret) {
		return fail(codeInvalidSecret)
	}
	tok := randomString(64)
	e.tokens[tok] = c.now.Add(e.cfg.TokenTTL)
	e.stats.TokensIssued++
	return ok(obj{"access_token": tok, "expires_in": int(e.cfg.TokenTTL / time.Second)})
}

// jsapiTicket serves GET /cgi-bin/get_jsapi_ticket.
func (e *Emulator) jsapiTicket(c *call) obj {
	return e.ticket("jsapi", c.now)
}

// agentTicket serves GET /cgi-bin/ticket/get?type=agent_config.
func (e *Emulator) agentTicket(c *call) obj {
	if c.r.URL.Query().Get("type") != "agent_config" {
		return fail(codeInvalidParam)
	}
	return e.ticket("agent_config", c.now)
}

// ticket returns the cached ticket of kind, minting one every 7200 s.
func (e *Emulator) ticket(kind string, now time.Time) obj {
	t, found := e.tickets[kind]
	if !found || !now.Before(t.expires) {
		t = ticket{value: randomString(86), expires: now.Add(7200 * time.Second)}
		e.tickets[kind] = t
	}
	return ok(obj{"ticket": t.value, "expires_in": int(t.expires.Sub(now) / time.Second)})
}

// writeJSON writes v as a UTF-8 JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n random characters from [A-Za-z0-9].
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
