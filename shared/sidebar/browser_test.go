package sidebar_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"wecom-crm-bot/shared/wecom"
)

// wxStub stands in for WeCom's JS-SDK: it records wx.config and
// wx.agentConfig, and answers getCurExternalContact with a client.
const wxStub = `
window.__wx = {invoked: []};
window.wx = {
  config: function (c) { window.__wx.config = c; },
  error: function (f) { window.__wx.onError = f; },
  ready: function (f) { setTimeout(f, 0); },
  agentConfig: function (c) { window.__wx.agent = c; setTimeout(function () { c.success({errMsg: 'agentConfig:ok'}); }, 0); },
  invoke: function (name, args, cb) {
    window.__wx.invoked.push(name);
    cb(name === 'getCurExternalContact' ? {err_msg: 'getCurExternalContact:ok', userId: 'wmDEMO_zhangsan'} : {err_msg: name + ':fail'});
  }
};`

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REQUIRE_ENGINES") == "1" {
		t.Fatal("chromium not found and REQUIRE_ENGINES=1")
	}
	t.Skip("chromium not found")
	return ""
}

func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

func injectBeforeLoad(script string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return chromedp.Void{}, err
	}
}

func TestSidebarInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	chromium := chromiumPath(t)
	e := newEnv(t)
	artifacts := os.Getenv("ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(420, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 40*time.Second)
	defer cancel()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	loc := time.FixedZone("CST", 8*3600)
	due := time.Now().In(loc).Add(48 * time.Hour).Truncate(time.Hour)

	step("open the sidebar through OAuth2",
		injectBeforeLoad(wxStub),
		chromedp.Navigate(e.srv.URL+"/sidebar/?code=code-sales01&state=sidebar"),
		waitJS(`document.getElementById('name').textContent.includes('张三')`),
		waitJS(`document.getElementById('deals').textContent.includes('星辰贸易 2027 年度框架采购')`))
	profile := text("#main")
	step("add a note",
		chromedp.SendKeys(chromedp.CSS("#note-text"), "客户确认下周签约，需准备合同"),
		chromedp.Click(chromedp.CSS("#note-add")),
		waitJS(`document.getElementById('notes').textContent.includes('客户确认下周签约')`))
	step("add a task",
		chromedp.SendKeys(chromedp.CSS("#task-subject"), "寄送合同样本"),
		chromedp.SetValue(chromedp.CSS("#task-due"), due.Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS("#task-add")),
		waitJS(`document.getElementById('tasks').textContent.includes('寄送合同样本')`))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0); true`)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifacts, "sidebar.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	for _, w := range []string{"上海星辰贸易有限公司", "customer", "林晓峰", "谈判中", "¥480,000", "电话沟通", "发送星辰贸易最终报价"} {
		if !strings.Contains(profile, w) {
			t.Errorf("profile lacks %q: %s", w, profile)
		}
	}
	// The page signed wx.config and wx.agentConfig with the server's signatures for its own URL.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__wx)`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config struct {
			AppID, NonceStr, Signature string
			Timestamp                  int64
		}
		Agent struct {
			Corpid, Agentid, NonceStr, Signature string
			JSAPIList                            []string `json:"jsApiList"`
		}
		Invoked []string
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	corpTicket, _ := e.client.JSAPITicket(t.Context())
	agentTicket, _ := e.client.AgentConfigTicket(t.Context())
	pageURL := e.srv.URL + "/sidebar/"
	ts := func() string { b, _ := json.Marshal(got.Config.Timestamp); return string(b) }()
	if got.Config.AppID != corpID || got.Config.Signature != wecom.JSSDKSignature(corpTicket, got.Config.NonceStr, ts, pageURL) {
		t.Errorf("wx.config = %+v", got.Config)
	}
	if got.Agent.Corpid != corpID || got.Agent.Agentid != agentID || got.Agent.Signature != wecom.JSSDKSignature(agentTicket, got.Agent.NonceStr, ts, pageURL) {
		t.Errorf("wx.agentConfig = %+v", got.Agent)
	}
	if strings.Join(got.Invoked, ",") != "getCurExternalContact" {
		t.Errorf("invoked %v", got.Invoked)
	}
	cc, err := e.crm.Context(t.Context(), "c001")
	if err != nil {
		t.Fatal(err)
	}
	if cc.Notes[0].Body != "客户确认下周签约，需准备合同" {
		t.Errorf("CRM note = %+v", cc.Notes[0])
	}
	ok := false
	for _, x := range cc.Tasks {
		ok = ok || (x.Subject == "寄送合同样本" && x.Due.Equal(due))
	}
	if !ok {
		t.Errorf("CRM tasks = %+v", cc.Tasks)
	}
}
