package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wecom-crm-bot/infra/emulator"
)

// fakeBot answers kf callbacks the way the worker does: sync_msg with the
// callback Token from the saved cursor, then send_msg for every customer
// message. It calls the emulator over real HTTP.
type fakeBot struct {
	t      *testing.T
	base   string // emulator URL, set once the emulator is up
	mu     sync.Mutex
	cursor string
}

func (b *fakeBot) api(path string, q url.Values, body any, out any) {
	b.t.Helper()
	var rd *strings.Reader
	method := "GET"
	if body != nil {
		raw, _ := json.Marshal(body)
		rd, method = strings.NewReader(string(raw)), "POST"
	}
	req, _ := http.NewRequest(method, b.base+path+"?"+q.Encode(), nil)
	if rd != nil {
		req, _ = http.NewRequest(method, b.base+path+"?"+q.Encode(), rd)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Errorf("bot: %s: %v", path, err)
		return
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		b.t.Errorf("bot: %s: %v", path, err)
	}
}

func (b *fakeBot) handle(cb callback) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b.api("/cgi-bin/gettoken", url.Values{"corpid": {corpID}, "corpsecret": {kfSecret}}, nil, &tok)
	q := url.Values{"access_token": {tok.AccessToken}}
	for {
		var page struct {
			Errcode    int    `json:"errcode"`
			NextCursor string `json:"next_cursor"`
			HasMore    int    `json:"has_more"`
			MsgList    []struct {
				MsgID          string `json:"msgid"`
				Origin         int    `json:"origin"`
				ExternalUserID string `json:"external_userid"`
				Text           struct {
					Content string `json:"content"`
					MenuID  string `json:"menu_id"`
				} `json:"text"`
			} `json:"msg_list"`
		}
		b.api("/cgi-bin/kf/sync_msg", q, map[string]any{"cursor": b.cursor, "token": cb.Msg.Token, "open_kfid": cb.Msg.OpenKfID, "limit": 2}, &page)
		if page.Errcode != 0 {
			b.t.Errorf("bot: sync_msg errcode %d", page.Errcode)
			return
		}
		for _, m := range page.MsgList {
			if m.Origin != 3 {
				continue
			}
			var reply map[string]any
			switch m.Text.MenuID {
			case "101":
				reply = map[string]any{"msgtype": "text", "text": map[string]any{"content": "年卡 ¥999，月卡 ¥99。需要为您转人工顾问吗？"}}
			case "":
				reply = map[string]any{"msgtype": "msgmenu", "msgmenu": map[string]any{
					"head_content": "您好！我是智能助手，已收到：「" + m.Text.Content + "」。请选择：",
					"list": []any{
						map[string]any{"type": "click", "click": map[string]any{"id": "101", "content": "查看价格"}},
						map[string]any{"type": "click", "click": map[string]any{"id": "102", "content": "转人工客服"}},
					},
					"tail_content": "也可以直接输入问题"}}
			default:
				continue
			}
			reply["touser"], reply["open_kfid"], reply["msgid"] = m.ExternalUserID, openKf, "re-"+m.MsgID[:20]
			var sent struct {
				Errcode int `json:"errcode"`
			}
			b.api("/cgi-bin/kf/send_msg", q, reply, &sent)
			if sent.Errcode != 0 {
				b.t.Errorf("bot: send_msg errcode %d", sent.Errcode)
			}
		}
		b.cursor = page.NextCursor
		if page.HasMore == 0 {
			return
		}
	}
}

// waitJS waits until the JavaScript expression is truthy.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

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

func TestChatPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	chromium := chromiumPath(t)
	bot := &fakeBot{t: t}
	rc := newReceiver(t, nil)
	rc.onCall = bot.handle
	e := newEnv(t, func(c *emulator.Config) {
		c.CallbackURL = rc.srv.URL + "/wecom/kf"
		c.Clock = time.Now
	})
	bot.base = e.srv.URL

	artifacts := os.Getenv("ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 820),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser; no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 45*time.Second)
	defer cancel()

	const user = "wmDEMOcustomer01"
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open page",
		chromedp.Navigate(e.srv.URL+"/emulator/"),
		chromedp.WaitVisible(chromedp.CSS("#customer-input")))
	step("customer types",
		chromedp.SendKeys(chromedp.CSS("#customer-input"), "你好，我想了解一下会员价格"),
		chromedp.Click(chromedp.CSS("#customer-send")),
		chromedp.WaitVisible(chromedp.CSS(`#customer-log .row.me .bubble`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-log .row[data-from="bot"] button[data-menu-id="101"]`)))
	botText := text(`#customer-log .row[data-from="bot"] .bubble`)
	step("customer clicks a menu item",
		chromedp.Click(chromedp.CSS(`#customer-log button[data-menu-id="101"]`)),
		waitJS(`[...document.querySelectorAll('#customer-log .row[data-from="bot"]')].some(r => r.textContent.includes('年卡'))`))
	step("agent takes over",
		chromedp.Click(chromedp.CSS("#agent-takeover")),
		waitJS(`document.getElementById('status-state').textContent.includes('人工接待')`),
		waitJS(`!document.getElementById('agent-send').disabled`))
	status := text("#status-state")
	step("agent replies",
		chromedp.SendKeys(chromedp.CSS("#agent-input"), "您好，我是销售顾问小王，很高兴为您服务！"),
		chromedp.Click(chromedp.CSS("#agent-send")),
		chromedp.WaitVisible(chromedp.CSS(`#customer-log .row[data-from="agent"]`)),
		chromedp.Sleep(800*time.Millisecond)) // one more poll so the status chips are current
	agentLine := text(`#customer-log .row[data-from="agent"] .bubble`)
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifacts, "emulator-chat.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	if !strings.Contains(botText, "你好，我想了解一下会员价格") || !strings.Contains(botText, "查看价格") {
		t.Errorf("bot bubble = %q", botText)
	}
	if !strings.Contains(status, "sales01") {
		t.Errorf("status = %q", status)
	}
	if agentLine != "您好，我是销售顾问小王，很高兴为您服务！" {
		t.Errorf("agent line = %q", agentLine)
	}
	var from []string
	for _, l := range e.emu.Transcript(user) {
		from = append(from, l.From+":"+l.MenuID)
	}
	if got := strings.Join(from, " "); got != "customer: bot: customer:101 bot: agent:" {
		t.Errorf("transcript = %s", got)
	}
	if st, sv := e.emu.SessionState(user); st != 3 || sv != "sales01" {
		t.Errorf("state %d/%s", st, sv)
	}
}
