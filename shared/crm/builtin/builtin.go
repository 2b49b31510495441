package builtin

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

//go:embed seed.json
var seedJSON []byte

// Owner is a sales rep who owns contacts and tasks.
type Owner struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	UserID string `json:"userid"` // WeCom userid, e.g. sales01
}

// DealRecord is a deal with the contact it belongs to.
type DealRecord struct {
	ContactID string      `json:"contact_id"`
	Deal      domain.Deal `json:"deal"`
}

// OrderRecord is an order with the contact who placed it.
type OrderRecord struct {
	ContactID string       `json:"contact_id"`
	Order     domain.Order `json:"order"`
}

// Data is the whole state of the builtin CRM, as persisted to the JSON file.
type Data struct {
	Owners   []Owner          `json:"owners"`
	Contacts []domain.Contact `json:"contacts"`
	// Phones holds extra phones per contact id (E.164), besides Contact.Phone.
	Phones map[string][]string `json:"phones,omitempty"`
	Deals  []DealRecord        `json:"deals"`
	Orders []OrderRecord       `json:"orders"`
	Notes  []domain.Note       `json:"notes"`
	Tasks  []domain.Task       `json:"tasks"`
	NextID int                 `json:"next_id,omitempty"`
}

// CRM is the embedded CRM. It is safe for concurrent use.
type CRM struct {
	mu   sync.Mutex
	data Data
	o    options
}

var _ crm.CRM = (*CRM)(nil)

type options struct {
	path string
	seed bool
	now  func() time.Time
}

// Option configures New.
type Option func(*options)

// WithFile persists the data as JSON at path: loaded at start when the file
// exists (instead of the seed), rewritten atomically after every change.
func WithFile(path string) Option { return func(o *options) { o.path = path } }

// WithoutSeed starts empty instead of with the demo data.
func WithoutSeed() Option { return func(o *options) { o.seed = false } }

// WithClock sets the clock used for timestamps. Default time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a builtin CRM. It fails only when the persistence file exists
// but cannot be read or decoded.
func New(opts ...Option) (*CRM, error) {
	o := options{seed: true, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	c := &CRM{o: o}
	if o.path != "" {
		b, err := os.ReadFile(o.path)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &c.data); err != nil {
				return nil, fmt.Errorf("builtin crm: decode %s: %w: %w", o.path, domain.ErrConfig, err)
			}
			return c, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("builtin crm: read %s: %w: %w", o.path, domain.ErrConfig, err)
		}
	}
	if o.seed {
		if err := json.Unmarshal(seedJSON, &c.data); err != nil {
			return nil, fmt.Errorf("builtin crm: decode seed: %w", err)
		}
	}
	if c.data.NextID == 0 {
		c.data.NextID = 1000
	}
	return c, nil
}

// Snapshot returns a deep copy of the current data.
func (c *CRM) Snapshot() Data {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(c.data) // plain data: cannot fail
	var d Data
	_ = json.Unmarshal(b, &d) // round trip of our own encoding
	return d
}

// save persists the data; the caller holds mu.
func (c *CRM) save() error {
	if c.o.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(c.data, "", "  ")
	if err != nil {
		return fmt.Errorf("builtin crm: encode: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.o.path), ".crm-*.json")
	if err != nil {
		return fmt.Errorf("builtin crm: save: %w: %w", domain.ErrUnavailable, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("builtin crm: save: %w: %w", domain.ErrUnavailable, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("builtin crm: save: %w: %w", domain.ErrUnavailable, err)
	}
	if err := os.Rename(tmp.Name(), c.o.path); err != nil {
		return fmt.Errorf("builtin crm: save: %w: %w", domain.ErrUnavailable, err)
	}
	return nil
}

func (c *CRM) newID(prefix string) string {
	c.data.NextID++
	return prefix + strconv.Itoa(c.data.NextID)
}

// decorate fills the owner fields of a contact; the caller holds mu.
func (c *CRM) decorate(ct domain.Contact) domain.Contact {
	for _, o := range c.data.Owners {
		if o.ID == ct.OwnerID {
			ct.OwnerUserID, ct.OwnerName = o.UserID, o.Name
		}
	}
	return ct
}

func (c *CRM) ownerUserID(ownerID string) string {
	for _, o := range c.data.Owners {
		if o.ID == ownerID {
			return o.UserID
		}
	}
	return ""
}

func (c *CRM) contactIndex(id string) int {
	return slices.IndexFunc(c.data.Contacts, func(ct domain.Contact) bool { return ct.ID == id })
}

func (c *CRM) phonesOf(ct domain.Contact) []string {
	ps := slices.Clone(c.data.Phones[ct.ID])
	if ct.Phone != "" {
		ps = append(ps, ct.Phone)
	}
	return ps
}

// FindContact implements crm.CRM.
func (c *CRM) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct, err := crm.MatchContact(id, c.data.Contacts, func(ct domain.Contact) crm.Keys {
		return crm.Keys{ExternalUserID: ct.ExternalUserID, UnionID: ct.UnionID, Phones: c.phonesOf(ct)}
	})
	if err != nil {
		return domain.Contact{}, fmt.Errorf("builtin crm: find contact: %w", err)
	}
	return c.decorate(ct), nil
}

// CreateContact implements crm.CRM; it updates the contact that already has
// the external_userid, if any.
func (c *CRM) CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var phones []string
	for _, p := range id.Phones {
		if e, ok := crm.PhoneE164(p); ok && !slices.Contains(phones, e) {
			phones = append(phones, e)
		}
	}
	i := -1
	if id.ExternalUserID != "" {
		i = slices.IndexFunc(c.data.Contacts, func(ct domain.Contact) bool { return ct.ExternalUserID == id.ExternalUserID })
	}
	var ct domain.Contact
	if i >= 0 {
		ct = c.data.Contacts[i]
	} else {
		ct = domain.Contact{ID: c.newID("c"), ExternalUserID: id.ExternalUserID, Stage: "lead"}
	}
	ct.UnionID = cmp.Or(id.UnionID, ct.UnionID)
	ct.Name = cmp.Or(id.Name, ct.Name, id.ExternalUserID)
	ct.Company = cmp.Or(id.Company, ct.Company)
	if len(phones) > 0 {
		ct.Phone = phones[0]
		if c.data.Phones == nil {
			c.data.Phones = map[string][]string{}
		}
		c.data.Phones[ct.ID] = phones[1:]
	}
	if id.FollowUserID != "" && ct.OwnerID == "" {
		for _, o := range c.data.Owners {
			if o.UserID == id.FollowUserID {
				ct.OwnerID = o.ID
			}
		}
	}
	if i >= 0 {
		c.data.Contacts[i] = ct
	} else {
		c.data.Contacts = append(c.data.Contacts, ct)
	}
	if err := c.save(); err != nil {
		return domain.Contact{}, err
	}
	return c.decorate(ct), nil
}

// Context implements crm.CRM with the ten newest notes.
func (c *CRM) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	cc, err := c.fullContext(contactID)
	if err != nil {
		return cc, err
	}
	if len(cc.Notes) > 10 {
		cc.Notes = cc.Notes[:10]
	}
	return cc, nil
}

func (c *CRM) fullContext(contactID string) (domain.CustomerContext, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.contactIndex(contactID)
	if i < 0 {
		return domain.CustomerContext{}, fmt.Errorf("builtin crm: context %q: %w", contactID, domain.ErrNotFound)
	}
	cc := domain.CustomerContext{Contact: c.decorate(c.data.Contacts[i]), Fetched: c.o.now()}
	for _, d := range c.data.Deals {
		if d.ContactID == contactID {
			cc.Deals = append(cc.Deals, d.Deal)
		}
	}
	for _, o := range c.data.Orders {
		if o.ContactID == contactID {
			cc.Orders = append(cc.Orders, o.Order)
		}
	}
	slices.SortStableFunc(cc.Orders, func(a, b domain.Order) int { return b.Updated.Compare(a.Updated) })
	for _, n := range c.data.Notes {
		if n.ContactID == contactID {
			cc.Notes = append(cc.Notes, n)
		}
	}
	sortNotes(cc.Notes)
	for _, t := range c.data.Tasks {
		if t.ContactID == contactID && !t.Done {
			cc.Tasks = append(cc.Tasks, t)
		}
	}
	slices.SortStableFunc(cc.Tasks, func(a, b domain.Task) int { return a.Due.Compare(b.Due) })
	return cc, nil
}

// UpsertNote implements crm.CRM. A note for an unknown contact is
// domain.ErrNotFound.
func (c *CRM) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.contactIndex(n.ContactID) < 0 {
		return "", fmt.Errorf("builtin crm: upsert note: contact %q: %w", n.ContactID, domain.ErrNotFound)
	}
	if n.At.IsZero() {
		n.At = c.o.now()
	}
	i := -1
	if n.Key != "" {
		i = slices.IndexFunc(c.data.Notes, func(x domain.Note) bool { return x.Key == n.Key })
	}
	if i >= 0 {
		n.ID = c.data.Notes[i].ID
		c.data.Notes[i] = n
	} else {
		n.ID = c.newID("n")
		c.data.Notes = append(c.data.Notes, n)
	}
	if err := c.save(); err != nil {
		return "", err
	}
	return n.ID, nil
}

// CreateTask implements crm.CRM. Subject and Due are required
// (domain.ErrInvalid).
func (c *CRM) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	if strings.TrimSpace(t.Subject) == "" || t.Due.IsZero() {
		return domain.Task{}, fmt.Errorf("builtin crm: create task: subject and due required: %w", domain.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Key != "" {
		if i := slices.IndexFunc(c.data.Tasks, func(x domain.Task) bool { return x.Key == t.Key }); i >= 0 {
			return c.data.Tasks[i], nil
		}
	}
	if t.ContactID != "" && c.contactIndex(t.ContactID) < 0 {
		return domain.Task{}, fmt.Errorf("builtin crm: create task: contact %q: %w", t.ContactID, domain.ErrNotFound)
	}
	t.ID = c.newID("t")
	t.Done = false
	t.OwnerUserID = cmp.Or(t.OwnerUserID, c.ownerUserID(t.OwnerID))
	c.data.Tasks = append(c.data.Tasks, t)
	if err := c.save(); err != nil {
		return domain.Task{}, err
	}
	return t, nil
}

// ListTasks implements crm.CRM.
func (c *CRM) ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	return c.listTasks(q, false), nil
}

func (c *CRM) listTasks(q crm.TaskQuery, all bool) []domain.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []domain.Task
	for _, t := range c.data.Tasks {
		if (t.Done && !all) || (q.OwnerID != "" && t.OwnerID != q.OwnerID) ||
			(q.ContactID != "" && t.ContactID != q.ContactID) ||
			(!q.DueBefore.IsZero() && !t.Due.Before(q.DueBefore)) {
			continue
		}
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b domain.Task) int { return a.Due.Compare(b.Due) })
	if limit := cmp.Or(q.Limit, 100); len(out) > limit {
		out = out[:limit]
	}
	return out
}

// CompleteTask implements crm.CRM.
func (c *CRM) CompleteTask(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.data.Tasks, func(t domain.Task) bool { return t.ID == id })
	if i < 0 {
		return fmt.Errorf("builtin crm: complete task %q: %w", id, domain.ErrNotFound)
	}
	c.data.Tasks[i].Done = true
	return c.save()
}

// SearchContacts implements crm.CRM: case-insensitive substring match on
// name, company, email and phone (a phone query also matches in E.164).
func (c *CRM) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.search(query, cmp.Or(limit, 20)), nil
}

func (c *CRM) search(query string, limit int) []domain.Contact {
	q := strings.ToLower(strings.TrimSpace(query))
	e164, isPhone := crm.PhoneE164(query)
	var out []domain.Contact
	for _, ct := range c.data.Contacts {
		match := q == ""
		for _, f := range append([]string{ct.Name, ct.Company, ct.Email}, c.phonesOf(ct)...) {
			if q != "" && strings.Contains(strings.ToLower(f), q) {
				match = true
			}
		}
		if isPhone && slices.Contains(c.phonesOf(ct), e164) {
			match = true
		}
		if match {
			out = append(out, c.decorate(ct))
		}
		if len(out) == limit {
			break
		}
	}
	return out
}

// OrderByID returns an order by its id (e.g. SO20261101);
// domain.ErrNotFound if there is none.
func (c *CRM) OrderByID(ctx context.Context, id string) (domain.Order, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.data.Orders {
		if strings.EqualFold(o.Order.ID, strings.TrimSpace(id)) {
			return o.Order, nil
		}
	}
	return domain.Order{}, fmt.Errorf("builtin crm: order %q: %w", id, domain.ErrNotFound)
}

// sortNotes orders notes newest first.
func sortNotes(ns []domain.Note) {
	slices.SortStableFunc(ns, func(a, b domain.Note) int { return b.At.Compare(a.At) })
}
