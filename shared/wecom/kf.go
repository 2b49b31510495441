package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"wecom-crm-bot/shared/domain"
)

// Limits of the kf send APIs, in bytes of UTF-8.
const (
	MaxKfTextBytes     = 2048 // text.content
	MaxKfMenuTextBytes = 1024 // msgmenu head_content and tail_content
	MaxKfMenuItems     = 10   // msgmenu list
	MaxKfMsgIDBytes    = 32   // optional idempotency msgid
	MaxBatchCustomers  = 100  // customer/batchget ids per request
)

// Origins of a synced kf message.
const (
	OriginCustomer = 3 // sent by the WeChat customer
	OriginSystem   = 4 // system event
	OriginServicer = 5 // sent by a servicer from the WeCom client (or via the API)
)

// Service states of a kf session (service_state/get and /trans).
const (
	StateNew      = 0 // 未处理
	StateBot      = 1 // 由智能助手接待
	StatePool     = 2 // 待接入池排队中
	StateServicer = 3 // 由人工接待
	StateEnded    = 4 // 已结束
)

// SyncMsgRequest is the body of POST /cgi-bin/kf/sync_msg.
type SyncMsgRequest struct {
	Cursor      string `json:"cursor,omitempty"`
	Token       string `json:"token,omitempty"` // from the kf_msg_or_event callback
	Limit       int    `json:"limit,omitempty"` // 1..1000, default 1000
	VoiceFormat int    `json:"voice_format,omitempty"`
	OpenKfID    string `json:"open_kfid,omitempty"`
}

// SyncMsgResponse is one page of pulled kf messages. Persist NextCursor per
// open_kfid and pull again while HasMore is 1 (MsgList may be empty then).
type SyncMsgResponse struct {
	NextCursor string  `json:"next_cursor"`
	HasMore    int     `json:"has_more"`
	MsgList    []KfMsg `json:"msg_list"`
}

// KfMsg is one synced kf message or event. Act only on Origin ==
// OriginCustomer (and the events you care about): messages the bot sent come
// back too.
type KfMsg struct {
	MsgID          string `json:"msgid"`
	OpenKfID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	SendTime       int64  `json:"send_time"`
	Origin         int    `json:"origin"`
	ServicerUserID string `json:"servicer_userid,omitempty"`
	MsgType        string `json:"msgtype"`

	Text         *KfText       `json:"text,omitempty"`
	Image        *Media        `json:"image,omitempty"`
	Voice        *Media        `json:"voice,omitempty"`
	Video        *Media        `json:"video,omitempty"`
	File         *Media        `json:"file,omitempty"`
	Location     *Location     `json:"location,omitempty"`
	Link         *Link         `json:"link,omitempty"`
	BusinessCard *BusinessCard `json:"business_card,omitempty"`
	MiniProgram  *MiniProgram  `json:"miniprogram,omitempty"`
	MsgMenu      *MsgMenu      `json:"msgmenu,omitempty"`
	Event        *KfEvent      `json:"event,omitempty"`
}

// KfText is a text payload. MenuID is set when the customer clicked a
// msgmenu item.
type KfText struct {
	Content string `json:"content"`
	MenuID  string `json:"menu_id,omitempty"`
}

// Media references an uploaded file by media_id.
type Media struct {
	MediaID string `json:"media_id"`
}

// Location is a shared location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Link is a link card. PicURL is set on received links, ThumbMediaID on sent ones.
type Link struct {
	Title        string `json:"title"`
	Desc         string `json:"desc,omitempty"`
	URL          string `json:"url"`
	PicURL       string `json:"pic_url,omitempty"`
	ThumbMediaID string `json:"thumb_media_id,omitempty"`
}

// BusinessCard is a shared contact card.
type BusinessCard struct {
	UserID string `json:"userid"`
}

// MiniProgram is a mini-program card.
type MiniProgram struct {
	AppID        string `json:"appid"`
	Title        string `json:"title,omitempty"`
	ThumbMediaID string `json:"thumb_media_id,omitempty"`
	PagePath     string `json:"pagepath"`
}

// KfEvent is the payload of a msgtype "event" message.
type KfEvent struct {
	EventType         string `json:"event_type"`
	OpenKfID          string `json:"open_kfid,omitempty"`
	ExternalUserID    string `json:"external_userid,omitempty"`
	Scene             string `json:"scene,omitempty"`
	SceneParam        string `json:"scene_param,omitempty"`
	WelcomeCode       string `json:"welcome_code,omitempty"`
	FailMsgID         string `json:"fail_msgid,omitempty"`
	FailType          int    `json:"fail_type,omitempty"`
	ServicerUserID    string `json:"servicer_userid,omitempty"`
	Status            int    `json:"status,omitempty"`
	ChangeType        int    `json:"change_type,omitempty"`
	OldServicerUserID string `json:"old_servicer_userid,omitempty"`
	NewServicerUserID string `json:"new_servicer_userid,omitempty"`
	MsgCode           string `json:"msg_code,omitempty"`
	RecallMsgID       string `json:"recall_msgid,omitempty"`
}

// Event types of KfEvent.EventType.
const (
	EventEnterSession         = "enter_session"
	EventMsgSendFail          = "msg_send_fail"
	EventServicerStatusChange = "servicer_status_change"
	EventSessionStatusChange  = "session_status_change"
	EventUserRecallMsg        = "user_recall_msg"
	EventServicerRecallMsg    = "servicer_recall_msg"
)

// SyncMsg pulls one page of kf messages (POST /cgi-bin/kf/sync_msg).
// 95007 (stale callback token) matches ErrSyncTokenInvalid.
func (c *Client) SyncMsg(ctx context.Context, req SyncMsgRequest) (SyncMsgResponse, error) {
	if req.Limit < 0 || req.Limit > 1000 {
		return SyncMsgResponse{}, fmt.Errorf("wecom: sync_msg: limit %d out of 0..1000: %w", req.Limit, domain.ErrInvalid)
	}
	var r SyncMsgResponse
	err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/sync_msg", nil, req, &r)
	return r, err
}

// KfMessage is an outbound kf message for send_msg (ToUser and OpenKfID
// required) or send_msg_on_event (they are ignored; only text and msgmenu).
type KfMessage struct {
	ToUser   string `json:"touser,omitempty"`
	OpenKfID string `json:"open_kfid,omitempty"`
	// MsgID is an optional idempotency id: ≤32 bytes of [0-9a-zA-Z_-].
	// See ReplyMsgID.
	MsgID   string `json:"msgid,omitempty"`
	MsgType string `json:"msgtype"`

	Text        *KfText      `json:"text,omitempty"`
	Image       *Media       `json:"image,omitempty"`
	Voice       *Media       `json:"voice,omitempty"`
	Video       *Media       `json:"video,omitempty"`
	File        *Media       `json:"file,omitempty"`
	Link        *Link        `json:"link,omitempty"`
	MiniProgram *MiniProgram `json:"miniprogram,omitempty"`
	MsgMenu     *MsgMenu     `json:"msgmenu,omitempty"`
}

// MsgMenu is a kf menu message: up to 10 items between optional head and tail text.
type MsgMenu struct {
	HeadContent string     `json:"head_content,omitempty"`
	List        []MenuItem `json:"list"`
	TailContent string     `json:"tail_content,omitempty"`
}

// MenuItem is one msgmenu entry; Type is "click", "view" or "miniprogram"
// and the matching field is set. A clicked item comes back as a text
// message whose menu_id is the click id.
type MenuItem struct {
	Type        string           `json:"type"`
	Click       *MenuClick       `json:"click,omitempty"`
	View        *MenuView        `json:"view,omitempty"`
	MiniProgram *MenuMiniProgram `json:"miniprogram,omitempty"`
}

// MenuClick is a reply-on-click menu item.
type MenuClick struct {
	ID      string `json:"id,omitempty"`
	Content string `json:"content"`
}

// MenuView is a link menu item.
type MenuView struct {
	URL     string `json:"url"`
	Content string `json:"content"`
}

// MenuMiniProgram is a mini-program menu item.
type MenuMiniProgram struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Content  string `json:"content"`
}

// Validate checks the client-side limits of a kf message; errors match
// domain.ErrInvalid.
func (m KfMessage) Validate() error {
	if err := validMsgID(m.MsgID); err != nil {
		return err
	}
	switch m.MsgType {
	case "text":
		if m.Text == nil || m.Text.Content == "" {
			return invalid("text message without content")
		}
		if len(m.Text.Content) > MaxKfTextBytes {
			return invalid(fmt.Sprintf("text is %d bytes, limit %d", len(m.Text.Content), MaxKfTextBytes))
		}
	case "msgmenu":
		mm := m.MsgMenu
		if mm == nil || len(mm.List) == 0 {
			return invalid("msgmenu without items")
		}
		if len(mm.List) > MaxKfMenuItems {
			return invalid(fmt.Sprintf("msgmenu has %d items, limit %d", len(mm.List), MaxKfMenuItems))
		}
		if len(mm.HeadContent) > MaxKfMenuTextBytes || len(mm.TailContent) > MaxKfMenuTextBytes {
			return invalid("msgmenu head or tail over 1024 bytes")
		}
		for i, it := range mm.List {
			ok := (it.Type == "click" && it.Click != nil) || (it.Type == "view" && it.View != nil) ||
				(it.Type == "miniprogram" && it.MiniProgram != nil)
			if !ok {
				return invalid(fmt.Sprintf("msgmenu item %d: type %q without its payload", i, it.Type))
			}
		}
	case "image", "voice", "video", "file":
		var md *Media
		switch m.MsgType {
		case "image":
			md = m.Image
		case "voice":
			md = m.Voice
		case "video":
			md = m.Video
		default:
			md = m.File
		}
		if md == nil || md.MediaID == "" {
			return invalid(m.MsgType + " message without media_id")
		}
	case "link":
		if m.Link == nil {
			return invalid("link message without link")
		}
	case "miniprogram":
		if m.MiniProgram == nil {
			return invalid("miniprogram message without miniprogram")
		}
	default:
		return invalid(fmt.Sprintf("unsupported msgtype %q", m.MsgType))
	}
	return nil
}

func invalid(msg string) error { return fmt.Errorf("wecom: %s: %w", msg, domain.ErrInvalid) }

func validMsgID(id string) error {
	if len(id) > MaxKfMsgIDBytes {
		return invalid(fmt.Sprintf("msgid is %d bytes, limit %d", len(id), MaxKfMsgIDBytes))
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '-') {
			return invalid("msgid may only hold [0-9a-zA-Z_-]")
		}
	}
	return nil
}

// ReplyMsgID derives a deterministic send_msg idempotency id from the
// inbound msgid being answered and the reply's index, so a redelivered
// inbound message produces the same outbound ids. The result is 32 lower-case
// hex characters.
func ReplyMsgID(inboundMsgID string, seq int) string {
	sum := sha256.Sum256([]byte(inboundMsgID + "\x00" + strconv.Itoa(seq)))
	return hex.EncodeToString(sum[:16])
}

type sendMsgResponse struct {
	MsgID string `json:"msgid"`
}

// SendMsg sends a kf message (POST /cgi-bin/kf/send_msg) and returns its
// msgid. 95001/95002 match ErrSendLimit; 95013/95018 match ErrSessionState.
func (c *Client) SendMsg(ctx context.Context, m KfMessage) (string, error) {
	if m.ToUser == "" || m.OpenKfID == "" {
		return "", invalid("send_msg needs touser and open_kfid")
	}
	if err := m.Validate(); err != nil {
		return "", err
	}
	var r sendMsgResponse
	err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/send_msg", nil, m, &r)
	return r.MsgID, err
}

type sendOnEventRequest struct {
	Code    string   `json:"code"`
	MsgID   string   `json:"msgid,omitempty"`
	MsgType string   `json:"msgtype"`
	Text    *KfText  `json:"text,omitempty"`
	MsgMenu *MsgMenu `json:"msgmenu,omitempty"`
}

// SendMsgOnEvent sends a text or msgmenu message with a single-use
// welcome_code or msg_code (POST /cgi-bin/kf/send_msg_on_event) and returns
// its msgid.
func (c *Client) SendMsgOnEvent(ctx context.Context, code string, m KfMessage) (string, error) {
	if code == "" {
		return "", invalid("send_msg_on_event needs a code")
	}
	if m.MsgType != "text" && m.MsgType != "msgmenu" {
		return "", invalid("send_msg_on_event allows only text and msgmenu")
	}
	if err := m.Validate(); err != nil {
		return "", err
	}
	req := sendOnEventRequest{Code: code, MsgID: m.MsgID, MsgType: m.MsgType, Text: m.Text, MsgMenu: m.MsgMenu}
	var r sendMsgResponse
	err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/send_msg_on_event", nil, req, &r)
	return r.MsgID, err
}

type serviceStateRequest struct {
	OpenKfID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	ServiceState   *int   `json:"service_state,omitempty"`
	ServicerUserID string `json:"servicer_userid,omitempty"`
}

// ServiceState returns the session state (StateNew … StateEnded) and, in
// StateServicer, the servicer's userid (POST /cgi-bin/kf/service_state/get).
func (c *Client) ServiceState(ctx context.Context, openKfID, externalUserID string) (int, string, error) {
	if openKfID == "" || externalUserID == "" {
		return 0, "", invalid("service_state/get needs open_kfid and external_userid")
	}
	var r struct {
		ServiceState   int    `json:"service_state"`
		ServicerUserID string `json:"servicer_userid"`
	}
	err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/service_state/get", nil,
		serviceStateRequest{OpenKfID: openKfID, ExternalUserID: externalUserID}, &r)
	return r.ServiceState, r.ServicerUserID, err
}

// TransServiceState moves a session to state (servicer is required for
// StateServicer) and returns the msg_code, if any, for SendMsgOnEvent
// (POST /cgi-bin/kf/service_state/trans). 95016 matches ErrSessionState.
func (c *Client) TransServiceState(ctx context.Context, openKfID, externalUserID string, state int, servicer string) (string, error) {
	if openKfID == "" || externalUserID == "" {
		return "", invalid("service_state/trans needs open_kfid and external_userid")
	}
	if state < StateNew || state > StateEnded {
		return "", invalid(fmt.Sprintf("service_state %d out of range", state))
	}
	if state == StateServicer && servicer == "" {
		return "", invalid("service_state 3 needs servicer_userid")
	}
	var r struct {
		MsgCode string `json:"msg_code"`
	}
	err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/service_state/trans", nil,
		serviceStateRequest{OpenKfID: openKfID, ExternalUserID: externalUserID, ServiceState: &state, ServicerUserID: servicer}, &r)
	return r.MsgCode, err
}

// Customer is a WeChat customer as returned by kf customer/batchget.
type Customer struct {
	ExternalUserID      string               `json:"external_userid"`
	Nickname            string               `json:"nickname"`
	Avatar              string               `json:"avatar,omitempty"`
	Gender              int                  `json:"gender,omitempty"`
	UnionID             string               `json:"unionid,omitempty"`
	EnterSessionContext *EnterSessionContext `json:"enter_session_context,omitempty"`
}

// EnterSessionContext says how the customer entered the latest session.
type EnterSessionContext struct {
	Scene          string          `json:"scene,omitempty"`
	SceneParam     string          `json:"scene_param,omitempty"`
	WechatChannels *WechatChannels `json:"wechat_channels,omitempty"`
}

// WechatChannels describes a 视频号 entry point.
type WechatChannels struct {
	Nickname     string `json:"nickname,omitempty"`
	ShopNickname string `json:"shop_nickname,omitempty"`
	Scene        int    `json:"scene,omitempty"`
}

// BatchGetCustomers fetches customers who interacted in the last 48 h
// (POST /cgi-bin/kf/customer/batchget, 100 ids per request; more are split
// into several requests). Unknown ids are left out of the result.
func (c *Client) BatchGetCustomers(ctx context.Context, ids []string) ([]Customer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []Customer
	for start := 0; start < len(ids); start += MaxBatchCustomers {
		chunk := ids[start:min(start+MaxBatchCustomers, len(ids))]
		req := struct {
			List    []string `json:"external_userid_list"`
			Context int      `json:"need_enter_session_context"`
		}{chunk, 1}
		var r struct {
			CustomerList []Customer `json:"customer_list"`
			Invalid      []string   `json:"invalid_external_userid"`
		}
		if err := c.call(ctx, http.MethodPost, "/cgi-bin/kf/customer/batchget", nil, req, &r); err != nil {
			return out, err
		}
		if len(r.Invalid) > 0 {
			c.log.DebugContext(ctx, "wecom: batchget skipped invalid ids", "count", len(r.Invalid))
		}
		out = append(out, r.CustomerList...)
	}
	return out, nil
}

// ReplyToKf turns a domain.Reply into a kf message (without ToUser, OpenKfID
// or MsgID, which the caller sets). A reply with a menu becomes a msgmenu of
// click items (the first 10), with Text as head and MenuTail as tail;
// otherwise it is a text message. Texts over the byte limits are truncated
// at a rune boundary (use SplitText to send long text as several messages).
func ReplyToKf(r domain.Reply) KfMessage {
	if len(r.Menu) == 0 {
		return KfMessage{MsgType: "text", Text: &KfText{Content: Truncate(r.Text, MaxKfTextBytes)}}
	}
	mm := &MsgMenu{
		HeadContent: Truncate(r.Text, MaxKfMenuTextBytes),
		TailContent: Truncate(r.MenuTail, MaxKfMenuTextBytes),
	}
	for _, it := range r.Menu[:min(len(r.Menu), MaxKfMenuItems)] {
		mm.List = append(mm.List, MenuItem{Type: "click", Click: &MenuClick{ID: it.ID, Content: it.Text}})
	}
	return KfMessage{MsgType: "msgmenu", MsgMenu: mm}
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// SplitText splits s into pieces of at most n bytes each, cutting at rune
// boundaries (preferring the last newline in the window).
func SplitText(s string, n int) []string {
	if n <= 0 {
		return nil
	}
	var out []string
	for len(s) > n {
		piece := Truncate(s, n)
		if piece == "" { // n is smaller than one rune
			_, size := utf8.DecodeRuneInString(s)
			piece = s[:size]
		}
		if i := lastNewline(piece); i > 0 {
			piece = piece[:i+1]
		}
		out = append(out, piece)
		s = s[len(piece):]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func lastNewline(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return i
		}
	}
	return -1
}
