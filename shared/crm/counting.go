package crm

import (
	"context"
	"maps"
	"sync"

	"wecom-crm-bot/shared/domain"
)

// Counting is a CRM decorator that counts calls per method name
// ("FindContact", "Context", …). It is safe for concurrent use.
type Counting struct {
	next   CRM
	mu     sync.Mutex
	counts map[string]int
}

var _ CRM = (*Counting)(nil)

// NewCounting wraps next.
func NewCounting(next CRM) *Counting {
	return &Counting{next: next, counts: map[string]int{}}
}

// Counts returns a copy of the per-method call counts.
func (c *Counting) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Total returns the number of calls over all methods.
func (c *Counting) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Reset sets all counts to zero.
func (c *Counting) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.counts)
}

func (c *Counting) inc(method string) {
	c.mu.Lock()
	c.counts[method]++
	c.mu.Unlock()
}

// FindContact implements CRM.
func (c *Counting) FindContact(ctx context.Context, id Identity) (domain.Contact, error) {
	c.inc("FindContact")
	return c.next.FindContact(ctx, id)
}

// CreateContact implements CRM.
func (c *Counting) CreateContact(ctx context.Context, id Identity) (domain.Contact, error) {
	c.inc("CreateContact")
	return c.next.CreateContact(ctx, id)
}

// Context implements CRM.
func (c *Counting) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	c.inc("Context")
	return c.next.Context(ctx, contactID)
}

// UpsertNote implements CRM.
func (c *Counting) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	c.inc("UpsertNote")
	return c.next.UpsertNote(ctx, n)
}

// CreateTask implements CRM.
func (c *Counting) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	c.inc("CreateTask")
	return c.next.CreateTask(ctx, t)
}

// ListTasks implements CRM.
func (c *Counting) ListTasks(ctx context.Context, q TaskQuery) ([]domain.Task, error) {
	c.inc("ListTasks")
	return c.next.ListTasks(ctx, q)
}

// CompleteTask implements CRM.
func (c *Counting) CompleteTask(ctx context.Context, id string) error {
	c.inc("CompleteTask")
	return c.next.CompleteTask(ctx, id)
}

// SearchContacts implements CRM.
func (c *Counting) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	c.inc("SearchContacts")
	return c.next.SearchContacts(ctx, query, limit)
}
