package sidebar_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/sidebar"
	"wecom-crm-bot/shared/staff"
	"wecom-crm-bot/shared/wecom"
)

const (
	corpID    = "wwSIDEBAR00000001"
	appSecret = "sidebar-app-secret"
	agentID   = "1000002"
	aesKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

type env struct {
	srv    *httptest.Server
	crm    *builtin.CRM
	client *wecom.Client
}

// newEnv serves the sidebar beside an emulated WeCom (gettoken, tickets,
// externalcontact/get) plus auth/getuserinfo, which the emulator lacks:
// it follows the documented shape ({"errcode":0,"userid":…}), the code
// being single-use.
func newEnv(t *testing.T) *env {
	t.Helper()
	emu, err := emulator.New(emulator.Config{CorpID: corpID, Token: "tok", EncodingAESKey: aesKey, AppSecret: appSecret, AgentID: agentID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	ctx := t.Context()
	if err := emu.AddExternalContact(ctx, "sales01", "wmDEMO_zhangsan", "张三", nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.AddExternalContact(ctx, "sales02", "wmDEMO_wangfang", "王芳", nil); err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{"code-sales01": "sales01", "code-sales01-b": "sales01"}
	mux := http.NewServeMux()
	mux.Handle("/cgi-bin/", emu.Handler())
	mux.HandleFunc("/cgi-bin/auth/getuserinfo", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		u, ok := codes[q.Get("code")]
		if q.Get("access_token") == "" || !ok {
			io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`)
			return
		}
		delete(codes, q.Get("code"))
		json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "userid": u, "user_ticket": "t"})
	})
	e := &env{}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.crm, err = builtin.New()
	if err != nil {
		t.Fatal(err)
	}
	e.client = wecom.New(corpID, appSecret, wecom.WithBaseURL(e.srv.URL))
	h, err := sidebar.New(sidebar.Config{
		CorpID: corpID, AgentID: agentID, Tickets: e.client, Contacts: e.client,
		Identity: sidebar.NewOAuth(e.srv.URL, corpID, appSecret, nil), CRM: e.crm,
		Owners: staff.OwnerMap{"sales01": "own-01"}, SessionKey: []byte(strings.Repeat("k", 32)),
		Location: time.FixedZone("CST", 8*3600),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sidebar/", h)
	return e
}

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login goes through the OAuth2 redirect with code and returns a client holding the session.
func (e *env) login(t *testing.T, code string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	resp, err := c.Get(e.srv.URL + "/sidebar/?code=" + code + "&state=sidebar")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/sidebar/" {
		t.Fatalf("login: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func do(t *testing.T, c *http.Client, method, u, csrf string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, u, rd)
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestEntryAndSessions(t *testing.T) {
	e := newEnv(t)
	anon := noRedirect(nil)
	resp, err := anon.Get(e.srv.URL + "/sidebar/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || loc.Host != "open.weixin.qq.com" || q.Get("appid") != corpID ||
		q.Get("agentid") != agentID || q.Get("scope") != "snsapi_base" || q.Get("redirect_uri") != e.srv.URL+"/sidebar/" || loc.Fragment != "wechat_redirect" {
		t.Errorf("no session: %d → %s", resp.StatusCode, loc)
	}
	resp, err = anon.Get(e.srv.URL + "/sidebar/?code=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad code: %d, want 401", resp.StatusCode)
	}
	for _, path := range []string{"/sidebar/api/config?url=x", "/sidebar/api/contact?external_userid=wmDEMO_zhangsan"} {
		if st, _ := do(t, anon, "GET", e.srv.URL+path, "", nil); st != http.StatusUnauthorized {
			t.Errorf("%s without session: %d", path, st)
		}
	}
	// A cookie naming someone else, or tampered with, is refused.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.srv.URL + "/sidebar/")
	jar.SetCookies(u, []*http.Cookie{{Name: "sidebar_session", Value: "c2FsZXMwMg.9999999999.0000", Path: "/sidebar/"}})
	if st, _ := do(t, noRedirect(jar), "GET", e.srv.URL+"/sidebar/api/contact?external_userid=wmDEMO_zhangsan", "", nil); st != http.StatusUnauthorized {
		t.Errorf("forged cookie: %d", st)
	}

	c := e.login(t, "code-sales01")
	resp, err = c.Get(e.srv.URL + "/sidebar/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "assets/app.js") {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	// The code was single use: logging in with it again fails.
	resp, _ = anon.Get(e.srv.URL + "/sidebar/?code=code-sales01")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reused code: %d", resp.StatusCode)
	}

	pageURL := e.srv.URL + "/sidebar/?from=chat"
	st, cfg := do(t, c, "GET", e.srv.URL+"/sidebar/api/config?url="+url.QueryEscape(pageURL+"#frag"), "", nil)
	if st != 200 {
		t.Fatalf("config: %d %v", st, cfg)
	}
	corpTicket, _ := e.client.JSAPITicket(t.Context())
	agentTicket, _ := e.client.AgentConfigTicket(t.Context())
	ts, nonce := cfg["timestamp"].(string), cfg["nonceStr"].(string)
	if cfg["signature"] != wecom.JSSDKSignature(corpTicket, nonce, ts, pageURL) || cfg["agentSignature"] != wecom.JSSDKSignature(agentTicket, nonce, ts, pageURL) {
		t.Errorf("signatures do not match the tickets: %v", cfg)
	}
	if cfg["signature"] == cfg["agentSignature"] || cfg["userid"] != "sales01" || cfg["corpid"] != corpID {
		t.Errorf("config = %v", cfg)
	}
	if st, _ := do(t, c, "GET", e.srv.URL+"/sidebar/api/config?url="+url.QueryEscape("https://evil.example/sidebar/"), "", nil); st != http.StatusBadRequest {
		t.Errorf("config for a foreign URL: %d", st)
	}
	csrf := cfg["csrf"].(string)

	st, v := do(t, c, "GET", e.srv.URL+"/sidebar/api/contact?external_userid=wmDEMO_zhangsan", "", nil)
	if st != 200 || v["found"] != true || v["contact"].(map[string]any)["name"] != "张三" || len(v["deals"].([]any)) != 1 {
		t.Errorf("contact: %d %v", st, v)
	}
	if st, _ := do(t, c, "GET", e.srv.URL+"/sidebar/api/contact?external_userid=wmDEMO_wangfang", "", nil); st != http.StatusForbidden {
		t.Errorf("a client the rep does not follow: %d, want 403", st)
	}
	if st, _ := do(t, c, "GET", e.srv.URL+"/sidebar/api/contact?external_userid=../x", "", nil); st != http.StatusBadRequest {
		t.Errorf("bad external_userid: %d", st)
	}

	note := map[string]string{"external_userid": "wmDEMO_zhangsan", "text": "客户确认下周签约"}
	if st, _ := do(t, c, "POST", e.srv.URL+"/sidebar/api/note", "", note); st != http.StatusForbidden {
		t.Errorf("note without CSRF token: %d", st)
	}
	if st, _ := do(t, c, "POST", e.srv.URL+"/sidebar/api/note", "wrong", note); st != http.StatusForbidden {
		t.Errorf("note with a wrong CSRF token: %d", st)
	}
	if st, r := do(t, c, "POST", e.srv.URL+"/sidebar/api/note", csrf, note); st != 200 {
		t.Errorf("note: %d %v", st, r)
	}
	past := map[string]string{"external_userid": "wmDEMO_zhangsan", "subject": "过去", "due": "2020-01-01T10:00"}
	if st, _ := do(t, c, "POST", e.srv.URL+"/sidebar/api/task", csrf, past); st != http.StatusBadRequest {
		t.Errorf("task in the past: %d", st)
	}
	task := map[string]string{"external_userid": "wmDEMO_zhangsan", "subject": "寄送合同", "due": "后天下午3点"}
	if st, r := do(t, c, "POST", e.srv.URL+"/sidebar/api/task", csrf, task); st != 200 {
		t.Errorf("task: %d %v", st, r)
	}
	cc, err := e.crm.Context(t.Context(), "c001")
	if err != nil {
		t.Fatal(err)
	}
	if cc.Notes[0].Body != "客户确认下周签约" || !strings.Contains(cc.Notes[0].Title, "sales01") {
		t.Errorf("latest note = %+v", cc.Notes[0])
	}
	ts2, _ := e.crm.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "own-01", ContactID: "c001"})
	found := false
	for _, x := range ts2 {
		if x.Subject == "寄送合同" && x.OwnerUserID == "sales01" && x.Due.UTC().Hour() == 7 { // 15:00 CST
			found = true
		}
	}
	if !found {
		t.Errorf("task not in the CRM: %+v", ts2)
	}
}
