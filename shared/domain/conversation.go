package domain

import (
	"encoding/json"
	"time"
)

// Role says who wrote a turn.
type Role string

// Roles of a turn's author.
const (
	RoleCustomer Role = "customer"
	RoleBot      Role = "bot"
	RoleAgent    Role = "agent" // a human servicer / sales rep
	RoleSystem   Role = "system"
)

// Turn is one message in a conversation.
type Turn struct {
	At         time.Time `json:"at"`
	Role       Role      `json:"role"`
	Name       string    `json:"name,omitempty"` // display name of the author
	MsgID      string    `json:"msgid,omitempty"`
	Text       string    `json:"text"`
	Intent     string    `json:"intent,omitempty"`
	Confidence float64   `json:"confidence,omitempty"`
	// Answered is false for a customer turn the bot could not answer.
	Answered  bool    `json:"answered,omitempty"`
	Sentiment float64 `json:"sentiment,omitempty"` // -1 (negative) .. +1 (positive)
	// Menu and MenuTail keep a bot turn's menu, so the reply can be re-sent
	// exactly as it was (kf msgmenu).
	Menu     []MenuItem `json:"menu,omitempty"`
	MenuTail string     `json:"menu_tail,omitempty"`
}

// Handoff records a transfer of the conversation to a human.
type Handoff struct {
	At     time.Time `json:"at"`
	To     string    `json:"to,omitempty"` // servicer userid or "pool"
	Reason string    `json:"reason"`
}

// Conversation is the state of one customer conversation on one channel,
// from its first message until it ends (idle timeout, session end, agent close).
type Conversation struct {
	// Key is stable for the life of the conversation and is the CRM note's
	// idempotency key: channel:peer:startUnix.
	Key            string    `json:"key"`
	Channel        string    `json:"channel"`
	CorpID         string    `json:"corp_id,omitempty"`
	OpenKfID       string    `json:"open_kfid,omitempty"`
	ExternalUserID string    `json:"external_userid,omitempty"`
	UserID         string    `json:"userid,omitempty"` // WeCom member (self-built app) or follow user
	ContactID      string    `json:"contact_id,omitempty"`
	CustomerName   string    `json:"customer_name,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	LastActivity   time.Time `json:"last_activity"`
	// LastCustomerAt and SentSinceCustomer enforce the kf send window
	// (48 h after the customer's last message, at most 5 messages).
	LastCustomerAt    time.Time `json:"last_customer_at,omitzero"`
	SentSinceCustomer int       `json:"sent_since_customer,omitempty"`
	HumanActive       bool      `json:"human_active,omitempty"`
	ServicerUserID    string    `json:"servicer_userid,omitempty"`
	Turns             []Turn    `json:"turns,omitempty"`
	Handoff           *Handoff  `json:"handoff,omitempty"`
	Satisfaction      int       `json:"satisfaction,omitempty"` // 1..5, 0 = not given
	// BotState is opaque state owned by the bot (flow slots, clarify counters).
	BotState  json.RawMessage `json:"bot_state,omitempty"`
	Ended     bool            `json:"ended,omitempty"`
	EndedAt   time.Time       `json:"ended_at,omitzero"`
	EndReason string          `json:"end_reason,omitempty"`
}

// MenuItem is one clickable option of a reply menu (kf msgmenu).
type MenuItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Reply is one outbound message. With Menu set it is sent as a kf msgmenu
// (or rendered as numbered text where menus are not supported).
type Reply struct {
	Text     string     `json:"text"`
	Menu     []MenuItem `json:"menu,omitempty"`
	MenuTail string     `json:"menu_tail,omitempty"`
	Markdown bool       `json:"markdown,omitempty"`
}
