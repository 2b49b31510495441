package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/shared/browsertest"
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

func TestChatPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	bot := &fakeBot{t: t}
	rc := newReceiver(t, nil)
	rc.onCall = bot.handle
	e := newEnv(t, func(c *emulator.Config) {
		c.CallbackURL = rc.srv.URL + "/wecom/kf"
		c.Clock = time.Now
	})
	bot.base = e.srv.URL

	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 820, Timeout: 45 * time.Second})
	step, text := b.Step, b.Text

	const user = "wmDEMOcustomer01"
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
		browsertest.UntilJS(`[...document.querySelectorAll('#customer-log .row[data-from="bot"]')].some(r => r.textContent.includes('年卡'))`))
	step("agent takes over",
		chromedp.Click(chromedp.CSS("#agent-takeover")),
		browsertest.UntilJS(`document.getElementById('status-state').textContent.includes('人工接待')`),
		browsertest.UntilJS(`!document.getElementById('agent-send').disabled`))
	status := text("#status-state")
	step("agent replies",
		chromedp.SendKeys(chromedp.CSS("#agent-input"), "您好，我是销售顾问小王，很高兴为您服务！"),
		chromedp.Click(chromedp.CSS("#agent-send")),
		chromedp.WaitVisible(chromedp.CSS(`#customer-log .row[data-from="agent"]`)),
		chromedp.Sleep(800*time.Millisecond)) // one more poll so the status chips are current
	agentLine := text(`#customer-log .row[data-from="agent"] .bubble`)
	b.Screenshot("emulator-chat.png")

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
