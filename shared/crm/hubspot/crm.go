package hubspot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// Property names used by the adapter.
const (
	propExternalUserID  = "wecom_external_userid"
	propUnionID         = "wecom_unionid"
	propConversationKey = "wecom_conversation_key"
	propTaskKey         = "wecom_task_key"

	assocNoteToContact = 202
	assocTaskToContact = 204
)

var (
	contactProps = []string{"firstname", "lastname", "email", "phone", "mobilephone", "company",
		"lifecyclestage", "hubspot_owner_id", propExternalUserID, propUnionID}
	dealProps = []string{"dealname", "dealstage", "amount", "deal_currency_code", "closedate", "hs_next_step"}
	noteProps = []string{"hs_note_body", "hs_timestamp", "hubspot_owner_id", propConversationKey}
	taskProps = []string{"hs_task_subject", "hs_task_body", "hs_task_status", "hs_timestamp", "hubspot_owner_id", propTaskKey}
)

type filter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        string   `json:"value,omitempty"`
	Values       []string `json:"values,omitempty"`
}

type filterGroup struct {
	Filters []filter `json:"filters"`
}

type sort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

type searchRequest struct {
	FilterGroups []filterGroup `json:"filterGroups,omitempty"`
	Query        string        `json:"query,omitempty"`
	Properties   []string      `json:"properties"`
	Sorts        []sort        `json:"sorts,omitempty"`
	Limit        int           `json:"limit"`
}

type assocSpec struct {
	AssociationCategory string `json:"associationCategory"`
	AssociationTypeID   int    `json:"associationTypeId"`
}

type assocInput struct {
	To struct {
		ID string `json:"id"`
	} `json:"to"`
	Types []assocSpec `json:"types"`
}

type createInput struct {
	Properties   map[string]string `json:"properties"`
	Associations []assocInput      `json:"associations"`
}

type upsertInput struct {
	IDProperty string            `json:"idProperty"`
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

func toContact(assoc int, id string) []assocInput {
	if id == "" {
		return []assocInput{}
	}
	var a assocInput
	a.To.ID = id
	a.Types = []assocSpec{{AssociationCategory: "HUBSPOT_DEFINED", AssociationTypeID: assoc}}
	return []assocInput{a}
}

func (c *Client) contact(o object) domain.Contact {
	first, last := o.prop("firstname"), o.prop("lastname")
	name := strings.TrimSpace(first + " " + last)
	if hasHan(first + last) {
		name = last + first // Chinese order: family name first
	}
	phone := cmp.Or(o.prop("mobilephone"), o.prop("phone"))
	if e, ok := crm.PhoneE164(phone); ok {
		phone = e
	}
	owner := o.prop("hubspot_owner_id")
	return domain.Contact{
		ID: o.ID, ExternalUserID: o.prop(propExternalUserID), UnionID: o.prop(propUnionID),
		Name: name, Company: o.prop("company"), Phone: phone, Email: o.prop("email"),
		Stage: o.prop("lifecyclestage"), OwnerID: owner, OwnerUserID: c.owners[owner],
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// FindContact implements crm.CRM with one search request.
func (c *Client) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	var groups []filterGroup
	if id.ExternalUserID != "" {
		groups = append(groups, filterGroup{[]filter{{PropertyName: propExternalUserID, Operator: "EQ", Value: id.ExternalUserID}}})
	}
	if id.UnionID != "" {
		groups = append(groups, filterGroup{[]filter{{PropertyName: propUnionID, Operator: "EQ", Value: id.UnionID}}})
	}
	phones := crm.PhoneCandidates(id.Phones)
	if len(phones) > 0 {
		groups = append(groups,
			filterGroup{[]filter{{PropertyName: "mobilephone", Operator: "IN", Values: phones}}},
			filterGroup{[]filter{{PropertyName: "phone", Operator: "IN", Values: phones}}})
	}
	if len(groups) == 0 {
		return domain.Contact{}, fmt.Errorf("hubspot: find contact: empty identity: %w", domain.ErrInvalid)
	}
	var res searchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/contacts/search", body: searchRequest{
		FilterGroups: groups, Properties: contactProps, Limit: 10,
		Sorts: []sort{{PropertyName: "lastmodifieddate", Direction: "DESCENDING"}},
	}}, &res)
	if err != nil {
		return domain.Contact{}, err
	}
	o, err := crm.MatchContact(id, res.Results, func(o object) crm.Keys {
		return crm.Keys{ExternalUserID: o.prop(propExternalUserID), UnionID: o.prop(propUnionID),
			Phones: []string{o.prop("mobilephone"), o.prop("phone")}}
	})
	if err != nil {
		return domain.Contact{}, fmt.Errorf("hubspot: find contact: %w", err)
	}
	return c.contact(o), nil
}

// CreateContact implements crm.CRM: a batch upsert on wecom_external_userid
// (a plain create when the identity has none).
func (c *Client) CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	props := map[string]string{"firstname": cmp.Or(id.Name, id.ExternalUserID)}
	if id.Company != "" {
		props["company"] = id.Company
	}
	if id.UnionID != "" {
		props[propUnionID] = id.UnionID
	}
	for _, p := range id.Phones {
		if e, ok := crm.PhoneE164(p); ok {
			props["mobilephone"] = e
			break
		}
	}
	if id.ExternalUserID == "" {
		var o object
		err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/contacts", once: true,
			body: createInput{Properties: props, Associations: []assocInput{}}, ok: []int{http.StatusCreated}}, &o)
		if err != nil {
			return domain.Contact{}, err
		}
		return c.contact(o), nil
	}
	var res batchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/contacts/batch/upsert",
		body: map[string]any{"inputs": []upsertInput{{IDProperty: propExternalUserID, ID: id.ExternalUserID, Properties: props}}},
		ok:   []int{http.StatusOK, http.StatusMultiStatus}}, &res)
	if err != nil {
		return domain.Contact{}, err
	}
	if len(res.Results) == 0 {
		return domain.Contact{}, batchFailure("upsert contact", res)
	}
	ct := c.contact(res.Results[0])
	ct.ExternalUserID = cmp.Or(ct.ExternalUserID, id.ExternalUserID)
	return ct, nil
}

func batchFailure(op string, res batchResponse) error {
	msg := "no result"
	if len(res.Errors) > 0 {
		msg = res.Errors[0].Category + ": " + res.Errors[0].Message
	}
	return fmt.Errorf("hubspot: %s: %s: %w", op, msg, domain.ErrInvalid)
}

// Context implements crm.CRM: the contact GET with its associations, then
// one batch read per associated object type, concurrently.
func (c *Client) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	if contactID == "" {
		return domain.CustomerContext{}, fmt.Errorf("hubspot: context: empty contact id: %w", domain.ErrInvalid)
	}
	var o object
	err := c.do(ctx, call{method: http.MethodGet, path: "/crm/v3/objects/contacts/" + url.PathEscape(contactID),
		query: url.Values{"properties": {strings.Join(contactProps, ",")}, "associations": {"deals,notes,tasks"}}}, &o)
	if err != nil {
		return domain.CustomerContext{}, err
	}
	cc := domain.CustomerContext{Contact: c.contact(o), Fetched: time.Now()}

	var (
		wg               sync.WaitGroup
		deals, notes, ts []object
		errs             [3]error
	)
	for i, kind := range []struct {
		name  string
		props []string
		out   *[]object
	}{{"deals", dealProps, &deals}, {"notes", noteProps, &notes}, {"tasks", taskProps, &ts}} {
		wg.Go(func() {
			ids, err := c.associated(ctx, contactID, kind.name, o.Associations[kind.name])
			if err == nil {
				*kind.out, err = c.batchRead(ctx, kind.name, ids, kind.props)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return domain.CustomerContext{}, err
	}
	for _, d := range deals {
		amount, _ := strconv.ParseFloat(d.prop("amount"), 64) // empty amount is 0
		cc.Deals = append(cc.Deals, domain.Deal{ID: d.ID, Name: d.prop("dealname"), Stage: d.prop("dealstage"),
			Amount: amount, Currency: d.prop("deal_currency_code"), NextStep: d.prop("hs_next_step"),
			CloseDate: parseTime(d.prop("closedate"))})
	}
	for _, n := range notes {
		cc.Notes = append(cc.Notes, noteFrom(n, contactID))
	}
	slices.SortStableFunc(cc.Notes, func(a, b domain.Note) int { return b.At.Compare(a.At) })
	if len(cc.Notes) > 10 {
		cc.Notes = cc.Notes[:10]
	}
	for _, t := range ts {
		if task := c.taskFrom(t, contactID); !task.Done {
			cc.Tasks = append(cc.Tasks, task)
		}
	}
	slices.SortStableFunc(cc.Tasks, func(a, b domain.Task) int { return a.Due.Compare(b.Due) })
	return cc, nil
}

// associated returns the ids of the contact's associated objects of a type,
// newest (highest id) first, at most 100: from the contact GET when that
// list is complete, else from the v4 associations endpoint.
func (c *Client) associated(ctx context.Context, contactID, toType string, l assocList) ([]string, error) {
	var ids []string
	if l.Paging == nil || l.Paging.Next == nil {
		for _, r := range l.Results {
			ids = append(ids, r.ID)
		}
	} else {
		q := url.Values{"limit": {"500"}}
		for page := 0; page < 10; page++ {
			var res v4AssocResponse
			err := c.do(ctx, call{method: http.MethodGet, query: q,
				path: "/crm/v4/objects/contacts/" + url.PathEscape(contactID) + "/associations/" + toType}, &res)
			if err != nil {
				return nil, err
			}
			for _, r := range res.Results {
				ids = append(ids, string(r.ToObjectID))
			}
			if res.Paging == nil || res.Paging.Next == nil || res.Paging.Next.After == "" {
				break
			}
			q.Set("after", res.Paging.Next.After)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(b, a)) })
	ids = slices.Compact(ids)
	if len(ids) > 100 {
		ids = ids[:100]
	}
	return ids, nil
}

func (c *Client) batchRead(ctx context.Context, objType string, ids, props []string) ([]object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	inputs := make([]map[string]string, len(ids))
	for i, id := range ids {
		inputs[i] = map[string]string{"id": id}
	}
	var res batchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/" + objType + "/batch/read",
		body: map[string]any{"inputs": inputs, "properties": props},
		ok:   []int{http.StatusOK, http.StatusMultiStatus}}, &res)
	return res.Results, err
}

var titleRe = regexp.MustCompile(`^<p><strong>(.*?)</strong></p>`)
var tagRe = regexp.MustCompile(`<[^>]*>`)

// noteBody renders a note as hs_note_body HTML.
func noteBody(n domain.Note) string {
	body := strings.ReplaceAll(html.EscapeString(n.Body), "\n", "<br>")
	if n.Title == "" {
		return "<p>" + body + "</p>"
	}
	return "<p><strong>" + html.EscapeString(n.Title) + "</strong></p><p>" + body + "</p>"
}

// noteFrom reads a note back: title from the leading bold paragraph, body as
// plain text.
func noteFrom(o object, contactID string) domain.Note {
	b := o.prop("hs_note_body")
	var title string
	if m := titleRe.FindStringSubmatch(b); m != nil {
		title = html.UnescapeString(tagRe.ReplaceAllString(m[1], ""))
		b = b[len(m[0]):]
	}
	b = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p><p>", "\n").Replace(b)
	body := html.UnescapeString(tagRe.ReplaceAllString(b, ""))
	return domain.Note{ID: o.ID, Key: o.prop(propConversationKey), ContactID: contactID,
		OwnerID: o.prop("hubspot_owner_id"), Title: title, Body: body, At: parseTime(o.prop("hs_timestamp"))}
}

// UpsertNote implements crm.CRM: a batch upsert on wecom_conversation_key,
// then the (idempotent) default note→contact association.
func (c *Client) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	if n.ContactID == "" {
		return "", fmt.Errorf("hubspot: upsert note: no contact: %w", domain.ErrInvalid)
	}
	props := map[string]string{"hs_timestamp": formatTime(cmp.Or(n.At, time.Now())), "hs_note_body": noteBody(n)}
	if n.OwnerID != "" {
		props["hubspot_owner_id"] = n.OwnerID
	}
	if n.Key == "" {
		var o object
		err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/notes", once: true, ok: []int{http.StatusCreated},
			body: createInput{Properties: props, Associations: toContact(assocNoteToContact, n.ContactID)}}, &o)
		return o.ID, err
	}
	var res batchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/notes/batch/upsert",
		body: map[string]any{"inputs": []upsertInput{{IDProperty: propConversationKey, ID: n.Key, Properties: props}}},
		ok:   []int{http.StatusOK, http.StatusMultiStatus}}, &res)
	if err != nil {
		return "", err
	}
	if len(res.Results) == 0 || res.Results[0].ID == "" {
		return "", batchFailure("upsert note", res)
	}
	id := res.Results[0].ID
	err = c.do(ctx, call{method: http.MethodPut,
		path: "/crm/v4/objects/notes/" + url.PathEscape(id) + "/associations/default/contacts/" + url.PathEscape(n.ContactID)}, nil)
	if err != nil {
		return "", fmt.Errorf("hubspot: associate note %s: %w", id, err)
	}
	return id, nil
}

func (c *Client) taskFrom(o object, contactID string) domain.Task {
	owner := o.prop("hubspot_owner_id")
	return domain.Task{ID: o.ID, Key: o.prop(propTaskKey), ContactID: contactID, OwnerID: owner,
		OwnerUserID: c.owners[owner], Subject: o.prop("hs_task_subject"), Body: o.prop("hs_task_body"),
		Due: parseTime(o.prop("hs_timestamp")), Done: o.prop("hs_task_status") == "COMPLETED"}
}

// CreateTask implements crm.CRM. With a key it first looks the key up; a
// concurrent create of the same key loses on the unique property (409) and
// returns the winner's task.
func (c *Client) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	if strings.TrimSpace(t.Subject) == "" || t.Due.IsZero() {
		return domain.Task{}, fmt.Errorf("hubspot: create task: subject and due required: %w", domain.ErrInvalid)
	}
	if t.Key != "" {
		if got, err := c.taskByKey(ctx, t); err == nil || !errors.Is(err, domain.ErrNotFound) {
			return got, err
		}
	}
	props := map[string]string{"hs_timestamp": formatTime(t.Due), "hs_task_subject": t.Subject,
		"hs_task_status": "NOT_STARTED", "hs_task_type": "TODO"}
	if t.Body != "" {
		props["hs_task_body"] = t.Body
	}
	if t.OwnerID != "" {
		props["hubspot_owner_id"] = t.OwnerID
	}
	if t.Key != "" {
		props[propTaskKey] = t.Key
	}
	var o object
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/tasks", once: true, ok: []int{http.StatusCreated},
		body: createInput{Properties: props, Associations: toContact(assocTaskToContact, t.ContactID)}}, &o)
	if errors.Is(err, domain.ErrConflict) && t.Key != "" {
		return c.taskByKey(ctx, t)
	}
	if err != nil {
		return domain.Task{}, err
	}
	got := c.taskFrom(o, t.ContactID)
	got.Key = t.Key
	return got, nil
}

func (c *Client) taskByKey(ctx context.Context, t domain.Task) (domain.Task, error) {
	var res searchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/tasks/search", body: searchRequest{
		FilterGroups: []filterGroup{{[]filter{{PropertyName: propTaskKey, Operator: "EQ", Value: t.Key}}}},
		Properties:   taskProps, Limit: 1}}, &res)
	if err != nil {
		return domain.Task{}, err
	}
	if len(res.Results) == 0 {
		return domain.Task{}, fmt.Errorf("hubspot: task %q: %w", t.Key, domain.ErrNotFound)
	}
	return c.taskFrom(res.Results[0], t.ContactID), nil
}

// ListTasks implements crm.CRM with one task search.
func (c *Client) ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	fs := []filter{{PropertyName: "hs_task_status", Operator: "NEQ", Value: "COMPLETED"}}
	if q.OwnerID != "" {
		fs = append(fs, filter{PropertyName: "hubspot_owner_id", Operator: "EQ", Value: q.OwnerID})
	}
	if !q.DueBefore.IsZero() {
		fs = append(fs, filter{PropertyName: "hs_timestamp", Operator: "LT", Value: strconv.FormatInt(q.DueBefore.UnixMilli(), 10)})
	}
	if q.ContactID != "" {
		fs = append(fs, filter{PropertyName: "associations.contact", Operator: "EQ", Value: q.ContactID})
	}
	var res searchResponse
	err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/tasks/search", body: searchRequest{
		FilterGroups: []filterGroup{{fs}}, Properties: taskProps, Limit: min(cmp.Or(q.Limit, 100), 200),
		Sorts: []sort{{PropertyName: "hs_timestamp", Direction: "ASCENDING"}}}}, &res)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Task, 0, len(res.Results))
	for _, o := range res.Results {
		out = append(out, c.taskFrom(o, q.ContactID))
	}
	return out, nil
}

// CompleteTask implements crm.CRM.
func (c *Client) CompleteTask(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodPatch, path: "/crm/v3/objects/tasks/" + url.PathEscape(id),
		body: map[string]any{"properties": map[string]string{"hs_task_status": "COMPLETED"}}}, nil)
}

// SearchContacts implements crm.CRM: a phone-looking query searches the
// phone properties exactly (both forms); anything else uses HubSpot's
// full-text query over the default searchable properties (name, email,
// phone, company).
func (c *Client) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	req := searchRequest{Properties: contactProps, Limit: min(cmp.Or(limit, 20), 200)}
	if _, ok := crm.PhoneE164(query); ok {
		phones := crm.PhoneCandidates([]string{query})
		req.FilterGroups = []filterGroup{
			{[]filter{{PropertyName: "mobilephone", Operator: "IN", Values: phones}}},
			{[]filter{{PropertyName: "phone", Operator: "IN", Values: phones}}}}
	} else {
		req.Query = query
	}
	var res searchResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/crm/v3/objects/contacts/search", body: req}, &res); err != nil {
		return nil, err
	}
	out := make([]domain.Contact, 0, len(res.Results))
	for _, o := range res.Results {
		out = append(out, c.contact(o))
	}
	return out, nil
}
