package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Outbound is one message sent through a non-kf channel.
type Outbound struct {
	Channel string          `json:"channel"` // "app" (message/send), "welcome" (send_welcome_msg) or "webhook"
	To      string          `json:"to"`      // app: touser|toparty|totag as sent; welcome: external_userid; webhook: the key
	MsgType string          `json:"msgtype"` // text, markdown, template_card, …
	Content string          `json:"content"` // text/markdown content, or template_card.card_type
	Raw     json.RawMessage `json:"raw"`     // the request body as received
	Time    time.Time       `json:"time"`
}

// contact is an external contact (客户联系) with the members following it.
type contact struct {
	id      string
	name    string
	follows map[string]*follow // member userid → relationship
}

type follow struct {
	userID, remark, description, company string
	mobiles                              []string
	created                              time.Time
}

// welcomeCode is a single-use external-contact welcome code, valid 20 s.
type welcomeCode struct {
	user    string
	expires time.Time
	used    bool
}

const (
	welcomeCodeTTL   = 20 * time.Second
	webhookPerMinute = 20
	maxMarkdownBytes = 4096
)

// messageSend serves POST /cgi-bin/message/send.
func (e *Emulator) messageSend(c *call) obj {
	var req struct {
		ToUser   string          `json:"touser"`
		ToParty  string          `json:"toparty"`
		ToTag    string          `json:"totag"`
		MsgType  string          `json:"msgtype"`
		AgentID  json.RawMessage `json:"agentid"`
		Text     *textBody       `json:"text"`
		Markdown *textBody       `json:"markdown"`
		Card     *struct {
			CardType string `json:"card_type"`
		} `json:"template_card"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	// agentid is an integer; a quoted string is a client bug.
	var agent json.Number
	if len(req.AgentID) == 0 || req.AgentID[0] == '"' || json.Unmarshal(req.AgentID, &agent) != nil ||
		agent.String() != e.cfg.AgentID {
		return fail(codeInvalidAgentID)
	}
	if req.ToUser == "" && req.ToParty == "" && req.ToTag == "" {
		return fail(codeInvalidUserID)
	}
	var content string
	extra := obj{}
	switch req.MsgType {
	case "text", "markdown":
		var code int
		content, code = textContent(req.MsgType, req.Text, req.Markdown)
		if code != 0 {
			return fail(code)
		}
	case "template_card":
		types := []string{"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
		if req.Card == nil || !slices.Contains(types, req.Card.CardType) {
			return fail(codeInvalidParam)
		}
		content = req.Card.CardType
		extra["response_code"] = randomString(40)
	default:
		return fail(codeInvalidMsgType)
	}
	to := req.ToUser
	if to == "" {
		to = "party:" + req.ToParty + " tag:" + req.ToTag
	}
	e.outbox = append(e.outbox, Outbound{Channel: "app", To: to, MsgType: req.MsgType, Content: content,
		Raw: json.RawMessage(slices.Clone(c.body)), Time: c.now})
	extra["invaliduser"], extra["invalidparty"], extra["invalidtag"], extra["unlicenseduser"] = "", "", "", ""
	extra["msgid"] = randomString(32)
	return ok(extra)
}

// AddExternalContact makes member userID and the customer externalUserID
// contacts (customer name and remark mobiles as given) and posts a
// change_external_contact / add_external_contact event with a WelcomeCode
// (valid 20 s) to AppCallbackURL, in the background.
func (e *Emulator) AddExternalContact(ctx context.Context, userID, externalUserID, name string, mobiles []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !userIDPattern.MatchString(userID) || !userIDPattern.MatchString(externalUserID) || !utf8.ValidString(name) {
		return fmt.Errorf("%w: bad user ids or name", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	ct := e.contacts[externalUserID]
	if ct == nil {
		ct = &contact{id: externalUserID, follows: map[string]*follow{}}
		e.contacts[externalUserID] = ct
	}
	ct.name = name
	ct.follows[userID] = &follow{userID: userID, mobiles: slices.Clone(mobiles), created: now}
	code := randomString(43)
	e.welcomes[code] = &welcomeCode{user: externalUserID, expires: now.Add(welcomeCodeTTL)}
	if e.cfg.AppCallbackURL == "" {
		return nil
	}
	msg := "<xml><ToUserName>" + cdata(e.cfg.CorpID) + "</ToUserName><FromUserName>" + cdata("sys") +
		"</FromUserName><CreateTime>" + strconv.FormatInt(now.Unix(), 10) + "</CreateTime>" +
		"<MsgType>" + cdata("event") + "</MsgType><Event>" + cdata("change_external_contact") + "</Event>" +
		"<ChangeType>" + cdata("add_external_contact") + "</ChangeType><UserID>" + cdata(userID) +
		"</UserID><ExternalUserID>" + cdata(externalUserID) + "</ExternalUserID><State>" + cdata("") +
		"</State><WelcomeCode>" + cdata(code) + "</WelcomeCode></xml>"
	e.postLocked(e.cfg.AppCallbackURL, msg, e.cfg.AgentID, now)
	return nil
}

// externalContactGet serves GET /cgi-bin/externalcontact/get.
func (e *Emulator) externalContactGet(c *call) obj {
	ct := e.contacts[c.r.URL.Query().Get("external_userid")]
	if ct == nil {
		return fail(codeInvalidExtUser)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range ct.follows {
			if !yield(id) {
				return
			}
		}
	})
	follows := make([]obj, 0, len(ids))
	for _, id := range ids {
		f := ct.follows[id]
		mobiles := f.mobiles
		if mobiles == nil {
			mobiles = []string{}
		}
		follows = append(follows, obj{"userid": f.userID, "remark": f.remark, "description": f.description,
			"createtime": f.created.Unix(), "tags": []obj{}, "remark_corp_name": f.company,
			"remark_mobiles": mobiles, "oper_userid": f.userID, "add_way": 1, "state": ""})
	}
	return ok(obj{
		"external_contact": obj{"external_userid": ct.id, "name": ct.name, "avatar": "", "type": 1,
			"gender": 0, "unionid": ""},
		"follow_user": follows,
		"next_cursor": "",
	})
}

// sendWelcomeMsg serves POST /cgi-bin/externalcontact/send_welcome_msg.
func (e *Emulator) sendWelcomeMsg(c *call) obj {
	var req struct {
		WelcomeCode string `json:"welcome_code"`
		Text        *struct {
			Content string `json:"content"`
		} `json:"text"`
		Attachments []json.RawMessage `json:"attachments"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	wc := e.welcomes[req.WelcomeCode]
	if wc == nil {
		return fail(codeInvalidParam)
	}
	if wc.used || !c.now.Before(wc.expires) {
		return fail(codeWelcomeUsed)
	}
	if (req.Text == nil || req.Text.Content == "") && len(req.Attachments) == 0 {
		return fail(codeInvalidParam)
	}
	if req.Text != nil && len(req.Text.Content) > 4000 {
		return fail(codeContentTooLong)
	}
	wc.used = true
	content := ""
	if req.Text != nil {
		content = req.Text.Content
	}
	e.outbox = append(e.outbox, Outbound{Channel: "welcome", To: wc.user, MsgType: "text", Content: content,
		Raw: json.RawMessage(slices.Clone(c.body)), Time: c.now})
	return ok(nil)
}

// remark serves POST /cgi-bin/externalcontact/remark.
func (e *Emulator) remark(c *call) obj {
	var req struct {
		UserID         string   `json:"userid"`
		ExternalUserID string   `json:"external_userid"`
		Remark         *string  `json:"remark"`
		Description    *string  `json:"description"`
		RemarkCompany  *string  `json:"remark_company"`
		RemarkMobiles  []string `json:"remark_mobiles"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	ct := e.contacts[req.ExternalUserID]
	if ct == nil || ct.follows[req.UserID] == nil {
		return fail(codeNoRelationship)
	}
	if req.Remark != nil && utf8.RuneCountInString(*req.Remark) > 20 ||
		req.Description != nil && utf8.RuneCountInString(*req.Description) > 150 {
		return fail(codeInvalidParam)
	}
	f := ct.follows[req.UserID]
	if req.Remark != nil {
		f.remark = *req.Remark
	}
	if req.Description != nil {
		f.description = *req.Description
	}
	if req.RemarkCompany != nil {
		f.company = *req.RemarkCompany
	}
	if req.RemarkMobiles != nil {
		f.mobiles = slices.Clone(req.RemarkMobiles)
	}
	return ok(nil)
}

// webhookSend serves POST /cgi-bin/webhook/send?key=KEY (no access_token):
// text ≤ 2048 bytes, markdown ≤ 4096 bytes, 20 messages a minute per key.
func (e *Emulator) webhookSend(c *call) obj {
	key := c.r.URL.Query().Get("key")
	if key == "" || e.cfg.WebhookKey != "" && key != e.cfg.WebhookKey {
		return fail(codeWebhookKey)
	}
	var req struct {
		MsgType  string    `json:"msgtype"`
		Text     *textBody `json:"text"`
		Markdown *textBody `json:"markdown"`
	}
	if !c.decode(&req) {
		return fail(codeDataFormat)
	}
	var content string
	switch req.MsgType {
	case "text", "markdown":
		var code int
		content, code = textContent(req.MsgType, req.Text, req.Markdown)
		if code != 0 {
			return fail(code)
		}
	case "image", "news", "file", "voice", "template_card", "markdown_v2":
	default:
		return fail(codeInvalidMsgType)
	}
	recent := e.hooks[key][:0]
	for _, t := range e.hooks[key] {
		if c.now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	if len(recent) >= webhookPerMinute {
		e.hooks[key] = recent
		return fail(codeFreqLimit)
	}
	e.hooks[key] = append(recent, c.now)
	e.outbox = append(e.outbox, Outbound{Channel: "webhook", To: key, MsgType: req.MsgType, Content: content,
		Raw: json.RawMessage(slices.Clone(c.body)), Time: c.now})
	return ok(nil)
}

// textBody is the payload of a text or markdown message.
type textBody struct {
	Content string `json:"content"`
}

// textContent validates the payload of a "text" message (≤ 2048 bytes) or,
// when msgType is "markdown", of a markdown one (≤ 4096 bytes) and returns
// its content, or the errcode.
func textContent(msgType string, text, markdown *textBody) (string, int) {
	p, limit := text, maxTextBytes
	if msgType == "markdown" {
		p, limit = markdown, maxMarkdownBytes
	}
	if p == nil || p.Content == "" {
		return "", codeInvalidParam
	}
	if len(p.Content) > limit {
		return "", codeContentTooLong
	}
	return p.Content, 0
}
