package emulator

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message origins in sync_msg (wecom-protocol.md §3.2).
const (
	originCustomer = 3
	originEvent    = 4
	originServicer = 5
)

// Session states (wecom-protocol.md §3.5).
const (
	stateNew      = 0
	stateBot      = 1
	stateQueued   = 2
	stateHuman    = 3
	stateEnded    = 4
	sendWindow    = 48 * time.Hour
	sendLimit     = 5
	cbTokenTTL    = 10 * time.Minute
	eventCodeTTL  = 48 * time.Hour
	maxSyncLimit  = 1000
	maxTextBytes  = 2048
	maxMenuBytes  = 1024
	maxMenuItems  = 10
	maxBatchUsers = 100
)

// transitions lists the states each service state may move to through
// service_state/trans. 3 → 3 hands the session to another servicer.
var transitions = map[int][]int{
	stateNew:    {stateBot, stateQueued, stateHuman},
	stateBot:    {stateQueued, stateHuman, stateEnded},
	stateQueued: {stateHuman, stateEnded},
	stateHuman:  {stateHuman, stateEnded},
	stateEnded:  {},
}

// kfMsg is one entry of the kf message log that sync_msg pages through.
type kfMsg struct {
	MsgID          string
	ExternalUserID string
	SendTime       time.Time
	Origin         int
	ServicerUserID string
	MsgType        string
	Payload        obj  // the value under the msgtype key
	Bot            bool // sent through the API (send_msg / send_msg_on_event)
}

// json renders m as a sync_msg msg_list item.
func (m *kfMsg) json(openKfID string) obj {
	out := obj{
		"msgid":           m.MsgID,
		"open_kfid":       openKfID,
		"external_userid": m.ExternalUserID,
		"send_time":       m.SendTime.Unix(),
		"origin":          m.Origin,
		"msgtype":         m.MsgType,
		m.MsgType:         m.Payload,
	}
	if m.ServicerUserID != "" {
		out["servicer_userid"] = m.ServicerUserID
	}
	return out
}

// customer is the emulator's view of one WeChat customer and their session.
type customer struct {
	id           string
	nickname     string
	scene        string
	state        int
	servicer     string
	lastMessage  time.Time // last message from the customer; zero if none
	lastActive   time.Time // last message or enter_session
	lastWelcome  time.Time // last welcome message received
	sentSince    int       // API messages since the last customer message
	codeIssued   bool      // a msg_code for 2/3 was issued in this session
	failNextType int       // >0: the next accepted send_msg fails with this fail_type
}

// eventCode is a single-use welcome_code or msg_code for send_msg_on_event.
type eventCode struct {
	user    string
	expires time.Time
	used    bool
	welcome bool
}

var msgIDPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

// syncMsg serves POST /cgi-bin/kf/sync_msg.
func (e *Emulator) syncMsg(c *call) obj {
	var req struct {
		Cursor      string `json:"cursor"`
		Token       string `json:"token"`
		Limit       *int   `json:"limit"`
		VoiceFormat int    `json:"voice_format"`
		OpenKfID    string `json:"open_kfid"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	if req.OpenKfID != "" && req.OpenKfID != e.cfg.OpenKfID {
		return fail(codeInvalidKf)
	}
	if req.Token != "" {
		exp, found := e.cbTokens[req.Token]
		if !found || !c.now.Before(exp) {
			return fail(codeInvalidMsgToken)
		}
	}
	limit := maxSyncLimit
	if req.Limit != nil && *req.Limit != 0 {
		limit = *req.Limit
	}
	if limit < 0 || limit > maxSyncLimit {
		return fail(codeInvalidParam)
	}
	start, valid := decodeCursor(req.Cursor)
	if !valid || start > len(e.kflog) {
		return fail(codeInvalidParam)
	}
	end := min(start+limit, len(e.kflog))
	list := make([]obj, 0, end-start)
	for _, m := range e.kflog[start:end] {
		list = append(list, m.json(e.cfg.OpenKfID))
	}
	hasMore := 0
	if end < len(e.kflog) {
		hasMore = 1
	}
	return ok(obj{"next_cursor": encodeCursor(end), "has_more": hasMore, "msg_list": list})
}

// encodeCursor makes the opaque next_cursor for log position n.
func encodeCursor(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("emu:" + strconv.Itoa(n)))
}

// decodeCursor reverses encodeCursor; the empty cursor is position 0.
func decodeCursor(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if len(s) > 64 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	num, found := strings.CutPrefix(string(b), "emu:")
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// outgoing is the message part shared by send_msg and send_msg_on_event.
type outgoing struct {
	MsgID   string    `json:"msgid"`
	MsgType string    `json:"msgtype"`
	Text    *textBody `json:"text"`
	MsgMenu *struct {
		HeadContent string `json:"head_content"`
		List        []struct {
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
		} `json:"list"`
		TailContent string `json:"tail_content"`
	} `json:"msgmenu"`
}

// payload validates o for the allowed msgtypes and returns the sync_msg
// payload, or a non-zero errcode.
func (o *outgoing) payload(raw []byte, allowed ...string) (obj, int) {
	if o.MsgID != "" && !msgIDPattern.MatchString(o.MsgID) {
		return nil, codeInvalidParam
	}
	allowedType := len(allowed) == 0
	for _, a := range allowed {
		allowedType = allowedType || a == o.MsgType
	}
	if !allowedType {
		return nil, codeInvalidMsgType
	}
	switch o.MsgType {
	case "text":
		content, code := textContent(o.MsgType, o.Text, nil)
		if code != 0 {
			return nil, code
		}
		return obj{"content": content}, 0
	case "msgmenu":
		m := o.MsgMenu
		if m == nil || len(m.List) == 0 && m.HeadContent == "" {
			return nil, codeInvalidParam
		}
		if len(m.List) > maxMenuItems {
			return nil, codeInvalidParam
		}
		if len(m.HeadContent) > maxMenuBytes || len(m.TailContent) > maxMenuBytes {
			return nil, codeContentTooLong
		}
		items := make([]obj, 0, len(m.List))
		for _, it := range m.List {
			switch {
			case it.Type == "click" && it.Click != nil && it.Click.ID != "" && it.Click.Content != "":
				items = append(items, obj{"type": "click", "click": obj{"id": it.Click.ID, "content": it.Click.Content}})
			case it.Type == "view" && it.View != nil && it.View.URL != "" && it.View.Content != "":
				items = append(items, obj{"type": "view", "view": obj{"url": it.View.URL, "content": it.View.Content}})
			case it.Type == "miniprogram" && it.MiniProgram != nil && it.MiniProgram.AppID != "" && it.MiniProgram.Content != "":
				items = append(items, obj{"type": "miniprogram", "miniprogram": obj{"appid": it.MiniProgram.AppID, "pagepath": it.MiniProgram.PagePath, "content": it.MiniProgram.Content}})
			default:
				return nil, codeInvalidParam
			}
		}
		return obj{"head_content": m.HeadContent, "list": items, "tail_content": m.TailContent}, 0
	case "image", "voice", "video", "file", "link", "miniprogram", "location":
		var whole map[string]json.RawMessage
		if json.Unmarshal(raw, &whole) != nil {
			return nil, codeDataFormat
		}
		var p obj
		if json.Unmarshal(whole[o.MsgType], &p) != nil || len(p) == 0 {
			return nil, codeInvalidParam
		}
		switch o.MsgType {
		case "image", "voice", "video", "file":
			if id, _ := p["media_id"].(string); id == "" {
				return nil, codeInvalidParam
			}
		}
		return p, 0
	}
	return nil, codeInvalidMsgType
}

// sendMsg serves POST /cgi-bin/kf/send_msg.
func (e *Emulator) sendMsg(c *call) obj {
	var req struct {
		outgoing
		ToUser   string `json:"touser"`
		OpenKfID string `json:"open_kfid"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	cu, code := e.kfCustomer(req.OpenKfID, req.ToUser)
	if code != 0 {
		return fail(code)
	}
	payload, code := req.payload(c.body)
	if code != 0 {
		return fail(code)
	}
	if e.resent(req.MsgID) {
		return ok(obj{"msgid": req.MsgID})
	}
	switch {
	case cu.state == stateQueued || cu.state == stateEnded:
		return fail(codeSessionForbidden)
	case cu.lastMessage.IsZero() || c.now.Sub(cu.lastMessage) > sendWindow:
		return fail(codeSendWindow)
	case cu.sentSince >= sendLimit:
		return fail(codeSendCountLimit)
	}
	id := e.acceptMsgID(cu, req.MsgID)
	cu.sentSince++
	if ft := cu.failNextType; ft > 0 {
		cu.failNextType = 0
		e.appendEvent(cu, c.now, obj{"event_type": "msg_send_fail", "open_kfid": e.cfg.OpenKfID,
			"external_userid": cu.id, "fail_msgid": id, "fail_type": ft})
		return ok(obj{"msgid": id})
	}
	e.appendBotMsg(cu, c.now, id, req.MsgType, payload)
	return ok(obj{"msgid": id})
}

// sendMsgOnEvent serves POST /cgi-bin/kf/send_msg_on_event.
func (e *Emulator) sendMsgOnEvent(c *call) obj {
	var req struct {
		outgoing
		Code string `json:"code"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	payload, code := req.payload(c.body, "text", "msgmenu")
	if code != 0 {
		return fail(code)
	}
	if e.resent(req.MsgID) {
		return ok(obj{"msgid": req.MsgID})
	}
	ec := e.codes[req.Code]
	if ec == nil || ec.used || !c.now.Before(ec.expires) {
		return fail(codeInvalidParam)
	}
	ec.used = true
	cu := e.customers[ec.user]
	if ec.welcome {
		cu.lastWelcome = c.now
	}
	id := e.acceptMsgID(cu, req.MsgID)
	e.appendBotMsg(cu, c.now, id, req.MsgType, payload)
	return ok(obj{"msgid": id})
}

// kfCustomer returns the customer a request names by open_kfid and
// external_userid, or the errcode for an unknown kf account or customer.
// Callers hold e.mu.
func (e *Emulator) kfCustomer(openKfID, externalUserID string) (*customer, int) {
	if openKfID != e.cfg.OpenKfID {
		return nil, codeInvalidKf
	}
	cu := e.customers[externalUserID]
	if cu == nil {
		return nil, codeInvalidExtUser
	}
	return cu, 0
}

// resent reports whether a send with this msgid was accepted before; the
// retry is answered with the same msgid and adds no message. Callers hold
// e.mu.
func (e *Emulator) resent(msgID string) bool {
	_, dup := e.sent[msgID]
	return msgID != "" && dup
}

// acceptMsgID records msgID (a fresh one when empty) as sent to cu and
// returns it. Callers hold e.mu.
func (e *Emulator) acceptMsgID(cu *customer, msgID string) string {
	if msgID == "" {
		msgID = randomString(32)
	}
	e.sent[msgID] = cu.id
	return msgID
}

// appendBotMsg adds a message sent through the API to cu to the kf log.
// Callers hold e.mu.
func (e *Emulator) appendBotMsg(cu *customer, now time.Time, id, msgType string, payload obj) {
	e.appendMsg(&kfMsg{MsgID: id, ExternalUserID: cu.id, SendTime: now, Origin: originServicer,
		MsgType: msgType, Payload: payload, Bot: true})
}

// serviceStateGet serves POST /cgi-bin/kf/service_state/get.
func (e *Emulator) serviceStateGet(c *call) obj {
	var req struct {
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	cu, code := e.kfCustomer(req.OpenKfID, req.ExternalUserID)
	if code != 0 {
		return fail(code)
	}
	out := obj{"service_state": cu.state}
	if cu.state == stateHuman {
		out["servicer_userid"] = cu.servicer
	}
	return ok(out)
}

// serviceStateTrans serves POST /cgi-bin/kf/service_state/trans.
func (e *Emulator) serviceStateTrans(c *call) obj {
	var req struct {
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		ServiceState   *int   `json:"service_state"`
		ServicerUserID string `json:"servicer_userid"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	cu, code := e.kfCustomer(req.OpenKfID, req.ExternalUserID)
	if code != 0 {
		return fail(code)
	}
	if req.ServiceState == nil {
		return fail(codeInvalidParam)
	}
	to := *req.ServiceState
	allowed := false
	for _, s := range transitions[cu.state] {
		allowed = allowed || s == to
	}
	if !allowed {
		return fail(codeBadTransition)
	}
	if to == stateHuman && req.ServicerUserID == "" {
		return fail(codeNotServicer)
	}
	if to == stateHuman && req.ServicerUserID == cu.servicer {
		return fail(codeBadTransition) // already with that servicer
	}
	msgCode := e.moveLocked(cu, to, req.ServicerUserID, c.now)
	out := obj{}
	if msgCode != "" {
		out["msg_code"] = msgCode
	}
	return ok(out)
}

// moveLocked sets cu's state and returns the msg_code issued for the change
// ("" if none): one for the first move to 2 or 3 in a session and one for
// every move to 4. Callers hold e.mu.
func (e *Emulator) moveLocked(cu *customer, to int, servicer string, now time.Time) string {
	cu.state = to
	cu.servicer = ""
	if to == stateHuman {
		cu.servicer = servicer
	}
	issue := to == stateEnded || (to == stateQueued || to == stateHuman) && !cu.codeIssued
	if !issue {
		return ""
	}
	if to != stateEnded {
		cu.codeIssued = true
	}
	code := randomString(40)
	e.codes[code] = &eventCode{user: cu.id, expires: now.Add(eventCodeTTL)}
	return code
}

// customerBatchGet serves POST /cgi-bin/kf/customer/batchget.
func (e *Emulator) customerBatchGet(c *call) obj {
	var req struct {
		ExternalUserIDList      []string `json:"external_userid_list"`
		NeedEnterSessionContext int      `json:"need_enter_session_context"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	if n := len(req.ExternalUserIDList); n == 0 || n > maxBatchUsers {
		return fail(codeInvalidParam)
	}
	list := []obj{}
	invalid := []string{}
	for _, id := range req.ExternalUserIDList {
		cu := e.customers[id]
		if cu == nil || c.now.Sub(cu.lastActive) > sendWindow {
			invalid = append(invalid, id)
			continue
		}
		item := obj{"external_userid": cu.id, "nickname": cu.nickname, "avatar": "", "gender": 0, "unionid": ""}
		if req.NeedEnterSessionContext == 1 {
			item["enter_session_context"] = obj{"scene": cu.scene, "scene_param": "",
				"wechat_channels": obj{"nickname": "", "shop_nickname": "", "scene": 0}}
		}
		list = append(list, item)
	}
	return ok(obj{"customer_list": list, "invalid_external_userid": invalid})
}

// appendMsg adds m to the kf log. Callers hold e.mu.
func (e *Emulator) appendMsg(m *kfMsg) {
	e.kflog = append(e.kflog, m)
}

// appendEvent adds a system event (origin 4) for cu to the kf log and
// notifies the callback URL. Callers hold e.mu.
func (e *Emulator) appendEvent(cu *customer, now time.Time, event obj) {
	e.appendMsg(&kfMsg{MsgID: randomString(32), ExternalUserID: cu.id, SendTime: now,
		Origin: originEvent, MsgType: "event", Payload: event})
	e.notifyKfLocked(now)
}

// validText reports whether s is acceptable customer text.
func validText(s string) bool {
	return s != "" && len(s) <= maxTextBytes && utf8.ValidString(s)
}
