package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  emulator.Config
	}{
		{"NoCorpID", emulator.Config{Token: "t", EncodingAESKey: aesKey}},
		{"NoToken", emulator.Config{CorpID: corpID, EncodingAESKey: aesKey}},
		{"BadKey", emulator.Config{CorpID: corpID, Token: "t", EncodingAESKey: "short"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := emulator.New(tc.cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestGetToken(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, corp, secret string
		want               int
	}{
		{"KfSecret", corpID, kfSecret, 0},
		{"AppSecret", corpID, "app-secret", 0},
		{"ContactSecret", corpID, "contact-secret", 0},
		{"BadSecret", corpID, "nope", 40001},
		{"EmptySecret", corpID, "", 40001},
		{"BadCorp", "wwOther", kfSecret, 40013},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, r := e.do("GET", "/cgi-bin/gettoken", url.Values{"corpid": {tc.corp}, "corpsecret": {tc.secret}}, nil)
			if r.code() != tc.want {
				t.Fatalf("errcode = %d, want %d (%v)", r.code(), tc.want, r)
			}
			if tc.want == 0 && (r.str("access_token") == "" || r["expires_in"].(float64) != 60) {
				t.Fatalf("bad token answer %v", r)
			}
		})
	}
	if s := e.emu.Stats(); s.TokensIssued != 3 || s.GetTokenCalls != 6 {
		t.Fatalf("stats = %+v, want 3 issued of 6 calls", s)
	}
}

func TestAccessToken(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token()
	check := func(q url.Values, want int) {
		t.Helper()
		_, r := e.do("GET", "/cgi-bin/get_jsapi_ticket", q, nil)
		if r.code() != want {
			t.Fatalf("errcode = %d, want %d", r.code(), want)
		}
	}
	t.Run("Valid", func(t *testing.T) { check(url.Values{"access_token": {tok}}, 0) })
	t.Run("Missing", func(t *testing.T) { check(nil, 41001) })
	t.Run("Unknown", func(t *testing.T) { check(url.Values{"access_token": {"forged"}}, 40014) })
	t.Run("InBodyNotQuery", func(t *testing.T) {
		_, r := e.do("POST", "/cgi-bin/kf/sync_msg", nil, map[string]any{"access_token": tok})
		if r.code() != 41001 {
			t.Fatalf("errcode = %d, want 41001", r.code())
		}
	})
	t.Run("JustBeforeExpiry", func(t *testing.T) {
		e.clock.Advance(59 * time.Second)
		check(url.Values{"access_token": {tok}}, 0)
	})
	t.Run("Expired", func(t *testing.T) {
		e.clock.Advance(time.Second)
		check(url.Values{"access_token": {tok}}, 42001)
	})
}

func TestRouting(t *testing.T) {
	e := newEnv(t, nil)
	tok := url.Values{"access_token": {e.token()}}
	t.Run("UnknownPath", func(t *testing.T) {
		status, r := e.do("POST", "/cgi-bin/kf/nope", tok, "{}")
		if status != http.StatusNotFound || r.code() != 404 {
			t.Fatalf("status %d errcode %d", status, r.code())
		}
	})
	t.Run("WrongMethod", func(t *testing.T) {
		if _, r := e.do("GET", "/cgi-bin/kf/send_msg", tok, nil); r.code() != 43002 {
			t.Fatalf("errcode %d, want 43002", r.code())
		}
	})
	for _, path := range []string{"/cgi-bin/kf/sync_msg", "/cgi-bin/kf/send_msg", "/cgi-bin/kf/send_msg_on_event",
		"/cgi-bin/kf/service_state/get", "/cgi-bin/kf/service_state/trans", "/cgi-bin/kf/customer/batchget",
		"/cgi-bin/message/send", "/cgi-bin/externalcontact/send_welcome_msg", "/cgi-bin/externalcontact/remark"} {
		t.Run("Malformed"+path, func(t *testing.T) {
			for _, body := range []string{"{not json", "", "[1,2]", `"text"`, `{"a":1}}`} {
				if _, r := e.do("POST", path, tok, body); r.code() != 47001 {
					t.Fatalf("body %q: errcode %d, want 47001", body, r.code())
				}
			}
		})
	}
	typed := []struct{ path, body string }{
		{"/cgi-bin/kf/sync_msg", `{"limit":"ten"}`},
		{"/cgi-bin/kf/send_msg", `{"touser":5}`},
		{"/cgi-bin/kf/service_state/trans", `{"service_state":"3"}`},
		{"/cgi-bin/kf/customer/batchget", `{"external_userid_list":"wm1"}`},
		{"/cgi-bin/message/send", `{"text":"hi"}`},
	}
	for _, tc := range typed {
		t.Run("WrongType"+tc.path, func(t *testing.T) {
			if _, r := e.do("POST", tc.path, tok, tc.body); r.code() != 47001 {
				t.Fatalf("errcode %d, want 47001", r.code())
			}
		})
	}
	t.Run("MalformedWebhook", func(t *testing.T) {
		if _, r := e.do("POST", "/cgi-bin/webhook/send", url.Values{"key": {"k"}}, "[1,"); r.code() != 47001 {
			t.Fatalf("errcode %d, want 47001", r.code())
		}
	})
}

func TestSyncMsgPaging(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	for i := range 5 {
		if err := e.emu.CustomerSays(ctx, cust, fmt.Sprintf("第%d条消息", i)); err != nil {
			t.Fatal(err)
		}
	}
	cursor := ""
	var got []string
	for page := 0; ; page++ {
		r := e.post("/cgi-bin/kf/sync_msg", map[string]any{"cursor": cursor, "limit": 2, "open_kfid": openKf})
		if r.code() != 0 {
			t.Fatalf("page %d: %v", page, r)
		}
		list := r["msg_list"].([]any)
		if len(list) > 2 {
			t.Fatalf("page %d has %d items, limit 2", page, len(list))
		}
		for _, it := range list {
			m := it.(map[string]any)
			if m["origin"].(float64) != 3 || m["external_userid"] != cust || m["open_kfid"] != openKf || m["msgtype"] != "text" || m["msgid"] == "" {
				t.Fatalf("bad item %v", m)
			}
			got = append(got, m["text"].(map[string]any)["content"].(string))
		}
		cursor = r.str("next_cursor")
		if r["has_more"].(float64) == 0 {
			if page != 2 {
				t.Fatalf("has_more ended on page %d, want 2", page)
			}
			break
		}
	}
	if strings.Join(got, ",") != "第0条消息,第1条消息,第2条消息,第3条消息,第4条消息" {
		t.Fatalf("messages = %v", got)
	}
	// Once drained, the saved cursor only returns new messages.
	if err := e.emu.CustomerSays(ctx, cust, "新的"); err != nil {
		t.Fatal(err)
	}
	r := e.post("/cgi-bin/kf/sync_msg", map[string]any{"cursor": cursor})
	if list := r["msg_list"].([]any); len(list) != 1 || r["has_more"].(float64) != 0 {
		t.Fatalf("after cursor: %v", r)
	}

	errs := []struct {
		name string
		body map[string]any
		want int
	}{
		{"LimitTooBig", map[string]any{"limit": 1001}, 40058},
		{"NegativeLimit", map[string]any{"limit": -1}, 40058},
		{"GarbageCursor", map[string]any{"cursor": "!!"}, 40058},
		{"CursorPastEnd", map[string]any{"cursor": "ZW11Ojk5"}, 40058}, // "emu:99"
		{"UnknownToken", map[string]any{"token": "ENCforged"}, 95007},
		{"OtherKf", map[string]any{"open_kfid": "wkOTHER"}, 95000},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.post("/cgi-bin/kf/sync_msg", tc.body); r.code() != tc.want {
				t.Fatalf("errcode %d, want %d", r.code(), tc.want)
			}
		})
	}
	if s := e.emu.Stats(); s.SyncMsgCalls != 4+len(errs) {
		t.Fatalf("SyncMsgCalls = %d", s.SyncMsgCalls)
	}
}

func TestSendMsg(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.TokenTTL = 100 * time.Hour })
	ctx := t.Context()
	if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "hi")); r.code() != 40096 {
		t.Fatalf("unknown customer: errcode %d, want 40096", r.code())
	}
	if err := e.emu.CustomerSays(ctx, cust, "你好"); err != nil {
		t.Fatal(err)
	}

	t.Run("IdempotentMsgID", func(t *testing.T) {
		r1 := e.post("/cgi-bin/kf/send_msg", sendText(cust, "reply-1", "您好！"))
		r2 := e.post("/cgi-bin/kf/send_msg", sendText(cust, "reply-1", "您好！"))
		if r1.code() != 0 || r2.code() != 0 || r1.str("msgid") != "reply-1" || r2.str("msgid") != "reply-1" {
			t.Fatalf("answers %v / %v", r1, r2)
		}
		if lines := e.emu.Transcript(cust); len(lines) != 2 || lines[1].From != "bot" || lines[1].Text != "您好！" {
			t.Fatalf("transcript %+v", lines)
		}
	})
	t.Run("EchoedInSyncMsg", func(t *testing.T) {
		msgs := e.sync()
		last := msgs[len(msgs)-1]
		if last["origin"].(float64) != 5 || last["msgid"] != "reply-1" || last["servicer_userid"] != nil {
			t.Fatalf("echo = %v", last)
		}
	})
	t.Run("GeneratedMsgID", func(t *testing.T) {
		if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "second")); r.code() != 0 || len(r.str("msgid")) == 0 {
			t.Fatalf("answer %v", r)
		}
	})
	t.Run("Menu", func(t *testing.T) {
		r := e.post("/cgi-bin/kf/send_msg", fixture(t, "send_msg_menu.json"))
		if r.code() != 0 {
			t.Fatalf("answer %v", r)
		}
		lines := e.emu.Transcript(cust)
		m := lines[len(lines)-1].Menu
		if m == nil || len(m.Items) != 3 || m.Items[0].ID != "101" || m.Items[0].Content != "价格" || m.Tail == "" {
			t.Fatalf("menu line %+v", lines[len(lines)-1])
		}
	})
	bad := []struct {
		name string
		body any
		want int
	}{
		{"BadMsgID", sendText(cust, "has space", "x"), 40058},
		{"LongMsgID", sendText(cust, strings.Repeat("a", 33), "x"), 40058},
		{"EmptyText", sendText(cust, "", ""), 40058},
		{"TooLong", sendText(cust, "", strings.Repeat("长", 683)), 45002},
		{"UnknownType", map[string]any{"touser": cust, "open_kfid": openKf, "msgtype": "sticker"}, 40008},
		{"ImageNoMedia", map[string]any{"touser": cust, "open_kfid": openKf, "msgtype": "image", "image": map[string]any{}}, 40058},
		{"OtherKf", map[string]any{"touser": cust, "open_kfid": "wkX", "msgtype": "text", "text": map[string]any{"content": "x"}}, 95000},
		{"MenuTooMany", map[string]any{"touser": cust, "open_kfid": openKf, "msgtype": "msgmenu",
			"msgmenu": map[string]any{"list": strings.Repeat("x", 11)}}, 47001},
	}
	items := make([]any, 11)
	for i := range items {
		items[i] = map[string]any{"type": "click", "click": map[string]any{"id": fmt.Sprint(i), "content": "c"}}
	}
	bad = append(bad, struct {
		name string
		body any
		want int
	}{"Menu11Items", map[string]any{"touser": cust, "open_kfid": openKf, "msgtype": "msgmenu",
		"msgmenu": map[string]any{"head_content": "h", "list": items}}, 40058})
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.post("/cgi-bin/kf/send_msg", tc.body); r.code() != tc.want {
				t.Fatalf("errcode %d, want %d (%v)", r.code(), tc.want, r)
			}
		})
	}
	t.Run("FiveMessageLimit", func(t *testing.T) {
		// reply-1, second and the menu used 3 of 5.
		for i := range 2 {
			if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", fmt.Sprint(i))); r.code() != 0 {
				t.Fatalf("send %d: %v", i, r)
			}
		}
		if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "6th")); r.code() != 95001 {
			t.Fatalf("6th: errcode %d, want 95001", r.code())
		}
		if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "reply-1", "您好！")); r.code() != 0 {
			t.Fatalf("idempotent replay must still answer ok: %v", r)
		}
		if err := e.emu.CustomerSays(ctx, cust, "还在吗"); err != nil {
			t.Fatal(err)
		}
		if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "在的")); r.code() != 0 {
			t.Fatalf("after new customer message: %v", r)
		}
	})
	t.Run("48hWindow", func(t *testing.T) {
		e.clock.Advance(48*time.Hour + time.Second)
		if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "late")); r.code() != 95002 {
			t.Fatalf("errcode %d, want 95002", r.code())
		}
	})
	if s := e.emu.Stats(); s.SendMsgCalls != 5+len(bad)+6 {
		t.Fatalf("SendMsgCalls = %d", s.SendMsgCalls)
	}
}

func TestServiceState(t *testing.T) {
	type step struct {
		to       int
		servicer string
		want     int
		code     bool // a msg_code is expected
	}
	tests := []struct {
		name  string
		steps []step
		final int
	}{
		{"BotThenQueueThenHuman", []step{{1, "", 0, false}, {2, "", 0, true}, {3, "sales01", 0, false}}, 3},
		{"NewToHuman", []step{{3, "sales01", 0, true}, {3, "sales02", 0, false}, {4, "", 0, true}}, 4},
		{"HumanNeedsServicer", []step{{3, "", 95014, false}}, 0},
		{"SameServicer", []step{{3, "sales01", 0, true}, {3, "sales01", 95016, false}}, 3},
		{"NewCannotEnd", []step{{4, "", 95016, false}}, 0},
		{"NoWayBack", []step{{1, "", 0, false}, {0, "", 95016, false}}, 1},
		{"QueueToBot", []step{{2, "", 0, true}, {1, "", 95016, false}}, 2},
		{"EndedIsFinal", []step{{1, "", 0, false}, {4, "", 0, true}, {1, "", 95016, false}, {3, "s", 95016, false}}, 4},
		{"OutOfRange", []step{{9, "", 95016, false}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if err := e.emu.CustomerSays(t.Context(), cust, "hi"); err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				r := e.post("/cgi-bin/kf/service_state/trans", map[string]any{"open_kfid": openKf,
					"external_userid": cust, "service_state": s.to, "servicer_userid": s.servicer})
				if r.code() != s.want || (r.str("msg_code") != "") != s.code {
					t.Fatalf("step %d (→%d): %v, want errcode %d code=%v", i, s.to, r, s.want, s.code)
				}
			}
			r := e.post("/cgi-bin/kf/service_state/get", map[string]any{"open_kfid": openKf, "external_userid": cust})
			if r.code() != 0 || int(r["service_state"].(float64)) != tc.final {
				t.Fatalf("get: %v, want state %d", r, tc.final)
			}
			if _, has := r["servicer_userid"]; has != (tc.final == 3) {
				t.Fatalf("servicer_userid present=%v in state %d", has, tc.final)
			}
		})
	}
	t.Run("UnknownCustomer", func(t *testing.T) {
		e := newEnv(t, nil)
		r := e.post("/cgi-bin/kf/service_state/get", map[string]any{"open_kfid": openKf, "external_userid": "wmNobody"})
		if r.code() != 40096 {
			t.Fatalf("errcode %d", r.code())
		}
	})
	t.Run("QueuedAndEndedForbidSending", func(t *testing.T) {
		e := newEnv(t, nil)
		if err := e.emu.CustomerSays(t.Context(), cust, "hi"); err != nil {
			t.Fatal(err)
		}
		for _, to := range []int{2, 4} {
			if r := e.post("/cgi-bin/kf/service_state/trans", map[string]any{"open_kfid": openKf, "external_userid": cust, "service_state": to}); r.code() != 0 {
				t.Fatal(r)
			}
			if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "x")); r.code() != 95018 {
				t.Fatalf("state %d: errcode %d, want 95018", to, r.code())
			}
		}
	})
}

func TestSendMsgOnEvent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if err := e.emu.CustomerEnters(ctx, cust, "ad_spring"); err != nil {
		t.Fatal(err)
	}
	msgs := e.sync()
	ev := msgs[0]["event"].(map[string]any)
	if msgs[0]["origin"].(float64) != 4 || ev["event_type"] != "enter_session" || ev["scene"] != "ad_spring" {
		t.Fatalf("event %v", msgs[0])
	}
	code, _ := ev["welcome_code"].(string)
	if code == "" {
		t.Fatal("first entry must carry a welcome_code")
	}
	send := func(body map[string]any) resp {
		t.Helper()
		return e.post("/cgi-bin/kf/send_msg_on_event", body)
	}
	if r := send(map[string]any{"code": code, "msgtype": "image", "image": map[string]any{"media_id": "m"}}); r.code() != 40008 {
		t.Fatalf("image: errcode %d, want 40008", r.code())
	}
	if r := send(map[string]any{"code": code, "msgid": "welcome-1", "msgtype": "text", "text": map[string]any{"content": "欢迎光临"}}); r.code() != 0 || r.str("msgid") != "welcome-1" {
		t.Fatalf("welcome: %v", r)
	}
	if r := send(map[string]any{"code": code, "msgtype": "text", "text": map[string]any{"content": "again"}}); r.code() != 40058 {
		t.Fatalf("reused code: errcode %d, want 40058", r.code())
	}
	if lines := e.emu.Transcript(cust); len(lines) != 1 || lines[0].Text != "欢迎光临" || lines[0].From != "bot" {
		t.Fatalf("transcript %+v", lines)
	}
	// Welcomed in the last 48 h: no new welcome_code.
	if err := e.emu.CustomerEnters(ctx, cust, "ad_spring"); err != nil {
		t.Fatal(err)
	}
	msgs = e.sync()
	if _, has := msgs[len(msgs)-1]["event"].(map[string]any)["welcome_code"]; has {
		t.Fatal("second entry within 48 h must not carry a welcome_code")
	}
	// msg_code from a transition is single-use too.
	r := e.post("/cgi-bin/kf/service_state/trans", map[string]any{"open_kfid": openKf, "external_userid": cust, "service_state": 2})
	mc := r.str("msg_code")
	if r := send(map[string]any{"code": mc, "msgtype": "text", "text": map[string]any{"content": "请稍候，正在转人工"}}); r.code() != 0 {
		t.Fatalf("msg_code: %v", r)
	}
	if r := send(map[string]any{"code": mc, "msgtype": "text", "text": map[string]any{"content": "x"}}); r.code() != 40058 {
		t.Fatalf("reused msg_code: %d", r.code())
	}
}

func TestAgentFlow(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	if err := e.emu.AgentTakesOver(ctx, cust, "sales01"); !errors.Is(err, emulator.ErrInvalid) {
		t.Fatalf("take over unknown customer: %v", err)
	}
	if err := e.emu.CustomerSays(ctx, cust, "我要找人工"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.AgentSays(ctx, cust, "sales01", "x"); !errors.Is(err, emulator.ErrInvalid) {
		t.Fatalf("agent speaking before take over: %v", err)
	}
	if err := e.emu.AgentTakesOver(ctx, cust, "sales01"); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.AgentSays(ctx, cust, "sales01", "您好，我是小王"); err != nil {
		t.Fatal(err)
	}
	if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "bot in state 3")); r.code() != 0 {
		t.Fatalf("state 3 allows API sending: %v", r)
	}
	if err := e.emu.EndSession(ctx, cust); err != nil {
		t.Fatal(err)
	}
	if r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "", "after end")); r.code() != 95018 {
		t.Fatalf("after end: errcode %d", r.code())
	}
	msgs := e.sync()
	var kinds []string
	for _, m := range msgs {
		k := fmt.Sprintf("%v/%v", m["origin"], m["msgtype"])
		if ev, isEv := m["event"].(map[string]any); isEv {
			k += fmt.Sprintf("/%v/%v", ev["event_type"], ev["change_type"])
			if ev["msg_code"] == "" {
				t.Errorf("event without msg_code: %v", ev)
			}
		}
		if m["origin"].(float64) == 5 && m["servicer_userid"] != nil {
			k += "/" + m["servicer_userid"].(string)
		}
		kinds = append(kinds, k)
	}
	want := "3/text 4/event/session_status_change/1 5/text/sales01 5/text 4/event/session_status_change/3"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("log = %s\nwant  %s", got, want)
	}
	if st, _ := e.emu.SessionState(cust); st != 4 {
		t.Fatalf("state %d, want 4", st)
	}
	if err := e.emu.CustomerSays(ctx, cust, "又来了"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.emu.SessionState(cust); st != 0 {
		t.Fatalf("a customer message must reopen an ended session; state %d", st)
	}
	var from []string
	for _, l := range e.emu.Transcript(cust) {
		from = append(from, l.From)
	}
	if got := strings.Join(from, ","); got != "customer,agent,bot,customer" {
		t.Fatalf("transcript from = %s", got)
	}
}

func TestMsgSendFail(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.emu.CustomerSays(t.Context(), cust, "hi"); err != nil {
		t.Fatal(err)
	}
	e.emu.FailNextSend(cust, 10)
	r := e.post("/cgi-bin/kf/send_msg", sendText(cust, "doomed", "x"))
	if r.code() != 0 {
		t.Fatalf("accepted send must answer ok: %v", r)
	}
	msgs := e.sync()
	ev := msgs[len(msgs)-1]["event"].(map[string]any)
	if ev["event_type"] != "msg_send_fail" || ev["fail_msgid"] != "doomed" || ev["fail_type"].(float64) != 10 {
		t.Fatalf("event %v", ev)
	}
	if n := len(e.emu.Transcript(cust)); n != 1 {
		t.Fatalf("failed message reached the customer: %d lines", n)
	}
}

func TestInject(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.HangTimeout = 2 * time.Second })
	tok := e.token()
	q := url.Values{"access_token": {tok}}
	e.emu.Inject("/cgi-bin/get_jsapi_ticket", 45009, 2)
	e.emu.Inject("/cgi-bin/get_jsapi_ticket", -1, 1)
	for i, want := range []int{45009, 45009, -1, 0, 0} {
		if _, r := e.do("GET", "/cgi-bin/get_jsapi_ticket", q, nil); r.code() != want {
			t.Fatalf("call %d: errcode %d, want %d", i, r.code(), want)
		}
	}
	e.emu.Inject("/cgi-bin/gettoken", 42001, 1)
	if _, r := e.do("GET", "/cgi-bin/gettoken", url.Values{"corpid": {corpID}, "corpsecret": {kfSecret}}, nil); r.code() != 42001 {
		t.Fatalf("gettoken injected: %v", r)
	}
	t.Run("Hang", func(t *testing.T) {
		e.emu.Inject("/cgi-bin/kf/sync_msg", emulator.Hang, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/cgi-bin/kf/sync_msg?"+q.Encode(), strings.NewReader("{}"))
		start := time.Now()
		_, err := e.srv.Client().Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		if time.Since(start) > time.Second {
			t.Fatal("hang outlived the client")
		}
		if r := e.post("/cgi-bin/kf/sync_msg", map[string]any{}); r.code() != 0 {
			t.Fatalf("after the hang: %v", r)
		}
	})
	if s := e.emu.Stats(); s.Injected != 5 || s.Calls["/cgi-bin/get_jsapi_ticket"] != 5 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCustomerBatchGet(t *testing.T) {
	e := newEnv(t, func(c *emulator.Config) { c.TokenTTL = 100 * time.Hour })
	if err := e.emu.CustomerEnters(t.Context(), cust, "qr_store"); err != nil {
		t.Fatal(err)
	}
	r := e.post("/cgi-bin/kf/customer/batchget", map[string]any{"external_userid_list": []string{cust, "wmNobody"}, "need_enter_session_context": 1})
	list := r["customer_list"].([]any)
	if r.code() != 0 || len(list) != 1 || fmt.Sprint(r["invalid_external_userid"]) != "[wmNobody]" {
		t.Fatalf("answer %v", r)
	}
	c := list[0].(map[string]any)
	if c["external_userid"] != cust || c["nickname"] == "" || c["enter_session_context"].(map[string]any)["scene"] != "qr_store" {
		t.Fatalf("customer %v", c)
	}
	for _, n := range []int{0, 101} {
		if r := e.post("/cgi-bin/kf/customer/batchget", map[string]any{"external_userid_list": make([]string, n)}); r.code() != 40058 {
			t.Fatalf("%d ids: errcode %d", n, r.code())
		}
	}
	e.clock.Advance(49 * time.Hour)
	r = e.post("/cgi-bin/kf/customer/batchget", map[string]any{"external_userid_list": []string{cust}})
	if len(r["customer_list"].([]any)) != 0 {
		t.Fatalf("customer idle for 49 h still returned: %v", r)
	}
}
