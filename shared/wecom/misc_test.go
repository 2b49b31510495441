package wecom_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/wecomtest"
)

func TestWebhookSend(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		msg     wecom.WebhookMessage
		body    string
		wantErr error
		sent    bool
	}{
		{"text with mentions", "robot-key", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: "new lead!", MentionedList: []string{"sales01", "@all"}, MentionedMobileList: []string{"13800000000"}}},
			`{"msgtype":"text","text":{"content":"new lead!","mentioned_list":["sales01","@all"],"mentioned_mobile_list":["13800000000"]}}`, nil, true},
		{"markdown", "robot-key", wecom.WebhookMessage{Markdown: &wecom.WebhookMarkdown{Content: "### Lead"}},
			`{"msgtype":"markdown","markdown":{"content":"### Lead"}}`, nil, true},
		{"text at the byte limit", "robot-key", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: strings.Repeat("中", 682)}}, "", nil, true},
		{"text over 2048 bytes", "robot-key", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: strings.Repeat("中", 683)}}, "", domain.ErrInvalid, false},
		{"markdown over 4096 bytes", "robot-key", wecom.WebhookMessage{Markdown: &wecom.WebhookMarkdown{Content: strings.Repeat("a", 4097)}}, "", domain.ErrInvalid, false},
		{"both bodies", "robot-key", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: "a"}, Markdown: &wecom.WebhookMarkdown{Content: "b"}}, "", domain.ErrInvalid, false},
		{"bad key", "other-key", wecom.WebhookMessage{Text: &wecom.WebhookText{Content: "a"}}, "", domain.ErrConfig, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := wecomtest.New(t, testCorp, testSecret)
			w := wecom.NewWebhook(wecom.WithBaseURL(srv.URL))
			err := w.Send(t.Context(), tc.key, tc.msg)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			reqs := srv.Requests("/cgi-bin/webhook/send")
			if (len(reqs) == 1) != tc.sent {
				t.Fatalf("%d requests, want sent=%v", len(reqs), tc.sent)
			}
			if tc.body != "" {
				assertJSONEqual(t, reqs[0].Body, tc.body)
			}
			if tc.sent && reqs[0].Query.Get("key") != tc.key {
				t.Errorf("key = %q", reqs[0].Query.Get("key"))
			}
			if err != nil && strings.Contains(err.Error(), tc.key) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestJSSDKSignature(t *testing.T) {
	// The worked example of the WeChat JS-SDK signature documentation.
	const (
		ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
		nonce  = "Wm3WZYTPz0wzccnW"
		ts     = "1414587457"
		want   = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
	)
	tests := []struct{ name, url string }{
		{"plain", "http://mp.weixin.qq.com?params=value"},
		{"fragment stripped", "http://mp.weixin.qq.com?params=value#/sidebar?x=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wecom.JSSDKSignature(ticket, nonce, ts, tc.url); got != want {
				t.Errorf("signature = %s, want %s", got, want)
			}
		})
	}
}

func TestReplyToKf(t *testing.T) {
	long := strings.Repeat("价", 700) // 2100 bytes
	tests := []struct {
		name  string
		reply domain.Reply
		check func(t *testing.T, m wecom.KfMessage)
	}{
		{"text", domain.Reply{Text: "hello"}, func(t *testing.T, m wecom.KfMessage) {
			if m.MsgType != "text" || m.Text.Content != "hello" {
				t.Errorf("got %+v", m)
			}
		}},
		{"long text truncated at rune boundary", domain.Reply{Text: long}, func(t *testing.T, m wecom.KfMessage) {
			c := m.Text.Content
			if len(c) > wecom.MaxKfTextBytes || len(c) != 2046 || !utf8.ValidString(c) {
				t.Errorf("len %d valid %v", len(c), utf8.ValidString(c))
			}
		}},
		{"menu", domain.Reply{Text: "Choose", MenuTail: "or type", Menu: []domain.MenuItem{{ID: "1", Text: "Price"}, {ID: "2", Text: "Human"}}}, func(t *testing.T, m wecom.KfMessage) {
			if m.MsgType != "msgmenu" || m.MsgMenu.HeadContent != "Choose" || m.MsgMenu.TailContent != "or type" || len(m.MsgMenu.List) != 2 {
				t.Fatalf("got %+v", m)
			}
			if it := m.MsgMenu.List[1]; it.Type != "click" || it.Click.ID != "2" || it.Click.Content != "Human" {
				t.Errorf("item = %+v", it)
			}
		}},
		{"menu of 12 keeps 10", domain.Reply{Text: "x", Menu: make([]domain.MenuItem, 12)}, func(t *testing.T, m wecom.KfMessage) {
			if len(m.MsgMenu.List) != wecom.MaxKfMenuItems {
				t.Errorf("%d items", len(m.MsgMenu.List))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := wecom.ReplyToKf(tc.reply)
			tc.check(t, m)
			m.ToUser, m.OpenKfID = "wm1", "wk1"
			if tc.name != "menu of 12 keeps 10" { // its items have no content
				if err := m.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
		})
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want int // pieces
	}{
		{"short", "abc", 10, 1},
		{"empty", "", 10, 0},
		{"exact", "abcd", 2, 2},
		{"runes", strings.Repeat("价", 5), 4, 5},
		{"prefers newline", "line one\nline two", 12, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := wecom.SplitText(tc.in, tc.n)
			if len(got) != tc.want || strings.Join(got, "") != tc.in {
				t.Fatalf("SplitText = %q", got)
			}
			for _, p := range got {
				if len(p) > tc.n || !utf8.ValidString(p) {
					t.Errorf("piece %q over %d bytes or split inside a rune", p, tc.n)
				}
			}
		})
	}
	if got := wecom.SplitText("line one\nline two", 12); got[0] != "line one\n" {
		t.Errorf("first piece = %q, want cut after the newline", got[0])
	}
}

func TestReplyMsgID(t *testing.T) {
	a := wecom.ReplyMsgID("from_msgid_4622416642169452483", 0)
	if a != wecom.ReplyMsgID("from_msgid_4622416642169452483", 0) {
		t.Error("not deterministic")
	}
	if a == wecom.ReplyMsgID("from_msgid_4622416642169452483", 1) || a == wecom.ReplyMsgID("other", 0) {
		t.Error("collides")
	}
	m := wecom.KfMessage{MsgID: a, MsgType: "text", Text: &wecom.KfText{Content: "x"}}
	if len(a) != 32 || m.Validate() != nil {
		t.Errorf("msgid %q is not a valid send_msg msgid", a)
	}
}

func TestAPIErrorIs(t *testing.T) {
	tests := []struct {
		code int
		is   []error
		not  []error
	}{
		{-1, []error{domain.ErrUnavailable}, []error{domain.ErrConfig, domain.ErrRateLimited}},
		{45009, []error{domain.ErrRateLimited}, []error{domain.ErrUnavailable}},
		{45033, []error{domain.ErrRateLimited}, nil},
		{40001, []error{domain.ErrConfig}, []error{domain.ErrInvalid}},
		{48002, []error{domain.ErrConfig}, nil},
		{60020, []error{domain.ErrConfig}, nil},
		{95011, []error{domain.ErrConfig}, nil},
		{93000, []error{domain.ErrConfig}, nil},
		{40003, []error{domain.ErrInvalid}, []error{domain.ErrConfig}},
		{40096, []error{domain.ErrInvalid}, nil},
		{95000, []error{domain.ErrInvalid}, nil},
		{95004, []error{domain.ErrInvalid}, nil},
		{84061, []error{domain.ErrNotFound}, nil},
		{41051, []error{wecom.ErrChatStarted, domain.ErrInvalid}, nil},
		{95001, []error{wecom.ErrSendLimit, domain.ErrInvalid}, []error{wecom.ErrSessionState}},
		{95002, []error{wecom.ErrSendLimit}, nil},
		{95018, []error{wecom.ErrSessionState}, []error{wecom.ErrSendLimit}},
		{95016, []error{wecom.ErrSessionState}, nil},
		{95007, []error{wecom.ErrSyncTokenInvalid}, nil},
		{12345, nil, []error{domain.ErrInvalid, domain.ErrConfig, domain.ErrUnavailable, domain.ErrRateLimited}},
	}
	for _, tc := range tests {
		err := error(&wecom.APIError{Code: tc.code, Msg: "m", Path: "/p"})
		wrapped := errors.Join(errors.New("ctx"), err)
		for _, target := range tc.is {
			if !errors.Is(wrapped, target) {
				t.Errorf("%d: want Is(%v)", tc.code, target)
			}
		}
		for _, target := range tc.not {
			if errors.Is(wrapped, target) {
				t.Errorf("%d: want not Is(%v)", tc.code, target)
			}
		}
	}
	if got := (&wecom.APIError{Code: 45009, Msg: "freq", Path: "/cgi-bin/kf/send_msg"}).Error(); got != "wecom: /cgi-bin/kf/send_msg: errcode 45009: freq" {
		t.Errorf("Error() = %q", got)
	}
}
