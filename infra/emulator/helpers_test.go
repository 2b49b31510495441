package emulator_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// Crypto of the emulated corp: wecom-protocol.md vector B.
const (
	corpID   = "ww6a112864f8022910"
	cbToken  = "kz7Yx62CH8SaLN"
	aesKey   = "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"
	kfSecret = "kf-secret"
	agentID  = "1000002"
	openKf   = "wkDEMO"
	cust     = "wmCustomer01"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is an emulator behind an httptest server.
type env struct {
	t     *testing.T
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *clock
}

// newEnv starts an emulator; edit may adjust the config first.
func newEnv(t *testing.T, edit func(*emulator.Config)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg := emulator.Config{
		CorpID: corpID, Token: cbToken, EncodingAESKey: aesKey,
		KfSecret: kfSecret, AppSecret: "app-secret", ContactSecret: "contact-secret",
		AgentID: agentID, OpenKfID: openKf, Clock: clk.Now,
		TokenTTL: 60 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, emu: emu, srv: srv, clock: clk}
}

// resp is a decoded API answer.
type resp map[string]any

func (r resp) code() int {
	f, ok := r["errcode"].(float64)
	if !ok {
		return -99999
	}
	return int(f)
}

func (r resp) str(k string) string { s, _ := r[k].(string); return s }

// do calls the API and decodes the JSON answer, failing on non-JSON.
func (e *env) do(method, path string, query url.Values, body any) (int, resp) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	u := e.srv.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Fatalf("%s %s: content-type %q", method, path, ct)
	}
	var out resp
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return res.StatusCode, out
}

// token fetches a fresh access_token with the kf secret.
func (e *env) token() string {
	e.t.Helper()
	_, r := e.do("GET", "/cgi-bin/gettoken", url.Values{"corpid": {corpID}, "corpsecret": {kfSecret}}, nil)
	if r.code() != 0 || r.str("access_token") == "" {
		e.t.Fatalf("gettoken: %v", r)
	}
	return r.str("access_token")
}

// post calls a POST endpoint with a fresh token.
func (e *env) post(path string, body any) resp {
	e.t.Helper()
	_, r := e.do("POST", path, url.Values{"access_token": {e.token()}}, body)
	return r
}

// get calls a GET endpoint with a fresh token and extra query values.
func (e *env) get(path string, q url.Values) resp {
	e.t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("access_token", e.token())
	_, r := e.do("GET", path, q, nil)
	return r
}

// sync pulls the whole kf log from the start.
func (e *env) sync() []map[string]any {
	e.t.Helper()
	var all []map[string]any
	cursor := ""
	for range 100 {
		r := e.post("/cgi-bin/kf/sync_msg", map[string]any{"cursor": cursor, "open_kfid": openKf})
		if r.code() != 0 {
			e.t.Fatalf("sync_msg: %v", r)
		}
		for _, m := range r["msg_list"].([]any) {
			all = append(all, m.(map[string]any))
		}
		cursor = r.str("next_cursor")
		if r["has_more"].(float64) == 0 {
			return all
		}
	}
	e.t.Fatal("sync_msg never ended")
	return nil
}

// sendText is a send_msg text request body.
func sendText(to, msgid, text string) map[string]any {
	m := map[string]any{"touser": to, "open_kfid": openKf, "msgtype": "text", "text": map[string]any{"content": text}}
	if msgid != "" {
		m["msgid"] = msgid
	}
	return m
}

// fixture reads testdata/name.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// callback is one decrypted callback as a receiver sees it.
type callback struct {
	Query url.Values
	Env   struct {
		ToUserName string `xml:"ToUserName"`
		Encrypt    string `xml:"Encrypt"`
		AgentID    string `xml:"AgentID"`
	}
	Msg struct {
		ToUserName     string `xml:"ToUserName"`
		CreateTime     int64  `xml:"CreateTime"`
		MsgType        string `xml:"MsgType"`
		Event          string `xml:"Event"`
		Token          string `xml:"Token"`
		OpenKfID       string `xml:"OpenKfId"`
		ChangeType     string `xml:"ChangeType"`
		UserID         string `xml:"UserID"`
		ExternalUserID string `xml:"ExternalUserID"`
		WelcomeCode    string `xml:"WelcomeCode"`
	}
}

// receiver is an httptest callback endpoint that verifies and decrypts with
// wxcrypt and records what it got. status picks the answer per attempt.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []callback
	bad    []string
	status func(n int) int
	onCall func(cb callback)
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	crypt, err := wxcrypt.New(cbToken, aesKey, corpID)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb callback
		cb.Query = r.URL.Query()
		body, _ := io.ReadAll(r.Body)
		problem := ""
		switch {
		case r.Method != http.MethodPost:
			problem = "method " + r.Method
		case xml.Unmarshal(body, &cb.Env) != nil:
			problem = "envelope XML"
		case !crypt.Verify(cb.Query.Get("msg_signature"), cb.Query.Get("timestamp"), cb.Query.Get("nonce"), cb.Env.Encrypt):
			problem = "signature"
		}
		if problem == "" {
			plain, err := crypt.Decrypt(cb.Env.Encrypt)
			if err != nil {
				problem = "decrypt: " + err.Error()
			} else if err := xml.Unmarshal(plain, &cb.Msg); err != nil {
				problem = "message XML"
			}
		}
		rc.mu.Lock()
		if problem != "" {
			rc.bad = append(rc.bad, problem)
		}
		rc.got = append(rc.got, cb)
		n := len(rc.got)
		rc.mu.Unlock()
		if problem != "" {
			http.Error(w, problem, http.StatusBadRequest)
			return
		}
		if rc.onCall != nil {
			rc.onCall(cb)
		}
		st := http.StatusOK
		if rc.status != nil {
			st = rc.status(n)
		}
		w.WriteHeader(st)
		if st == http.StatusOK {
			_, _ = io.WriteString(w, "success")
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// callbacks returns what was received so far.
func (rc *receiver) callbacks() []callback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		rc.t.Errorf("receiver rejected callbacks: %v", rc.bad)
	}
	return append([]callback(nil), rc.got...)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
