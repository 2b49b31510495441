package event

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"wecom-crm-bot/shared/domain"
)

// Errors returned by Parse and ParseEncrypted. All wrap domain.ErrInvalid.
var (
	// ErrSyntax means the input is not (well enough formed) XML.
	ErrSyntax = fmt.Errorf("event: malformed XML: %w", domain.ErrInvalid)
	// ErrNoRoot means the first element is not <xml>.
	ErrNoRoot = fmt.Errorf("event: root element is not <xml>: %w", domain.ErrInvalid)
	// ErrNoMsgType means the document has no (or an empty) <MsgType>.
	ErrNoMsgType = fmt.Errorf("event: missing MsgType: %w", domain.ErrInvalid)
	// ErrNoEncrypt means an encrypted callback body has no (or an empty) <Encrypt>.
	ErrNoEncrypt = fmt.Errorf("event: missing Encrypt: %w", domain.ErrInvalid)
)

func errSyntax(what string) error { return fmt.Errorf("%w: %s", ErrSyntax, what) }

// Message is a decrypted WeCom callback, flattened. Only the direct children
// of <xml> are read; the XML tag of each field is given in its comment where
// it differs from the field name. Absent elements leave fields empty.
type Message struct {
	ToUserName   string // CorpID
	FromUserName string // member userid, "sys" for contact events, empty for kf
	CreateTime   int64  // unix seconds; 0 when absent or not a number
	MsgType      string // text, image, voice, video, location, link, event, …
	Event        string // for MsgType event: enter_agent, click, kf_msg_or_event, …
	ChangeType   string // for change_external_contact: add_external_contact, …

	MsgID   string // <MsgId>, a 64-bit integer kept as text
	AgentID string // <AgentID>

	Content      string
	PicURL       string // <PicUrl>
	MediaID      string // <MediaId>
	Format       string // voice format (amr, speex)
	ThumbMediaID string // <ThumbMediaId>

	LocationX   string // <Location_X>, latitude of a location message
	LocationY   string // <Location_Y>, longitude of a location message
	Scale       string
	Label       string
	Title       string
	Description string
	URL         string // <Url>
	EventKey    string

	Latitude  string // LOCATION event
	Longitude string // LOCATION event
	Precision string // LOCATION event

	Token    string // kf_msg_or_event: the sync_msg token (valid 10 minutes)
	OpenKfID string // <OpenKfId>

	UserID         string // change_external_contact: the member
	ExternalUserID string // change_external_contact: the customer (wm…)
	State          string
	WelcomeCode    string
	Source         string
	FailReason     string
}

// Parse parses a decrypted callback document. It returns an error wrapping
// ErrSyntax for input that is not XML or is truncated, ErrNoRoot if the
// root element is not <xml>, and ErrNoMsgType if MsgType is missing.
// Unknown and nested elements are ignored; when an element repeats, the
// last one wins.
func Parse(b []byte) (Message, error) {
	var m Message
	sc, err := newScanner(string(b))
	if err != nil {
		return m, err
	}
	for {
		name, v, ok, err := sc.next()
		if err != nil {
			return Message{}, err
		}
		if !ok {
			break
		}
		m.set(name, v)
	}
	if m.MsgType == "" {
		return Message{}, ErrNoMsgType
	}
	return m, nil
}

func (m *Message) set(name, v string) {
	switch name {
	case "ToUserName":
		m.ToUserName = v
	case "FromUserName":
		m.FromUserName = v
	case "CreateTime":
		m.CreateTime = 0
		if t := strings.TrimSpace(v); t != "" {
			if n, err := strconv.ParseInt(t, 10, 64); err == nil {
				m.CreateTime = n
			}
		}
	case "MsgType":
		m.MsgType = v
	case "Event":
		m.Event = v
	case "ChangeType":
		m.ChangeType = v
	case "MsgId":
		m.MsgID = v
	case "AgentID":
		m.AgentID = v
	case "Content":
		m.Content = v
	case "PicUrl":
		m.PicURL = v
	case "MediaId":
		m.MediaID = v
	case "Format":
		m.Format = v
	case "ThumbMediaId":
		m.ThumbMediaID = v
	case "Location_X":
		m.LocationX = v
	case "Location_Y":
		m.LocationY = v
	case "Scale":
		m.Scale = v
	case "Label":
		m.Label = v
	case "Title":
		m.Title = v
	case "Description":
		m.Description = v
	case "Url":
		m.URL = v
	case "EventKey":
		m.EventKey = v
	case "Latitude":
		m.Latitude = v
	case "Longitude":
		m.Longitude = v
	case "Precision":
		m.Precision = v
	case "Token":
		m.Token = v
	case "OpenKfId":
		m.OpenKfID = v
	case "UserID":
		m.UserID = v
	case "ExternalUserID":
		m.ExternalUserID = v
	case "State":
		m.State = v
	case "WelcomeCode":
		m.WelcomeCode = v
	case "Source":
		m.Source = v
	case "FailReason":
		m.FailReason = v
	}
}

// Kind classifies a Message for routing.
type Kind int

// The kinds of callback a worker routes on.
const (
	// KindUnknown is anything not recognised below; it is acknowledged,
	// logged once and dropped.
	KindUnknown Kind = iota
	// KindAppMessage is a message a member sent to a self-built app
	// (text, image, voice, video, location, link, file).
	KindAppMessage
	// KindAppEvent is a known self-built-app event (enter_agent, click, …).
	KindAppEvent
	// KindKf is a 微信客服 kf_msg_or_event notification: pull with sync_msg.
	KindKf
	// KindContact is a change_external_contact event.
	KindContact
)

// String returns the kind's stable name: "unknown", "app_message",
// "app_event", "kf" or "contact".
func (k Kind) String() string {
	switch k {
	case KindAppMessage:
		return "app_message"
	case KindAppEvent:
		return "app_event"
	case KindKf:
		return "kf"
	case KindContact:
		return "contact"
	}
	return "unknown"
}

// Kind classifies m by MsgType and Event.
func (m *Message) Kind() Kind {
	if m.MsgType != "event" {
		switch m.MsgType {
		case "text", "image", "voice", "video", "location", "link", "file":
			return KindAppMessage
		}
		return KindUnknown
	}
	switch m.Event {
	case "kf_msg_or_event":
		return KindKf
	case "change_external_contact":
		return KindContact
	case "subscribe", "unsubscribe", "enter_agent", "LOCATION", "location", "click", "view",
		"scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
		"location_select", "open_approval_change", "template_card_event", "template_card_menu_event":
		return KindAppEvent
	}
	return KindUnknown
}

// DedupeKey returns the key under which redeliveries of the same callback
// collide: "msg:<MsgId>" for messages, and for events "evt:" followed by a
// hash of FromUserName, CreateTime, Event, ChangeType, ExternalUserID and
// Token (FromUserName+CreateTime is WeCom's recommendation; the other
// fields separate distinct events of the same second, such as two contact
// changes or two kf notifications).
func (m *Message) DedupeKey() string {
	if m.MsgID != "" {
		return "msg:" + m.MsgID
	}
	h := sha256.New()
	var n [8]byte
	for _, f := range [...]string{m.FromUserName, strconv.FormatInt(m.CreateTime, 10), m.Event, m.ChangeType, m.ExternalUserID, m.Token} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	return "evt:" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// Encrypted is the outer, still encrypted callback body (§1.5).
type Encrypted struct {
	ToUserName string // CorpID
	Encrypt    string // base64 ciphertext; the signature covers it
	AgentID    string // may be empty
}

// ParseEncrypted extracts the fields of an encrypted POST body with the same
// scanner as Parse. It returns ErrSyntax, ErrNoRoot or ErrNoEncrypt (all
// wrapping domain.ErrInvalid).
func ParseEncrypted(b []byte) (Encrypted, error) {
	var e Encrypted
	sc, err := newScanner(string(b))
	if err != nil {
		return e, err
	}
	for {
		name, v, ok, err := sc.next()
		if err != nil {
			return Encrypted{}, err
		}
		if !ok {
			break
		}
		switch name {
		case "ToUserName":
			e.ToUserName = v
		case "Encrypt":
			e.Encrypt = v
		case "AgentID":
			e.AgentID = v
		}
	}
	if e.Encrypt == "" {
		return Encrypted{}, ErrNoEncrypt
	}
	return e, nil
}
