package crm

import (
	"context"
	"time"

	"wecom-crm-bot/shared/domain"
)

// Identity is what WeCom knows about a customer: the keys used to find
// them in the CRM and the details used to create them when they are new.
type Identity struct {
	ExternalUserID string   // WeCom external_userid (wm…), the primary key
	UnionID        string   // WeChat unionid, when the corp has an Open Platform binding
	Name           string   // display name or remark name
	Company        string   // remark corp name
	Phones         []string // remark mobiles, raw as WeCom returns them
	FollowUserID   string   // WeCom userid of the staff member who follows the customer
}

// TaskQuery selects open tasks for ListTasks. Zero fields do not filter.
type TaskQuery struct {
	OwnerID   string    // CRM owner id
	ContactID string    // only tasks of this contact
	DueBefore time.Time // only tasks due strictly before this instant
	Limit     int       // at most this many (adapter default when 0)
}

// CRM is the port to a customer relationship management system.
//
// Every method translates vendor errors into domain sentinels:
// domain.ErrNotFound, domain.ErrConflict, domain.ErrConfig (bad credentials
// or permissions; the message names the environment variable to fix),
// domain.ErrRateLimited, domain.ErrUnavailable (5xx, timeouts) and
// domain.ErrInvalid.
type CRM interface {
	// FindContact finds the contact for a WeCom identity: by external_userid,
	// then unionid, then phones (normalised to E.164 +86…, also the raw
	// 11-digit form). It returns domain.ErrNotFound if nothing matches and
	// domain.ErrConflict if only phones match and they match more than one
	// contact (the caller must not auto-link).
	FindContact(ctx context.Context, id Identity) (domain.Contact, error)
	// CreateContact creates a contact with the external_userid set; where
	// the API allows it this is an upsert on external_userid.
	CreateContact(ctx context.Context, id Identity) (domain.Contact, error)
	// Context returns the contact with its deals, orders, latest notes
	// (newest first) and open tasks; domain.ErrNotFound for an unknown id.
	Context(ctx context.Context, contactID string) (domain.CustomerContext, error)
	// UpsertNote writes n keyed by n.Key: writing the same key twice leaves
	// one note with the latest title and body. It returns the note id.
	UpsertNote(ctx context.Context, n domain.Note) (string, error)
	// CreateTask creates t; when t.Key is set, creating the same key again
	// returns the existing task instead of a duplicate.
	CreateTask(ctx context.Context, t domain.Task) (domain.Task, error)
	// ListTasks lists open tasks matching q, earliest due first.
	ListTasks(ctx context.Context, q TaskQuery) ([]domain.Task, error)
	// CompleteTask marks the task done; domain.ErrNotFound for an unknown id.
	CompleteTask(ctx context.Context, id string) error
	// SearchContacts finds up to limit contacts whose name, phone or company
	// contains query, for staff look-ups.
	SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error)
}
