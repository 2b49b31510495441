package emulator

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"wecom-crm-bot/shared/domain"
)

// ErrInvalid is returned (wrapped) by the customer- and agent-side helpers
// when the input or the session state does not allow the action. It wraps
// domain.ErrInvalid.
var ErrInvalid = fmt.Errorf("emulator: invalid action: %w", domain.ErrInvalid)

// ChatLine is one message as the customer sees it in their WeChat window.
type ChatLine struct {
	Seq            int       `json:"seq"`                       // position in the kf message log
	MsgID          string    `json:"msgid"`                     // kf msgid
	Time           time.Time `json:"time"`                      // send time
	From           string    `json:"from"`                      // "customer", "bot" (API-sent) or "agent" (servicer)
	ServicerUserID string    `json:"servicer_userid,omitempty"` // for From == "agent"
	Text           string    `json:"text"`                      // text content; for other types a bracketed summary
	MenuID         string    `json:"menu_id,omitempty"`         // set when the customer clicked a menu item
	Menu           *ChatMenu `json:"menu,omitempty"`            // set for msgmenu messages
}

// ChatMenu is a msgmenu message as rendered for the customer.
type ChatMenu struct {
	Head  string         `json:"head"`
	Items []ChatMenuItem `json:"items"`
	Tail  string         `json:"tail"`
}

// ChatMenuItem is one msgmenu option. Type is "click", "view" or
// "miniprogram"; ID is set for click items and URL for view items.
type ChatMenuItem struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	URL     string `json:"url,omitempty"`
	Content string `json:"content"`
}

var userIDPattern = regexp.MustCompile(`^[0-9A-Za-z_@.-]{1,64}$`)

// customerLocked returns the customer with id, creating it. Callers hold e.mu.
func (e *Emulator) customerLocked(id string) *customer {
	cu := e.customers[id]
	if cu == nil {
		cu = &customer{id: id, nickname: "微信用户" + id[max(0, len(id)-4):]}
		e.customers[id] = cu
	}
	return cu
}

// CustomerSays records a text message from the customer (origin 3), the way
// the chat page does, and posts a kf_msg_or_event callback. A customer
// message reopens an ended session (state 4 → 0) and resets the 5-message
// and 48 h send limits. The callback is delivered in the background.
func (e *Emulator) CustomerSays(ctx context.Context, externalUserID, text string) error {
	return e.customerText(ctx, externalUserID, text, "")
}

// CustomerClicksMenu records the customer clicking msgmenu item menuID,
// which WeCom delivers as a text message carrying menu_id.
func (e *Emulator) CustomerClicksMenu(ctx context.Context, externalUserID, menuID, text string) error {
	if menuID == "" {
		return fmt.Errorf("%w: empty menu id", ErrInvalid)
	}
	return e.customerText(ctx, externalUserID, text, menuID)
}

func (e *Emulator) customerText(ctx context.Context, id, text, menuID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !userIDPattern.MatchString(id) || !validText(text) {
		return fmt.Errorf("%w: bad external user id or text", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	cu := e.customerLocked(id)
	if cu.state == stateEnded {
		cu.state, cu.servicer, cu.codeIssued = stateNew, "", false
	}
	cu.lastMessage, cu.lastActive, cu.sentSince = now, now, 0
	payload := obj{"content": text}
	if menuID != "" {
		payload["menu_id"] = menuID
	}
	e.appendMsg(&kfMsg{MsgID: randomString(32), ExternalUserID: id, SendTime: now,
		Origin: originCustomer, MsgType: "text", Payload: payload})
	e.notifyKfLocked(now)
	return nil
}

// CustomerEnters records the customer opening the chat from scene, which
// produces an enter_session event. The event carries a welcome_code (for
// send_msg_on_event) when the customer sent no message and got no welcome
// message in the last 48 h.
func (e *Emulator) CustomerEnters(ctx context.Context, externalUserID, scene string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !userIDPattern.MatchString(externalUserID) || len(scene) > 64 {
		return fmt.Errorf("%w: bad external user id or scene", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	cu := e.customerLocked(externalUserID)
	cu.scene, cu.lastActive = scene, now
	ev := obj{"event_type": "enter_session", "open_kfid": e.cfg.OpenKfID, "external_userid": cu.id,
		"scene": scene, "scene_param": ""}
	recent := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) <= sendWindow }
	if !recent(cu.lastMessage) && !recent(cu.lastWelcome) {
		code := randomString(40)
		e.codes[code] = &eventCode{user: cu.id, expires: now.Add(eventCodeTTL), welcome: true}
		ev["welcome_code"] = code
	}
	e.appendEvent(cu, now, ev)
	return nil
}

// AgentTakesOver makes servicerUserID pick up the session from the WeCom
// client: the state becomes 3 and a session_status_change event (change_type
// 1 from the pool or bot, 2 when transferred from another servicer) with a
// msg_code is logged and notified. It fails with ErrInvalid for an unknown
// customer, an ended session or the servicer already handling it.
func (e *Emulator) AgentTakesOver(ctx context.Context, externalUserID, servicerUserID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !userIDPattern.MatchString(servicerUserID) {
		return fmt.Errorf("%w: bad servicer id", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cu := e.customers[externalUserID]
	if cu == nil || cu.state == stateEnded || cu.state == stateHuman && cu.servicer == servicerUserID {
		return fmt.Errorf("%w: cannot take over %q", ErrInvalid, externalUserID)
	}
	now := e.now()
	changeType, old := 1, ""
	if cu.state == stateHuman {
		changeType, old = 2, cu.servicer
	}
	code := e.moveLocked(cu, stateHuman, servicerUserID, now)
	if code == "" { // the client always gets a code for its own change
		code = randomString(40)
		e.codes[code] = &eventCode{user: cu.id, expires: now.Add(eventCodeTTL)}
	}
	e.appendEvent(cu, now, obj{"event_type": "session_status_change", "open_kfid": e.cfg.OpenKfID,
		"external_userid": cu.id, "change_type": changeType, "old_servicer_userid": old,
		"new_servicer_userid": servicerUserID, "msg_code": code})
	return nil
}

// AgentSays records servicerUserID typing text in the WeCom client (origin 5
// with servicer_userid) and notifies the callback URL. The servicer must be
// handling the session (state 3), else ErrInvalid.
func (e *Emulator) AgentSays(ctx context.Context, externalUserID, servicerUserID, text string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validText(text) {
		return fmt.Errorf("%w: bad text", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cu := e.customers[externalUserID]
	if cu == nil || cu.state != stateHuman || cu.servicer != servicerUserID {
		return fmt.Errorf("%w: %q is not handling %q", ErrInvalid, servicerUserID, externalUserID)
	}
	now := e.now()
	e.appendMsg(&kfMsg{MsgID: randomString(32), ExternalUserID: cu.id, SendTime: now,
		Origin: originServicer, ServicerUserID: servicerUserID, MsgType: "text", Payload: obj{"content": text}})
	e.notifyKfLocked(now)
	return nil
}

// EndSession ends the session from the WeCom client (state 4) and logs a
// session_status_change event (change_type 3) with a msg_code for the closing
// message. Ending an unknown or already ended session is ErrInvalid.
func (e *Emulator) EndSession(ctx context.Context, externalUserID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cu := e.customers[externalUserID]
	if cu == nil || cu.state == stateEnded {
		return fmt.Errorf("%w: no open session for %q", ErrInvalid, externalUserID)
	}
	now := e.now()
	old := cu.servicer
	code := e.moveLocked(cu, stateEnded, "", now)
	e.appendEvent(cu, now, obj{"event_type": "session_status_change", "open_kfid": e.cfg.OpenKfID,
		"external_userid": cu.id, "change_type": 3, "old_servicer_userid": old,
		"new_servicer_userid": "", "msg_code": code})
	return nil
}

// FailNextSend makes the next accepted send_msg to externalUserID fail after
// acceptance: the call answers errcode 0, the message never reaches the
// customer, and a msg_send_fail event with failType (e.g. 10: customer
// refused) is logged and notified.
func (e *Emulator) FailNextSend(externalUserID string, failType int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cu := e.customers[externalUserID]; cu != nil {
		cu.failNextType = failType
	}
}

// SessionState returns the service_state (0..4) of externalUserID's session
// and the servicer handling it; state -1 means the customer is unknown.
func (e *Emulator) SessionState(externalUserID string) (state int, servicerUserID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cu := e.customers[externalUserID]
	if cu == nil {
		return -1, ""
	}
	return cu.state, cu.servicer
}

// Transcript returns every message the customer sent or received, in order.
// Events are not part of it.
func (e *Emulator) Transcript(externalUserID string) []ChatLine {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ChatLine
	for i, m := range e.kflog {
		if m.ExternalUserID != externalUserID || m.MsgType == "event" {
			continue
		}
		out = append(out, m.line(i))
	}
	return out
}

// line renders m as a ChatLine at log position seq.
func (m *kfMsg) line(seq int) ChatLine {
	l := ChatLine{Seq: seq, MsgID: m.MsgID, Time: m.SendTime, ServicerUserID: m.ServicerUserID}
	switch {
	case m.Origin == originCustomer:
		l.From = "customer"
	case m.Bot:
		l.From = "bot"
	default:
		l.From = "agent"
	}
	str := func(o obj, k string) string { s, _ := o[k].(string); return s }
	switch m.MsgType {
	case "text":
		l.Text = str(m.Payload, "content")
		l.MenuID = str(m.Payload, "menu_id")
	case "msgmenu":
		menu := &ChatMenu{Head: str(m.Payload, "head_content"), Tail: str(m.Payload, "tail_content")}
		items, _ := m.Payload["list"].([]obj)
		for _, it := range items {
			typ := str(it, "type")
			inner, _ := it[typ].(obj)
			menu.Items = append(menu.Items, ChatMenuItem{Type: typ, ID: str(inner, "id"),
				URL: str(inner, "url"), Content: str(inner, "content")})
		}
		l.Menu = menu
		l.Text = menu.Head
	default:
		l.Text = "[" + m.MsgType + "]"
	}
	return l
}
