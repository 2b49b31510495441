package sidebar_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"wecom-crm-bot/shared/browsertest"
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
	e := newEnv(t)
	b := browsertest.New(t, browsertest.Options{Width: 420, Height: 900, Timeout: 40 * time.Second})
	ctx, step, text := b.Ctx, b.Step, b.Text
	loc := time.FixedZone("CST", 8*3600)
	due := time.Now().In(loc).Add(48 * time.Hour).Truncate(time.Hour)

	step("open the sidebar through OAuth2",
		injectBeforeLoad(wxStub),
		chromedp.Navigate(e.srv.URL+"/sidebar/?code=code-sales01&state=sidebar"),
		browsertest.UntilJS(`document.getElementById('name').textContent.includes('张三')`),
		browsertest.UntilJS(`document.getElementById('deals').textContent.includes('星辰贸易 2027 年度框架采购')`))
	profile := text("#main")
	step("add a note",
		chromedp.SendKeys(chromedp.CSS("#note-text"), "客户确认下周签约，需准备合同"),
		chromedp.Click(chromedp.CSS("#note-add")),
		browsertest.UntilJS(`document.getElementById('notes').textContent.includes('客户确认下周签约')`))
	step("add a task",
		chromedp.SendKeys(chromedp.CSS("#task-subject"), "寄送合同样本"),
		chromedp.SetValue(chromedp.CSS("#task-due"), due.Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS("#task-add")),
		browsertest.UntilJS(`document.getElementById('tasks').textContent.includes('寄送合同样本')`))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0); true`)); err != nil {
		t.Fatal(err)
	}
	b.Screenshot("sidebar.png")

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
