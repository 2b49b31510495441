package emulator_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
)

func TestMessageSend(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		body any
		want int
	}{
		{"Text", map[string]any{"touser": "sales01", "msgtype": "text", "agentid": 1000002, "text": map[string]any{"content": "新客户：张三"}}, 0},
		{"Markdown", map[string]any{"toparty": "2", "msgtype": "markdown", "agentid": 1000002, "markdown": map[string]any{"content": "**热线索**"}}, 0},
		{"TemplateCard", fixture(t, "app_template_card.json"), 0},
		{"WrongAgent", map[string]any{"touser": "sales01", "msgtype": "text", "agentid": 1, "text": map[string]any{"content": "x"}}, 40056},
		{"AgentAsString", map[string]any{"touser": "sales01", "msgtype": "text", "agentid": "1000002", "text": map[string]any{"content": "x"}}, 40056},
		{"NoRecipient", map[string]any{"msgtype": "text", "agentid": 1000002, "text": map[string]any{"content": "x"}}, 40003},
		{"EmptyText", map[string]any{"touser": "u", "msgtype": "text", "agentid": 1000002, "text": map[string]any{"content": ""}}, 40058},
		{"LongMarkdown", map[string]any{"touser": "u", "msgtype": "markdown", "agentid": 1000002, "markdown": map[string]any{"content": strings.Repeat("a", 4097)}}, 45002},
		{"BadCardType", map[string]any{"touser": "u", "msgtype": "template_card", "agentid": 1000002, "template_card": map[string]any{"card_type": "x"}}, 40058},
		{"UnknownType", map[string]any{"touser": "u", "msgtype": "sticker", "agentid": 1000002}, 40008},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/cgi-bin/message/send", tc.body)
			if r.code() != tc.want {
				t.Fatalf("errcode %d, want %d (%v)", r.code(), tc.want, r)
			}
			if tc.want == 0 {
				for _, k := range []string{"invaliduser", "invalidparty", "invalidtag", "unlicenseduser", "msgid"} {
					if _, has := r[k]; !has {
						t.Errorf("answer lacks %s: %v", k, r)
					}
				}
			}
		})
	}
	out := e.emu.Outbox()
	if len(out) != 3 {
		t.Fatalf("outbox has %d entries, want 3: %+v", len(out), out)
	}
	if out[0].Channel != "app" || out[0].To != "sales01" || out[0].Content != "新客户：张三" ||
		out[2].MsgType != "template_card" || out[2].Content != "button_interaction" || out[2].To != "sales01|sales02" {
		t.Fatalf("outbox %+v", out)
	}
}

func TestExternalContact(t *testing.T) {
	e := newEnv(t, nil)
	ext := "wmContact01"
	if err := e.emu.AddExternalContact(t.Context(), "sales01", ext, "李四", []string{"13800000000"}); err != nil {
		t.Fatal(err)
	}
	r := e.get("/cgi-bin/externalcontact/get", url.Values{"external_userid": {ext}})
	c := r["external_contact"].(map[string]any)
	follows := r["follow_user"].([]any)
	if r.code() != 0 || c["name"] != "李四" || c["type"].(float64) != 1 || len(follows) != 1 {
		t.Fatalf("get: %v", r)
	}
	f := follows[0].(map[string]any)
	if f["userid"] != "sales01" || f["createtime"] == nil || fmt.Sprint(f["remark_mobiles"]) != "[13800000000]" {
		t.Fatalf("follow_user %v", f)
	}
	if r := e.get("/cgi-bin/externalcontact/get", url.Values{"external_userid": {"wmNobody"}}); r.code() != 40096 {
		t.Fatalf("unknown contact: %d", r.code())
	}

	t.Run("Remark", func(t *testing.T) {
		tests := []struct {
			name string
			body map[string]any
			want int
		}{
			{"OK", map[string]any{"userid": "sales01", "external_userid": ext, "remark": "李四-意向客户", "description": "想买年卡", "remark_mobiles": []string{"13900000000"}}, 0},
			{"NoRelationship", map[string]any{"userid": "sales02", "external_userid": ext, "remark": "x"}, 84061},
			{"RemarkTooLong", map[string]any{"userid": "sales01", "external_userid": ext, "remark": strings.Repeat("长", 21)}, 40058},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if r := e.post("/cgi-bin/externalcontact/remark", tc.body); r.code() != tc.want {
					t.Fatalf("errcode %d, want %d", r.code(), tc.want)
				}
			})
		}
		f := e.get("/cgi-bin/externalcontact/get", url.Values{"external_userid": {ext}})["follow_user"].([]any)[0].(map[string]any)
		if f["remark"] != "李四-意向客户" || f["description"] != "想买年卡" || fmt.Sprint(f["remark_mobiles"]) != "[13900000000]" {
			t.Fatalf("remark not applied: %v", f)
		}
	})
}

func TestSendWelcomeMsg(t *testing.T) {
	rc := newReceiver(t, nil)
	e := newEnv(t, func(c *emulator.Config) { c.AppCallbackURL = rc.srv.URL + "/wecom/app" })
	if err := e.emu.AddExternalContact(t.Context(), "sales01", "wmA", "王五", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.AddExternalContact(t.Context(), "sales01", "wmB", "赵六", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two app callbacks", func() bool { return len(rc.callbacks()) == 2 })
	cbs := rc.callbacks()
	codes := map[string]string{}
	for _, cb := range cbs {
		m := cb.Msg
		if m.Event != "change_external_contact" || m.ChangeType != "add_external_contact" || m.UserID != "sales01" ||
			m.WelcomeCode == "" || cb.Env.AgentID != agentID || cb.Env.ToUserName != corpID {
			t.Fatalf("callback %+v", cb)
		}
		codes[m.ExternalUserID] = m.WelcomeCode
	}
	welcome := func(code string) int {
		return e.post("/cgi-bin/externalcontact/send_welcome_msg", map[string]any{"welcome_code": code, "text": map[string]any{"content": "您好，我是销售小王"}}).code()
	}
	if got := welcome(codes["wmA"]); got != 0 {
		t.Fatalf("first use: %d", got)
	}
	if got := welcome(codes["wmA"]); got != 41051 {
		t.Fatalf("second use: %d, want 41051", got)
	}
	if got := welcome("never-issued"); got != 40058 {
		t.Fatalf("unknown code: %d, want 40058", got)
	}
	e.clock.Advance(20 * time.Second)
	if got := welcome(codes["wmB"]); got != 41051 {
		t.Fatalf("after 20 s: %d, want 41051", got)
	}
	if out := e.emu.Outbox(); len(out) != 1 || out[0].Channel != "welcome" || out[0].To != "wmA" {
		t.Fatalf("outbox %+v", out)
	}
}

func TestWebhook(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.WebhookKey = "robot-key" })
	send := func(key string, body any) int {
		t.Helper()
		_, r := e.do("POST", "/cgi-bin/webhook/send", url.Values{"key": {key}}, body)
		return r.code()
	}
	text := map[string]any{"msgtype": "text", "text": map[string]any{"content": "新线索！", "mentioned_list": []string{"@all"}}}
	tests := []struct {
		name string
		key  string
		body any
		want int
	}{
		{"NoKey", "", text, 93000},
		{"WrongKey", "other", text, 93000},
		{"Markdown", "robot-key", map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": "### 线索\n> <font color=\"warning\">hot</font>"}}, 0},
		{"LongText", "robot-key", map[string]any{"msgtype": "text", "text": map[string]any{"content": strings.Repeat("a", 2049)}}, 45002},
		{"UnknownType", "robot-key", map[string]any{"msgtype": "sticker"}, 40008},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.key, tc.body); got != tc.want {
				t.Fatalf("errcode %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("20PerMinute", func(t *testing.T) {
		for i := range 19 { // the markdown above was the first
			if got := send("robot-key", text); got != 0 {
				t.Fatalf("message %d: %d", i+2, got)
			}
		}
		if got := send("robot-key", text); got != 45009 {
			t.Fatalf("21st message: %d, want 45009", got)
		}
		e.clock.Advance(time.Minute)
		if got := send("robot-key", text); got != 0 {
			t.Fatalf("a minute later: %d", got)
		}
	})
	if out := e.emu.Outbox(); len(out) != 21 || out[0].Channel != "webhook" || out[1].Content != "新线索！" {
		t.Fatalf("outbox has %d entries", len(out))
	}
}

func TestTickets(t *testing.T) {
	e := newEnv(t, nil)
	a := e.get("/cgi-bin/get_jsapi_ticket", nil)
	b := e.get("/cgi-bin/get_jsapi_ticket", nil)
	agent := e.get("/cgi-bin/ticket/get", url.Values{"type": {"agent_config"}})
	if a.code() != 0 || a.str("ticket") == "" || a.str("ticket") != b.str("ticket") || a["expires_in"].(float64) != 7200 {
		t.Fatalf("jsapi tickets %v / %v", a, b)
	}
	if agent.code() != 0 || agent.str("ticket") == "" || agent.str("ticket") == a.str("ticket") {
		t.Fatalf("agent ticket %v", agent)
	}
	if r := e.get("/cgi-bin/ticket/get", url.Values{"type": {"jsapi"}}); r.code() != 40058 {
		t.Fatalf("bad type: %d", r.code())
	}
	if r := e.get("/cgi-bin/ticket/get", nil); r.code() != 40058 {
		t.Fatalf("no type: %d", r.code())
	}
}
