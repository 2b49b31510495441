package wecom_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/wecomtest"
)

// TestRequestShapes calls every endpoint and compares the JSON body the fake
// received with the documented shape (the fake also rejects unknown fields
// and missing required ones).
func TestRequestShapes(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		call  func(t *testing.T, c *wecom.Client) (any, error)
		body  string            // expected JSON body; "" for GET
		query map[string]string // expected query values besides access_token
		want  any               // expected result
	}{
		{
			name: "sync_msg",
			path: "/cgi-bin/kf/sync_msg",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				r, err := c.SyncMsg(t.Context(), wecom.SyncMsgRequest{Cursor: "c1", Token: "ENCtok", Limit: 1000, OpenKfID: "wk1"})
				return r.HasMore, err
			},
			body: `{"cursor":"c1","token":"ENCtok","limit":1000,"open_kfid":"wk1"}`,
			want: 0,
		},
		{
			name: "send_msg text with idempotency id",
			path: "/cgi-bin/kf/send_msg",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgID: "abc_1-2", MsgType: "text", Text: &wecom.KfText{Content: "你好"}})
			},
			body: `{"touser":"wm1","open_kfid":"wk1","msgid":"abc_1-2","msgtype":"text","text":{"content":"你好"}}`,
			want: "abc_1-2",
		},
		{
			name: "send_msg menu",
			path: "/cgi-bin/kf/send_msg",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgType: "msgmenu", MsgMenu: &wecom.MsgMenu{
					HeadContent: "Choose",
					List: []wecom.MenuItem{
						{Type: "click", Click: &wecom.MenuClick{ID: "101", Content: "Pricing"}},
						{Type: "view", View: &wecom.MenuView{URL: "https://example.com", Content: "Website"}},
						{Type: "miniprogram", MiniProgram: &wecom.MenuMiniProgram{AppID: "wx1", PagePath: "p/i", Content: "Shop"}},
					},
					TailContent: "Thanks",
				}})
			},
			body: `{"touser":"wm1","open_kfid":"wk1","msgtype":"msgmenu","msgmenu":{"head_content":"Choose","list":[
				{"type":"click","click":{"id":"101","content":"Pricing"}},
				{"type":"view","view":{"url":"https://example.com","content":"Website"}},
				{"type":"miniprogram","miniprogram":{"appid":"wx1","pagepath":"p/i","content":"Shop"}}],"tail_content":"Thanks"}}`,
			want: "srvmsg2",
		},
		{
			name: "send_msg image",
			path: "/cgi-bin/kf/send_msg",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgType: "image", Image: &wecom.Media{MediaID: "MID"}})
			},
			body: `{"touser":"wm1","open_kfid":"wk1","msgtype":"image","image":{"media_id":"MID"}}`,
			want: "srvmsg2",
		},
		{
			name: "send_msg_on_event",
			path: "/cgi-bin/kf/send_msg_on_event",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.SendMsgOnEvent(t.Context(), "WELCOME", wecom.KfMessage{ToUser: "ignored", OpenKfID: "ignored", MsgType: "text", Text: &wecom.KfText{Content: "Hi!"}})
			},
			body: `{"code":"WELCOME","msgtype":"text","text":{"content":"Hi!"}}`,
			want: "srvmsg2",
		},
		{
			name: "service_state/get",
			path: "/cgi-bin/kf/service_state/get",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				st, servicer, err := c.ServiceState(t.Context(), "wk1", "wm1")
				return [2]any{st, servicer}, err
			},
			body: `{"open_kfid":"wk1","external_userid":"wm1"}`,
			want: [2]any{1, ""},
		},
		{
			name: "service_state/trans to bot",
			path: "/cgi-bin/kf/service_state/trans",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.TransServiceState(t.Context(), "wk1", "wm1", wecom.StateBot, "")
			},
			body: `{"open_kfid":"wk1","external_userid":"wm1","service_state":1}`,
			want: "MSGCODE",
		},
		{
			name: "service_state/trans to servicer",
			path: "/cgi-bin/kf/service_state/trans",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return c.TransServiceState(t.Context(), "wk1", "wm1", wecom.StateServicer, "sales01")
			},
			body: `{"open_kfid":"wk1","external_userid":"wm1","service_state":3,"servicer_userid":"sales01"}`,
			want: "MSGCODE",
		},
		{
			name: "customer/batchget",
			path: "/cgi-bin/kf/customer/batchget",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				cs, err := c.BatchGetCustomers(t.Context(), []string{"wm1", "wm2"})
				var names []string
				for _, cu := range cs {
					names = append(names, cu.ExternalUserID+"="+cu.Nickname+"@"+cu.EnterSessionContext.Scene)
				}
				return names, err
			},
			body: `{"external_userid_list":["wm1","wm2"],"need_enter_session_context":1}`,
			want: []string{"wm1=nick-wm1@ad", "wm2=nick-wm2@ad"},
		},
		{
			name: "message/send text",
			path: "/cgi-bin/message/send",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				r, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 1000002, ToUser: []string{"u1", "u2"}, Text: "hello", EnableDuplicateCheck: true, DuplicateCheckInterval: 600})
				return r.MsgID, err
			},
			body: `{"touser":"u1|u2","msgtype":"text","agentid":1000002,"text":{"content":"hello"},"enable_duplicate_check":1,"duplicate_check_interval":600}`,
			want: "appmsg-1",
		},
		{
			name: "message/send markdown",
			path: "/cgi-bin/message/send",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				r, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 7, ToParty: []string{"2"}, Markdown: "**b**"})
				return r.MsgID, err
			},
			body: `{"toparty":"2","msgtype":"markdown","agentid":7,"markdown":{"content":"**b**"}}`,
			want: "appmsg-1",
		},
		{
			name: "message/send text_notice card",
			path: "/cgi-bin/message/send",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				r, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 7, ToUser: []string{"u1"}, TextNotice: &wecom.TextNoticeCard{
					MainTitle:             wecom.CardTitle{Title: "New lead", Desc: "from kf"},
					HorizontalContentList: []wecom.CardKeyValue{{KeyName: "Name", Value: "Li"}},
					CardAction:            wecom.CardAction{Type: 1, URL: "https://crm.example.com/c/1"},
				}})
				return r.MsgID, err
			},
			body: `{"touser":"u1","msgtype":"template_card","agentid":7,"template_card":{"card_type":"text_notice",
				"main_title":{"title":"New lead","desc":"from kf"},"horizontal_content_list":[{"keyname":"Name","value":"Li"}],
				"card_action":{"type":1,"url":"https://crm.example.com/c/1"}}}`,
			want: "appmsg-1",
		},
		{
			name: "message/send raw template_card",
			path: "/cgi-bin/message/send",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				r, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 7, ToTag: []string{"9"}, TemplateCard: json.RawMessage(`{"card_type":"button_interaction","task_id":"t1"}`)})
				return r.MsgID, err
			},
			body: `{"totag":"9","msgtype":"template_card","agentid":7,"template_card":{"card_type":"button_interaction","task_id":"t1"}}`,
			want: "appmsg-1",
		},
		{
			name: "externalcontact/get",
			path: "/cgi-bin/externalcontact/get",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				ec, err := c.GetExternalContact(t.Context(), "wmABC")
				return ec.ExternalUserID + "/" + ec.Name, err
			},
			query: map[string]string{"external_userid": "wmABC"},
			want:  "wmABC/Customer",
		},
		{
			name: "send_welcome_msg",
			path: "/cgi-bin/externalcontact/send_welcome_msg",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				return nil, c.SendWelcomeMsg(t.Context(), "WCODE", "Welcome!")
			},
			body: `{"welcome_code":"WCODE","text":{"content":"Welcome!"}}`,
		},
		{
			name: "get_jsapi_ticket",
			path: "/cgi-bin/get_jsapi_ticket",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				tk, err := c.JSAPITicket(t.Context())
				return strings.HasPrefix(tk, "jsapi-"), err
			},
			want: true,
		},
		{
			name: "ticket/get agent_config",
			path: "/cgi-bin/ticket/get",
			call: func(t *testing.T, c *wecom.Client) (any, error) {
				tk, err := c.AgentConfigTicket(t.Context())
				return strings.HasPrefix(tk, "agent-"), err
			},
			query: map[string]string{"type": "agent_config"},
			want:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv)
			got, err := tc.call(t, c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result = %#v, want %#v", got, tc.want)
			}
			reqs := srv.Requests(tc.path)
			if len(reqs) != 1 {
				t.Fatalf("%d requests to %s, want 1", len(reqs), tc.path)
			}
			r := reqs[0]
			if !strings.HasPrefix(r.Query.Get("access_token"), "token-") {
				t.Errorf("access_token = %q, want an issued token", r.Query.Get("access_token"))
			}
			if strings.Contains(string(r.Body), "access_token") {
				t.Errorf("access_token in the body: %s", r.Body)
			}
			for k, v := range tc.query {
				if r.Query.Get(k) != v {
					t.Errorf("query %s = %q, want %q", k, r.Query.Get(k), v)
				}
			}
			if tc.body == "" {
				if len(r.Body) != 0 {
					t.Errorf("body = %s, want none", r.Body)
				}
				return
			}
			assertJSONEqual(t, r.Body, tc.body)
		})
	}
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}

func TestClientSideValidation(t *testing.T) {
	long := strings.Repeat("a", 2049)
	tests := []struct {
		name string
		call func(t *testing.T, c *wecom.Client) error
	}{
		{"text over 2048 bytes", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgType: "text", Text: &wecom.KfText{Content: long}})
			return err
		}},
		{"msgid too long", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgID: strings.Repeat("x", 33), MsgType: "text", Text: &wecom.KfText{Content: "x"}})
			return err
		}},
		{"msgid bad chars", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgID: "a b", MsgType: "text", Text: &wecom.KfText{Content: "x"}})
			return err
		}},
		{"no touser", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendMsg(t.Context(), wecom.KfMessage{OpenKfID: "wk1", MsgType: "text", Text: &wecom.KfText{Content: "x"}})
			return err
		}},
		{"11 menu items", func(t *testing.T, c *wecom.Client) error {
			mm := &wecom.MsgMenu{}
			for range 11 {
				mm.List = append(mm.List, wecom.MenuItem{Type: "click", Click: &wecom.MenuClick{Content: "x"}})
			}
			_, err := c.SendMsg(t.Context(), wecom.KfMessage{ToUser: "wm1", OpenKfID: "wk1", MsgType: "msgmenu", MsgMenu: mm})
			return err
		}},
		{"image on event", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendMsgOnEvent(t.Context(), "code", wecom.KfMessage{MsgType: "image", Image: &wecom.Media{MediaID: "m"}})
			return err
		}},
		{"state 3 without servicer", func(t *testing.T, c *wecom.Client) error {
			_, err := c.TransServiceState(t.Context(), "wk1", "wm1", 3, "")
			return err
		}},
		{"app message with two bodies", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 1, ToUser: []string{"u"}, Text: "a", Markdown: "b"})
			return err
		}},
		{"app message without recipients", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 1, Text: "a"})
			return err
		}},
		{"sync limit over 1000", func(t *testing.T, c *wecom.Client) error {
			_, err := c.SyncMsg(t.Context(), wecom.SyncMsgRequest{Limit: 1001})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv)
			if err := tc.call(t, c); !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("err = %v, want domain.ErrInvalid", err)
			}
			if n := len(srv.Requests("/cgi-bin/kf/send_msg")) + len(srv.Requests("/cgi-bin/message/send")) +
				len(srv.Requests("/cgi-bin/kf/send_msg_on_event")) + len(srv.Requests("/cgi-bin/kf/service_state/trans")) +
				len(srv.Requests("/cgi-bin/kf/sync_msg")); n != 0 {
				t.Errorf("%d requests sent, want 0", n)
			}
		})
	}
}

func TestSyncMsgDecodesFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/sync_msg.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture map[string]any
	if err := json.Unmarshal(data, &fixture); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t)
	srv.SetResponse("/cgi-bin/kf/sync_msg", fixture)
	c := newClient(t, srv)
	r, err := c.SyncMsg(t.Context(), wecom.SyncMsgRequest{OpenKfID: "wk1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.NextCursor != "4gw7MepFLfgF2VC5npN" || r.HasMore != 1 || len(r.MsgList) != 12 {
		t.Fatalf("page = %q %d %d msgs", r.NextCursor, r.HasMore, len(r.MsgList))
	}
	m := r.MsgList
	checks := []struct {
		name string
		ok   bool
	}{
		{"text", m[0].Origin == wecom.OriginCustomer && m[0].Text.Content == "你好，请问价格？" && m[0].Text.MenuID == "101"},
		{"image", m[1].Image.MediaID == "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"},
		{"location", m[2].Location.Latitude > 23.1 && m[2].Location.Name != ""},
		{"link", m[3].Link.PicURL == "PIC_URL"},
		{"business_card", m[4].BusinessCard.UserID == "zhangsan"},
		{"miniprogram", m[5].MiniProgram.AppID == "wx123123123" && m[5].MiniProgram.PagePath == "PATH"},
		{"servicer echo", m[6].Origin == wecom.OriginServicer && m[6].ServicerUserID == "sales01"},
		{"enter_session", m[7].Event.EventType == wecom.EventEnterSession && m[7].Event.WelcomeCode == "aaaaaa" && m[7].Event.SceneParam == "abc"},
		{"msg_send_fail", m[8].Event.FailMsgID == "FAIL_MSGID" && m[8].Event.FailType == 4},
		{"session_status_change", m[9].Event.ChangeType == 2 && m[9].Event.NewServicerUserID == "NEW" && m[9].Event.MsgCode == "MSG_CODE"},
		{"servicer_status_change", m[10].Event.Status == 2 && m[10].Event.ServicerUserID == "sales01"},
		{"recall", m[11].Event.RecallMsgID == "m2"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s decoded wrong: %+v", ch.name, m)
		}
	}
}

func TestGetExternalContactFollowUsers(t *testing.T) {
	srv := newServer(t)
	srv.SetResponse("/cgi-bin/externalcontact/get", map[string]any{
		"external_contact": map[string]any{"external_userid": "wm1", "name": "Li", "type": 2, "corp_name": "ACME", "gender": 1},
		"follow_user": []any{map[string]any{
			"userid": "sales01", "remark": "VIP", "createtime": 1525779812, "remark_mobiles": []string{"13800000000"},
			"tags": []any{map[string]any{"group_name": "G", "tag_name": "hot", "tag_id": "t1", "type": 1}}, "add_way": 1, "state": "ch_x",
		}},
		"next_cursor": "",
	})
	c := newClient(t, srv)
	ec, err := c.GetExternalContact(t.Context(), "wm1")
	if err != nil {
		t.Fatal(err)
	}
	want := wecom.FollowUser{UserID: "sales01", Remark: "VIP", CreateTime: 1525779812, RemarkMobiles: []string{"13800000000"},
		Tags: []wecom.Tag{{GroupName: "G", TagName: "hot", TagID: "t1", Type: 1}}, AddWay: 1, State: "ch_x"}
	if ec.Name != "Li" || ec.CorpName != "ACME" || ec.Type != 2 || len(ec.FollowUsers) != 1 || !reflect.DeepEqual(ec.FollowUsers[0], want) {
		t.Errorf("contact = %+v", ec)
	}
}

func TestSendWelcomeMsgChatStarted(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	srv.Fail("/cgi-bin/externalcontact/send_welcome_msg", wecomtest.Errcode(41051))
	err := c.SendWelcomeMsg(t.Context(), "WCODE", "hi")
	if !errors.Is(err, wecom.ErrChatStarted) || domain.Retryable(err) {
		t.Fatalf("err = %v, want ErrChatStarted, not retryable", err)
	}
	if n := srv.Calls("/cgi-bin/externalcontact/send_welcome_msg"); n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
}

func TestSendAppMessageInvalidUsers(t *testing.T) {
	srv := newServer(t)
	srv.SetResponse("/cgi-bin/message/send", map[string]any{"invaliduser": "u2|u3", "msgid": "m1"})
	c := newClient(t, srv)
	r, err := c.SendAppMessage(t.Context(), wecom.AppMessage{AgentID: 1, ToUser: []string{"u1", "u2", "u3"}, Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.InvalidUser, []string{"u2", "u3"}) || r.MsgID != "m1" {
		t.Errorf("result = %+v", r)
	}
}

func TestBatchGetCustomersSplitsBy100(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = "wm" + strings.Repeat("x", i%5) + string(rune('a'+i%26))
	}
	cs, err := c.BatchGetCustomers(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 150 || srv.Calls("/cgi-bin/kf/customer/batchget") != 2 {
		t.Errorf("got %d customers in %d calls, want 150 in 2", len(cs), srv.Calls("/cgi-bin/kf/customer/batchget"))
	}
}

func TestTicketsCached(t *testing.T) {
	srv := newServer(t)
	clk := newClock()
	c := newClient(t, srv, wecom.WithClock(clk.Now), wecom.WithTokenStore(newMemStore(clk.Now)))
	for range 3 {
		if _, err := c.JSAPITicket(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AgentConfigTicket(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := srv.Calls("/cgi-bin/get_jsapi_ticket"), srv.Calls("/cgi-bin/ticket/get"); a != 1 || b != 1 {
		t.Errorf("ticket calls = %d, %d, want 1, 1", a, b)
	}
	clk.Advance(2 * time.Hour)
	if _, err := c.JSAPITicket(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls("/cgi-bin/get_jsapi_ticket"); n != 2 {
		t.Errorf("jsapi ticket calls after expiry = %d, want 2", n)
	}
}
