package wecomtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// Request shapes as documented; decoded strictly so a misspelt tag fails.

type text struct {
	Content string `json:"content"`
	MenuID  string `json:"menu_id"`
}

type media struct {
	MediaID string `json:"media_id"`
}

type link struct {
	Title        string `json:"title"`
	Desc         string `json:"desc"`
	URL          string `json:"url"`
	ThumbMediaID string `json:"thumb_media_id"`
}

type miniProgram struct {
	AppID        string `json:"appid"`
	Title        string `json:"title"`
	ThumbMediaID string `json:"thumb_media_id"`
	PagePath     string `json:"pagepath"`
}

type menuItem struct {
	Type  string `json:"type"`
	Click *struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	} `json:"click"`
	View *struct {
		URL     string `json:"url"`
		Content string `json:"content"`
	} `json:"view"`
	MiniProgram *struct {
		AppID    string `json:"appid"`
		PagePath string `json:"pagepath"`
		Content  string `json:"content"`
	} `json:"miniprogram"`
}

type msgMenu struct {
	HeadContent string     `json:"head_content"`
	List        []menuItem `json:"list"`
	TailContent string     `json:"tail_content"`
}

type kfSend struct {
	ToUser      string       `json:"touser"`
	OpenKfID    string       `json:"open_kfid"`
	Code        string       `json:"code"`
	MsgID       string       `json:"msgid"`
	MsgType     string       `json:"msgtype"`
	Text        *text        `json:"text"`
	Image       *media       `json:"image"`
	Voice       *media       `json:"voice"`
	Video       *media       `json:"video"`
	File        *media       `json:"file"`
	Link        *link        `json:"link"`
	MiniProgram *miniProgram `json:"miniprogram"`
	MsgMenu     *msgMenu     `json:"msgmenu"`
}

var msgIDRe = regexp.MustCompile(`^[0-9a-zA-Z_-]{0,32}$`)

func (m *kfSend) check() error {
	if !msgIDRe.MatchString(m.MsgID) {
		return fmt.Errorf("bad msgid %q", m.MsgID)
	}
	set := map[string]bool{
		"text": m.Text != nil, "image": m.Image != nil, "voice": m.Voice != nil, "video": m.Video != nil,
		"file": m.File != nil, "link": m.Link != nil, "miniprogram": m.MiniProgram != nil, "msgmenu": m.MsgMenu != nil,
	}
	n := 0
	for _, v := range set {
		if v {
			n++
		}
	}
	if !set[m.MsgType] || n != 1 {
		return fmt.Errorf("msgtype %q does not match the payload", m.MsgType)
	}
	switch m.MsgType {
	case "text":
		if m.Text.Content == "" || len(m.Text.Content) > 2048 || m.Text.MenuID != "" {
			return fmt.Errorf("text content must be 1..2048 bytes")
		}
	case "msgmenu":
		mm := m.MsgMenu
		if len(mm.List) == 0 || len(mm.List) > 10 || len(mm.HeadContent) > 1024 || len(mm.TailContent) > 1024 {
			return fmt.Errorf("msgmenu limits")
		}
		for _, it := range mm.List {
			ok := it.Type == "click" && it.Click != nil && it.Click.Content != "" ||
				it.Type == "view" && it.View != nil && it.View.URL != "" ||
				it.Type == "miniprogram" && it.MiniProgram != nil && it.MiniProgram.AppID != ""
			if !ok {
				return fmt.Errorf("menu item %+v", it)
			}
		}
	case "image", "voice", "video", "file":
		for _, md := range []*media{m.Image, m.Voice, m.Video, m.File} {
			if md != nil && md.MediaID == "" {
				return fmt.Errorf("empty media_id")
			}
		}
	}
	return nil
}

func required(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fmt.Errorf("%w: %s", errMissing, fields[i])
		}
	}
	return nil
}

func noBody(body []byte) error {
	if len(body) != 0 {
		return fmt.Errorf("GET with a body")
	}
	return nil
}

// endpoints is the read-only table of documented endpoints.
var endpoints = map[string]endpoint{
	"/cgi-bin/gettoken": {
		method: http.MethodGet,
		check:  func(q url.Values, body []byte) error { return noBody(body) },
		answer: func(s *Server, q url.Values, _ []byte) any {
			if q.Get("corpid") != s.CorpID || q.Get("corpsecret") != s.Secret {
				return map[string]any{"errcode": 40001, "errmsg": "invalid credential"}
			}
			t, ttl := s.issue("token")
			return map[string]any{"errcode": 0, "errmsg": "ok", "access_token": t, "expires_in": ttl}
		},
	},
	"/cgi-bin/get_jsapi_ticket": {
		method: http.MethodGet, auth: true,
		check: func(q url.Values, body []byte) error { return noBody(body) },
		answer: func(s *Server, _ url.Values, _ []byte) any {
			t, ttl := s.issue("jsapi")
			return map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": ttl}
		},
	},
	"/cgi-bin/ticket/get": {
		method: http.MethodGet, auth: true,
		check: func(q url.Values, body []byte) error {
			if q.Get("type") != "agent_config" {
				return fmt.Errorf("type=%q, want agent_config", q.Get("type"))
			}
			return noBody(body)
		},
		answer: func(s *Server, _ url.Values, _ []byte) any {
			t, ttl := s.issue("agent")
			return map[string]any{"errcode": 0, "errmsg": "ok", "ticket": t, "expires_in": ttl}
		},
	},
	"/cgi-bin/kf/sync_msg": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				Cursor      string `json:"cursor"`
				Token       string `json:"token"`
				Limit       int    `json:"limit"`
				VoiceFormat int    `json:"voice_format"`
				OpenKfID    string `json:"open_kfid"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			if len(r.Cursor) > 64 || len(r.Token) > 128 || r.Limit < 0 || r.Limit > 1000 || r.VoiceFormat < 0 || r.VoiceFormat > 1 {
				return fmt.Errorf("sync_msg limits")
			}
			return nil
		},
		answer: func(*Server, url.Values, []byte) any {
			return map[string]any{"errcode": 0, "errmsg": "ok", "next_cursor": "", "has_more": 0, "msg_list": []any{}}
		},
	},
	"/cgi-bin/kf/send_msg": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var m kfSend
			if err := decodeStrict(body, &m); err != nil {
				return err
			}
			if m.Code != "" {
				return fmt.Errorf("code belongs to send_msg_on_event")
			}
			if err := required("touser", m.ToUser, "open_kfid", m.OpenKfID); err != nil {
				return err
			}
			return m.check()
		},
		answer: answerMsgID,
	},
	"/cgi-bin/kf/send_msg_on_event": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var m kfSend
			if err := decodeStrict(body, &m); err != nil {
				return err
			}
			if m.ToUser != "" || m.OpenKfID != "" {
				return fmt.Errorf("touser/open_kfid belong to send_msg")
			}
			if m.MsgType != "text" && m.MsgType != "msgmenu" {
				return fmt.Errorf("msgtype %q not allowed on event", m.MsgType)
			}
			if err := required("code", m.Code); err != nil {
				return err
			}
			return m.check()
		},
		answer: answerMsgID,
	},
	"/cgi-bin/kf/service_state/get": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				OpenKfID       string `json:"open_kfid"`
				ExternalUserID string `json:"external_userid"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			return required("open_kfid", r.OpenKfID, "external_userid", r.ExternalUserID)
		},
		answer: func(*Server, url.Values, []byte) any {
			return map[string]any{"errcode": 0, "errmsg": "ok", "service_state": 1}
		},
	},
	"/cgi-bin/kf/service_state/trans": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				OpenKfID       string `json:"open_kfid"`
				ExternalUserID string `json:"external_userid"`
				ServiceState   *int   `json:"service_state"`
				ServicerUserID string `json:"servicer_userid"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			if err := required("open_kfid", r.OpenKfID, "external_userid", r.ExternalUserID); err != nil {
				return err
			}
			if r.ServiceState == nil || *r.ServiceState < 0 || *r.ServiceState > 4 {
				return fmt.Errorf("service_state missing or out of range")
			}
			if *r.ServiceState == 3 && r.ServicerUserID == "" {
				return fmt.Errorf("servicer_userid required for state 3")
			}
			return nil
		},
		answer: func(*Server, url.Values, []byte) any {
			return map[string]any{"errcode": 0, "errmsg": "ok", "msg_code": "MSGCODE"}
		},
	},
	"/cgi-bin/kf/customer/batchget": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				List    []string `json:"external_userid_list"`
				Context *int     `json:"need_enter_session_context"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			if len(r.List) == 0 || len(r.List) > 100 {
				return fmt.Errorf("external_userid_list has %d ids, want 1..100", len(r.List))
			}
			return nil
		},
		answer: func(_ *Server, _ url.Values, body []byte) any {
			var r struct {
				List []string `json:"external_userid_list"`
			}
			_ = json.Unmarshal(body, &r) // already validated
			var list []map[string]any
			for _, id := range r.List {
				list = append(list, map[string]any{"external_userid": id, "nickname": "nick-" + id, "gender": 1,
					"enter_session_context": map[string]any{"scene": "ad", "scene_param": "p"}})
			}
			return map[string]any{"errcode": 0, "errmsg": "ok", "customer_list": list, "invalid_external_userid": []string{}}
		},
	},
	"/cgi-bin/message/send": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				ToUser                 string          `json:"touser"`
				ToParty                string          `json:"toparty"`
				ToTag                  string          `json:"totag"`
				MsgType                string          `json:"msgtype"`
				AgentID                int64           `json:"agentid"`
				Text                   *text           `json:"text"`
				Markdown               *text           `json:"markdown"`
				TemplateCard           json.RawMessage `json:"template_card"`
				Safe                   int             `json:"safe"`
				EnableIDTrans          int             `json:"enable_id_trans"`
				EnableDuplicateCheck   int             `json:"enable_duplicate_check"`
				DuplicateCheckInterval int             `json:"duplicate_check_interval"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			if r.ToUser == "" && r.ToParty == "" && r.ToTag == "" {
				return fmt.Errorf("no recipients")
			}
			if r.AgentID <= 0 {
				return fmt.Errorf("agentid missing")
			}
			switch r.MsgType {
			case "text":
				if r.Text == nil || r.Text.Content == "" {
					return fmt.Errorf("text without content")
				}
			case "markdown":
				if r.Markdown == nil || r.Markdown.Content == "" {
					return fmt.Errorf("markdown without content")
				}
			case "template_card":
				var card struct {
					CardType string `json:"card_type"`
				}
				if err := json.Unmarshal(r.TemplateCard, &card); err != nil || card.CardType == "" {
					return fmt.Errorf("template_card without card_type")
				}
			default:
				return fmt.Errorf("msgtype %q", r.MsgType)
			}
			return nil
		},
		answer: func(*Server, url.Values, []byte) any {
			return map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "appmsg-1"}
		},
	},
	"/cgi-bin/externalcontact/get": {
		method: http.MethodGet, auth: true,
		check: func(q url.Values, body []byte) error {
			if err := required("external_userid", q.Get("external_userid")); err != nil {
				return err
			}
			return noBody(body)
		},
		answer: func(_ *Server, q url.Values, _ []byte) any {
			return map[string]any{"errcode": 0, "errmsg": "ok",
				"external_contact": map[string]any{"external_userid": q.Get("external_userid"), "name": "Customer", "type": 1},
				"follow_user":      []any{}, "next_cursor": ""}
		},
	},
	"/cgi-bin/externalcontact/send_welcome_msg": {
		method: http.MethodPost, auth: true,
		check: func(_ url.Values, body []byte) error {
			var r struct {
				WelcomeCode string          `json:"welcome_code"`
				Text        *text           `json:"text"`
				Attachments json.RawMessage `json:"attachments"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			if r.Text == nil && len(r.Attachments) == 0 {
				return fmt.Errorf("neither text nor attachments")
			}
			return required("welcome_code", r.WelcomeCode)
		},
		answer: func(*Server, url.Values, []byte) any { return map[string]any{"errcode": 0, "errmsg": "ok"} },
	},
	"/cgi-bin/webhook/send": {
		method: http.MethodPost,
		check: func(q url.Values, body []byte) error {
			var r struct {
				MsgType string `json:"msgtype"`
				Text    *struct {
					Content             string   `json:"content"`
					MentionedList       []string `json:"mentioned_list"`
					MentionedMobileList []string `json:"mentioned_mobile_list"`
				} `json:"text"`
				Markdown *text `json:"markdown"`
			}
			if err := decodeStrict(body, &r); err != nil {
				return err
			}
			switch {
			case r.MsgType == "text" && r.Text != nil && r.Markdown == nil:
				if r.Text.Content == "" || len(r.Text.Content) > 2048 {
					return fmt.Errorf("text content must be 1..2048 bytes")
				}
			case r.MsgType == "markdown" && r.Markdown != nil && r.Text == nil:
				if r.Markdown.Content == "" || len(r.Markdown.Content) > 4096 {
					return fmt.Errorf("markdown content must be 1..4096 bytes")
				}
			default:
				return fmt.Errorf("msgtype %q does not match the payload", r.MsgType)
			}
			return required("key", q.Get("key"))
		},
		answer: func(s *Server, q url.Values, _ []byte) any {
			if q.Get("key") != s.WebhookKey {
				return map[string]any{"errcode": 93000, "errmsg": "invalid webhook url"}
			}
			return map[string]any{"errcode": 0, "errmsg": "ok"}
		},
	},
}

func answerMsgID(s *Server, _ url.Values, body []byte) any {
	var m struct {
		MsgID string `json:"msgid"`
	}
	_ = json.Unmarshal(body, &m) // already validated
	if m.MsgID == "" {
		s.mu.Lock()
		s.seq++
		m.MsgID = fmt.Sprintf("srvmsg%d", s.seq)
		s.mu.Unlock()
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "msgid": m.MsgID}
}
