package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wecom-crm-bot/shared/admin"
	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/store/boltstore"
)

const token = "test-admin-token-0123456789"

type fixture struct {
	srv *httptest.Server
	st  *boltstore.Store
	kb  *bot.KnowledgeSource
	h   *admin.Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kb := bot.NewKnowledgeSource(st)
	h, err := admin.New(admin.Config{
		Token: token, Records: st, Outbox: st, DeadTopics: []string{"notes", "queue"}, Knowledge: kb,
		Reports: analytics.NewQuery(st), Channels: []string{"default"}, Logger: slog.New(slog.DiscardHandler),
		Preview: func(ctx context.Context, k *bot.Knowledge, in bot.Input) (bot.Output, error) {
			return bot.New(k, bot.Ports{}).Respond(ctx, in)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, st: st, kb: kb, h: h}
}

func (f *fixture) do(t *testing.T, c *http.Client, method, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func noRedirect() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login signs in through the form and returns the client (with the cookie) and the CSRF token.
func (f *fixture) login(t *testing.T) (*http.Client, string) {
	t.Helper()
	c := noRedirect()
	code, _ := f.do(t, c, "POST", "/admin/login", url.Values{"user": {"alice"}, "token": {token}}.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(f.srv.URL + "/admin/")
	var found bool
	for _, ck := range c.Jar.Cookies(u) {
		found = found || ck.Name == admin.SessionCookie
	}
	if !found {
		t.Fatal("no session cookie")
	}
	code, body := f.do(t, c, "GET", "/admin/api/me", "", nil)
	var me struct{ User, CSRF string }
	if err := json.Unmarshal([]byte(body), &me); err != nil || code != 200 || me.User != "alice" || me.CSRF == "" {
		t.Fatalf("me: %d %s", code, body)
	}
	return c, me.CSRF
}

func TestNewRefusesWithoutToken(t *testing.T) {
	if _, err := admin.New(admin.Config{}); err != admin.ErrNoToken {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	c := noRedirect()
	bearer := map[string]string{"Authorization": "Bearer " + token}
	wrong := map[string]string{"Authorization": "Bearer nope-nope-nope"}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		hdr    map[string]string
		want   int
	}{
		{"login page is public", "GET", "/admin/login", "", nil, 200},
		{"static asset is public", "GET", "/admin/static/app.js", "", nil, 200},
		{"console redirects to login", "GET", "/admin/", "", nil, http.StatusSeeOther},
		{"unknown page still needs auth", "GET", "/admin/secret", "", nil, http.StatusSeeOther},
		{"api without auth", "GET", "/admin/api/report", "", nil, 401},
		{"api wrong token", "GET", "/admin/api/report", "", wrong, 401},
		{"api wrong scheme", "GET", "/admin/api/report", "", map[string]string{"Authorization": "Basic " + token}, 401},
		{"write without auth", "PUT", "/admin/api/knowledge", `{"yaml":"x"}`, nil, 401},
		{"write wrong token", "POST", "/admin/api/unanswered/faq", `{"question":"q","faq_id":"invoice"}`, wrong, 401},
		{"forged cookie", "GET", "/admin/api/me", "", map[string]string{"Cookie": admin.SessionCookie + "=eyJ1IjoiZXZlIn0.AAAA"}, 401},
		{"api bearer ok", "GET", "/admin/api/report", "", bearer, 200},
		{"bearer needs no csrf", "POST", "/admin/api/knowledge/validate", `{"yaml":"version: x"}`, bearer, 200},
		{"wrong login token", "POST", "/admin/login", "token=nope", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 401},
		{"cross-site login", "POST", "/admin/login", "token=" + token, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := f.do(t, c, tc.method, tc.path, tc.body, tc.hdr); code != tc.want {
				t.Errorf("%s %s = %d, want %d: %s", tc.method, tc.path, code, tc.want, body)
			}
		})
	}
}

func TestCookieSessionNeedsCSRF(t *testing.T) {
	f := newFixture(t)
	c, csrf := f.login(t)
	body := `{"question":"能开电子发票给公司吗","faq_id":"invoice"}`
	tests := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no csrf", nil, 403},
		{"wrong csrf", map[string]string{admin.CSRFHeader: "x" + csrf}, 403},
		{"right csrf", map[string]string{admin.CSRFHeader: csrf}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// pick a FAQ id that exists in the bundled knowledge
			if code, b := f.do(t, c, "POST", "/admin/api/unanswered/faq", strings.Replace(body, "invoice", firstFAQ(t), 1), tc.hdr); code != tc.want {
				t.Errorf("= %d, want %d: %s", code, tc.want, b)
			}
		})
	}
	_, v, err := f.kb.Current(t.Context())
	if err != nil || v != 1 {
		t.Fatalf("version %d err %v: want exactly one publish", v, err)
	}
	kb, _, _ := f.kb.Current(t.Context())
	e, _ := kb.Entry(firstFAQ(t))
	if !contains(e.Variants, "能开电子发票给公司吗") {
		t.Errorf("variant not added: %v", e.Variants)
	}
	es, err := f.h.Audit(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Who+":"+e.Action)
	}
	if strings.Join(actions, ",") != "alice:faq.add_variant,alice:login" {
		t.Errorf("audit = %v", actions)
	}
	// Logging out needs the CSRF token too, as a form field.
	if code, _ := f.do(t, c, "POST", "/admin/logout", "csrf=", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != 403 {
		t.Errorf("logout without csrf = %d", code)
	}
	if code, _ := f.do(t, c, "POST", "/admin/logout", "csrf="+url.QueryEscape(csrf), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusSeeOther {
		t.Errorf("logout = %d", code)
	}
	if code, _ := f.do(t, c, "GET", "/admin/api/me", "", nil); code != 401 {
		t.Errorf("after logout me = %d", code)
	}
}

func firstFAQ(t *testing.T) string {
	t.Helper()
	return bot.DefaultKnowledge().FAQ[0].ID
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestMalformedUploadKeepsLiveVersion(t *testing.T) {
	f := newFixture(t)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	c := http.DefaultClient
	good := string(bot.DefaultKnowledgeYAML())
	body, _ := json.Marshal(map[string]any{"yaml": good})
	if code, b := f.do(t, c, "PUT", "/admin/api/knowledge", string(body), bearer); code != 200 {
		t.Fatalf("good publish = %d %s", code, b)
	}
	bad, err := os.ReadFile("testdata/malformed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(map[string]any{"yaml": string(bad)})
	code, b := f.do(t, c, "PUT", "/admin/api/knowledge", string(body), bearer)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad publish = %d %s", code, b)
	}
	var res struct{ Errors []admin.LineError }
	_ = json.Unmarshal([]byte(b), &res)
	if len(res.Errors) == 0 || res.Errors[0].Line == 0 {
		t.Errorf("errors without line: %s", b)
	}
	code, b = f.do(t, c, "GET", "/admin/api/knowledge", "", bearer)
	var live struct {
		Version int64
		YAML    string
	}
	_ = json.Unmarshal([]byte(b), &live)
	if code != 200 || live.Version != 1 || live.YAML != good {
		t.Errorf("live version changed: %d v%d", code, live.Version)
	}
	// Stale base version is refused.
	body, _ = json.Marshal(map[string]any{"yaml": good, "base_version": 0})
	if code, b := f.do(t, c, "PUT", "/admin/api/knowledge", string(body), bearer); code != http.StatusConflict {
		t.Errorf("stale publish = %d %s", code, b)
	}
	// Validation reports lines.
	body, _ = json.Marshal(map[string]any{"yaml": string(bad)})
	_, b = f.do(t, c, "POST", "/admin/api/knowledge/validate", string(body), bearer)
	if !strings.Contains(b, `"ok":false`) || !strings.Contains(b, `"line":`) {
		t.Errorf("validate = %s", b)
	}
}

func TestPreviewAndNewEntry(t *testing.T) {
	f := newFixture(t)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	c := http.DefaultClient
	q := "你们接受数字人民币付款吗"
	body, _ := json.Marshal(map[string]any{"question": q, "new_id": "e_cny", "answer": "支持数字人民币付款。"})
	if code, b := f.do(t, c, "POST", "/admin/api/unanswered/faq", string(body), bearer); code != 200 {
		t.Fatalf("new entry = %d %s", code, b)
	}
	body, _ = json.Marshal(map[string]any{"text": q})
	code, b := f.do(t, c, "POST", "/admin/api/preview", string(body), bearer)
	if code != 200 || !strings.Contains(b, "支持数字人民币付款") || !strings.Contains(b, `"intent":"e_cny"`) {
		t.Errorf("preview = %d %s", code, b)
	}
}

func TestAddVariantKeepsComments(t *testing.T) {
	out, err := admin.AddVariant(bot.DefaultKnowledgeYAML(), firstFAQ(t), "新的问法")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "# Bundled demo knowledge") {
		t.Error("comments lost")
	}
	if _, err := bot.ParseKnowledge(out); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddVariant(out, firstFAQ(t), "新的问法"); err == nil {
		t.Error("duplicate variant accepted")
	}
	if _, err := admin.AddVariant(out, "no-such-faq", "x"); err == nil {
		t.Error("unknown faq accepted")
	}
}

func TestExportCSV(t *testing.T) {
	f := newFixture(t)
	r := analytics.New(f.st, analytics.WithFlushInterval(0))
	r.Record(t.Context(), analyticsEvent("message_in", "=HYPERLINK(\"x\")"))
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, b := f.do(t, http.DefaultClient, "GET", "/admin/api/export/unanswered.csv", "", map[string]string{"Authorization": "Bearer " + token})
	if code != 200 || !strings.Contains(b, `'=HYPERLINK`) {
		t.Errorf("csv = %d %q", code, b)
	}
}

func FuzzValidationErrors(f *testing.F) {
	f.Add([]byte("faq: [\n"))
	f.Add([]byte("version: 1\nfaq:\n  - id: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := bot.ParseKnowledge(data)
		for _, le := range admin.ValidationErrors(err) {
			if le.Line < 0 {
				t.Fatal(le)
			}
		}
		_, _ = admin.AddVariant(data, "x", "y")
		_, _ = admin.AddEntry(data, "x", "y", "z")
	})
}
