package domain

import "time"

// Contact is a person in the CRM, as far as the bot needs to know them.
type Contact struct {
	ID             string `json:"id"`                        // CRM record id
	ExternalUserID string `json:"external_userid,omitempty"` // WeCom external_userid (wm…)
	UnionID        string `json:"unionid,omitempty"`
	Name           string `json:"name"`
	Company        string `json:"company,omitempty"`
	Phone          string `json:"phone,omitempty"` // E.164 where known
	Email          string `json:"email,omitempty"`
	Stage          string `json:"stage,omitempty"`    // lifecycle stage
	OwnerID        string `json:"owner_id,omitempty"` // CRM owner id
	// OwnerUserID is the owner's WeCom userid, when the owner mapping knows it.
	OwnerUserID string `json:"owner_userid,omitempty"`
	OwnerName   string `json:"owner_name,omitempty"`
	VIP         bool   `json:"vip,omitempty"`
}

// Deal is an open sales opportunity.
type Deal struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Stage     string    `json:"stage"`
	Amount    float64   `json:"amount"`
	Currency  string    `json:"currency,omitempty"`
	NextStep  string    `json:"next_step,omitempty"`
	CloseDate time.Time `json:"close_date,omitzero"`
	// StageSince is when the deal entered its current stage.
	StageSince time.Time `json:"stage_since,omitzero"`
}

// Order is a customer order whose status the bot can report.
type Order struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Item    string    `json:"item,omitempty"`
	Amount  float64   `json:"amount,omitempty"`
	ETA     time.Time `json:"eta,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Note is a CRM note. Key is the stable idempotency key (one note per
// conversation); writing the same Key twice updates, never duplicates.
type Note struct {
	ID        string    `json:"id,omitempty"`
	Key       string    `json:"key,omitempty"`
	ContactID string    `json:"contact_id"`
	OwnerID   string    `json:"owner_id,omitempty"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	At        time.Time `json:"at"`
}

// Task is a to-do with a deadline, owned by a sales rep.
type Task struct {
	ID        string `json:"id,omitempty"`
	Key       string `json:"key,omitempty"` // optional idempotency key
	ContactID string `json:"contact_id,omitempty"`
	OwnerID   string `json:"owner_id,omitempty"`
	// OwnerUserID is the owner's WeCom userid.
	OwnerUserID string    `json:"owner_userid,omitempty"`
	Subject     string    `json:"subject"`
	Body        string    `json:"body,omitempty"`
	Due         time.Time `json:"due"`
	Done        bool      `json:"done,omitempty"`
}

// CustomerContext is everything the bot uses to personalise a conversation.
type CustomerContext struct {
	Contact Contact   `json:"contact"`
	Deals   []Deal    `json:"deals,omitempty"`
	Orders  []Order   `json:"orders,omitempty"`
	Notes   []Note    `json:"notes,omitempty"`
	Tasks   []Task    `json:"tasks,omitempty"`
	Fetched time.Time `json:"fetched"`
}
