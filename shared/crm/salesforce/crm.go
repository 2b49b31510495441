package salesforce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

const (
	fieldExternalUserID = "WeCom_External_UserId__c"
	fieldUnionID        = "WeCom_UnionId__c"
	fieldKey            = "WeCom_Conversation_Key__c"
	taskKeyPrefix       = "task:"
)

const contactFields = "Id, Name, Phone, MobilePhone, Email, AccountId, Account.Name, OwnerId, " + fieldExternalUserID + ", " + fieldUnionID
const taskFields = "Id, Subject, Description, ActivityDate, ReminderDateTime, Status, IsClosed, OwnerId, WhoId, CreatedDate, " + fieldKey

func (c *Client) contact(r record) domain.Contact {
	phone := cmp.Or(r.str("MobilePhone"), r.str("Phone"))
	if e, ok := crm.PhoneE164(phone); ok {
		phone = e
	}
	owner := r.str("OwnerId")
	return domain.Contact{ID: r.str("Id"), ExternalUserID: r.str(fieldExternalUserID), UnionID: r.str(fieldUnionID),
		Name: r.str("Name"), Company: r.str("Account.Name"), Phone: phone, Email: r.str("Email"),
		OwnerID: owner, OwnerUserID: c.cfg.Owners[owner]}
}

// FindContact implements crm.CRM with one SOQL query.
func (c *Client) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	var conds []string
	if id.ExternalUserID != "" {
		conds = append(conds, fieldExternalUserID+" = "+soqlString(id.ExternalUserID))
	}
	if id.UnionID != "" {
		conds = append(conds, fieldUnionID+" = "+soqlString(id.UnionID))
	}
	phones := crm.PhoneCandidates(id.Phones)
	if len(phones) > 0 {
		conds = append(conds, "MobilePhone IN "+soqlList(phones), "Phone IN "+soqlList(phones))
	}
	if len(conds) == 0 {
		return domain.Contact{}, fmt.Errorf("salesforce: find contact: empty identity: %w", domain.ErrInvalid)
	}
	recs, err := c.query(ctx, "SELECT "+contactFields+" FROM Contact WHERE "+strings.Join(conds, " OR ")+" LIMIT 10")
	if err != nil {
		return domain.Contact{}, err
	}
	r, err := crm.MatchContact(id, recs, func(r record) crm.Keys {
		return crm.Keys{ExternalUserID: r.str(fieldExternalUserID), UnionID: r.str(fieldUnionID),
			Phones: []string{r.str("MobilePhone"), r.str("Phone")}}
	})
	if err != nil {
		return domain.Contact{}, fmt.Errorf("salesforce: find contact: %w", err)
	}
	return c.contact(r), nil
}

// CreateContact implements crm.CRM: an upsert on WeCom_External_UserId__c
// (a plain create without one). The company becomes the Account, found by
// name or created.
func (c *Client) CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	fields := map[string]any{"LastName": cmp.Or(id.Name, id.ExternalUserID, "WeCom customer")}
	var phone string
	for _, p := range id.Phones {
		if e, ok := crm.PhoneE164(p); ok {
			phone = e
			fields["MobilePhone"] = e
			break
		}
	}
	if id.UnionID != "" {
		fields[fieldUnionID] = id.UnionID
	}
	if id.Company != "" {
		accountID, err := c.account(ctx, id.Company)
		if err != nil {
			return domain.Contact{}, err
		}
		fields["AccountId"] = accountID
	}
	var recID string
	if id.ExternalUserID != "" {
		var err error
		if recID, err = c.upsert(ctx, "Contact", fieldExternalUserID, id.ExternalUserID, fields); err != nil {
			return domain.Contact{}, err
		}
	} else {
		var r upsertResponse
		if err := c.create(ctx, "Contact", fields, &r); err != nil {
			return domain.Contact{}, err
		}
		recID = r.ID
	}
	return domain.Contact{ID: recID, ExternalUserID: id.ExternalUserID, UnionID: id.UnionID,
		Name: fields["LastName"].(string), Company: id.Company, Phone: phone}, nil
}

func (c *Client) create(ctx context.Context, object string, fields map[string]any, out *upsertResponse) error {
	_, b, err := c.do(ctx, call{method: http.MethodPost, path: "/sobjects/" + object, body: fields, ok: []int{http.StatusCreated}})
	if err != nil {
		return err
	}
	if err := jsonUnmarshal(b, out); err != nil || out.ID == "" {
		return fmt.Errorf("salesforce: create %s: bad response: %w", object, domain.ErrUnavailable)
	}
	return nil
}

func (c *Client) account(ctx context.Context, name string) (string, error) {
	recs, err := c.query(ctx, "SELECT Id FROM Account WHERE Name = "+soqlString(name)+" LIMIT 1")
	if err != nil {
		return "", err
	}
	if len(recs) > 0 {
		return recs[0].str("Id"), nil
	}
	var r upsertResponse
	if err := c.create(ctx, "Account", map[string]any{"Name": name}, &r); err != nil {
		return "", err
	}
	return r.ID, nil
}

// Context implements crm.CRM with three concurrent SOQL queries (contact,
// opportunities via OpportunityContactRole, tasks).
func (c *Client) Context(ctx context.Context, contactID string) (domain.CustomerContext, error) {
	if !validID(contactID) {
		return domain.CustomerContext{}, errNotFoundID("context", contactID)
	}
	lit := soqlString(contactID)
	soql := []string{
		"SELECT " + contactFields + " FROM Contact WHERE Id = " + lit + " LIMIT 1",
		"SELECT Id, Name, StageName, Amount, CloseDate, NextStep FROM Opportunity WHERE Id IN (SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = " + lit + ") ORDER BY CloseDate ASC LIMIT 20",
		"SELECT " + taskFields + " FROM Task WHERE WhoId = " + lit + " ORDER BY ActivityDate DESC, CreatedDate DESC LIMIT 50",
	}
	var (
		wg   sync.WaitGroup
		res  [3][]record
		errs [3]error
	)
	for i, q := range soql {
		wg.Go(func() { res[i], errs[i] = c.query(ctx, q) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return domain.CustomerContext{}, err
	}
	if len(res[0]) == 0 {
		return domain.CustomerContext{}, fmt.Errorf("salesforce: context %s: %w", contactID, domain.ErrNotFound)
	}
	cc := domain.CustomerContext{Contact: c.contact(res[0][0]), Fetched: time.Now()}
	for _, r := range res[1] {
		cc.Deals = append(cc.Deals, domain.Deal{ID: r.str("Id"), Name: r.str("Name"), Stage: r.str("StageName"),
			Amount: r.num("Amount"), NextStep: r.str("NextStep"), CloseDate: parseDate(r.str("CloseDate"))})
	}
	for _, r := range res[2] {
		key := r.str(fieldKey)
		switch {
		case r.str("IsClosed") != "true":
			cc.Tasks = append(cc.Tasks, c.task(r))
		case key != "" && !strings.HasPrefix(key, taskKeyPrefix):
			cc.Notes = append(cc.Notes, domain.Note{ID: r.str("Id"), Key: key, ContactID: contactID, OwnerID: r.str("OwnerId"),
				Title: r.str("Subject"), Body: r.str("Description"), At: parseDate(r.str("ActivityDate"))})
		}
	}
	if len(cc.Notes) > 10 {
		cc.Notes = cc.Notes[:10]
	}
	slices.SortStableFunc(cc.Tasks, func(a, b domain.Task) int { return a.Due.Compare(b.Due) })
	return cc, nil
}

func (c *Client) task(r record) domain.Task {
	due := parseDate(r.str("ReminderDateTime"))
	if due.IsZero() {
		due = parseDate(r.str("ActivityDate"))
	}
	owner := r.str("OwnerId")
	return domain.Task{ID: r.str("Id"), Key: strings.TrimPrefix(r.str(fieldKey), taskKeyPrefix), ContactID: r.str("WhoId"),
		OwnerID: owner, OwnerUserID: c.cfg.Owners[owner], Subject: r.str("Subject"), Body: r.str("Description"),
		Due: due, Done: r.str("IsClosed") == "true"}
}

func parseDate(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// sfDateTime formats t as a Salesforce dateTime.
func sfDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// UpsertNote implements crm.CRM: a Completed Task upserted on
// WeCom_Conversation_Key__c (a plain Task create when the key is empty).
func (c *Client) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	if !validID(n.ContactID) {
		return "", errNotFoundID("upsert note: contact", n.ContactID)
	}
	at := cmp.Or(n.At, time.Now())
	fields := map[string]any{"Subject": truncate(cmp.Or(n.Title, "WeCom conversation"), 255), "Description": truncate(n.Body, 32000),
		"WhoId": n.ContactID, "ActivityDate": at.UTC().Format(time.DateOnly), "Status": "Completed", "Priority": "Normal"}
	if n.OwnerID != "" {
		fields["OwnerId"] = n.OwnerID
	}
	if n.Key == "" {
		var r upsertResponse
		err := c.create(ctx, "Task", fields, &r)
		return r.ID, err
	}
	return c.upsert(ctx, "Task", fieldKey, n.Key, fields)
}

// CreateTask implements crm.CRM. With a key, an existing task is returned
// unchanged; otherwise it is created by upsert on "task:"+key.
func (c *Client) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	if strings.TrimSpace(t.Subject) == "" || t.Due.IsZero() {
		return domain.Task{}, fmt.Errorf("salesforce: create task: subject and due required: %w", domain.ErrInvalid)
	}
	if t.ContactID != "" && !validID(t.ContactID) {
		return domain.Task{}, errNotFoundID("create task: contact", t.ContactID)
	}
	if t.Key != "" {
		recs, err := c.query(ctx, "SELECT "+taskFields+" FROM Task WHERE "+fieldKey+" = "+soqlString(taskKeyPrefix+t.Key)+" LIMIT 1")
		if err != nil {
			return domain.Task{}, err
		}
		if len(recs) > 0 {
			return c.task(recs[0]), nil
		}
	}
	fields := map[string]any{"Subject": truncate(t.Subject, 255), "ActivityDate": t.Due.UTC().Format(time.DateOnly),
		"ReminderDateTime": sfDateTime(t.Due), "IsReminderSet": true, "Status": "Not Started", "Priority": "Normal"}
	if t.Body != "" {
		fields["Description"] = truncate(t.Body, 32000)
	}
	if t.ContactID != "" {
		fields["WhoId"] = t.ContactID
	}
	if t.OwnerID != "" {
		fields["OwnerId"] = t.OwnerID
	}
	var id string
	var err error
	if t.Key != "" {
		id, err = c.upsert(ctx, "Task", fieldKey, taskKeyPrefix+t.Key, fields)
	} else {
		var r upsertResponse
		err = c.create(ctx, "Task", fields, &r)
		id = r.ID
	}
	if err != nil {
		return domain.Task{}, err
	}
	t.ID, t.Done = id, false
	t.OwnerUserID = cmp.Or(t.OwnerUserID, c.cfg.Owners[t.OwnerID])
	return t, nil
}

// ListTasks implements crm.CRM with one SOQL query (the exact due-time
// filter is applied to the ReminderDateTime after the date filter).
func (c *Client) ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	conds := []string{"IsClosed = false"}
	if q.OwnerID != "" {
		conds = append(conds, "OwnerId = "+soqlString(q.OwnerID))
	}
	if q.ContactID != "" {
		conds = append(conds, "WhoId = "+soqlString(q.ContactID))
	}
	if !q.DueBefore.IsZero() {
		conds = append(conds, "ActivityDate <= "+q.DueBefore.UTC().Format(time.DateOnly))
	}
	limit := min(cmp.Or(q.Limit, 100), 2000)
	recs, err := c.query(ctx, "SELECT "+taskFields+" FROM Task WHERE "+strings.Join(conds, " AND ")+
		" ORDER BY ActivityDate ASC, CreatedDate ASC LIMIT "+strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	out := make([]domain.Task, 0, len(recs))
	for _, r := range recs {
		if t := c.task(r); q.DueBefore.IsZero() || t.Due.Before(q.DueBefore) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b domain.Task) int { return a.Due.Compare(b.Due) })
	return out, nil
}

// CompleteTask implements crm.CRM.
func (c *Client) CompleteTask(ctx context.Context, id string) error {
	if !validID(id) {
		return errNotFoundID("complete task", id)
	}
	_, _, err := c.do(ctx, call{method: http.MethodPatch, path: "/sobjects/Task/" + url.PathEscape(id),
		body: map[string]any{"Status": "Completed"}, ok: []int{http.StatusNoContent, http.StatusOK}})
	return err
}

// SearchContacts implements crm.CRM: exact phone match for phone-looking
// queries, else LIKE on name, account name and email.
func (c *Client) SearchContacts(ctx context.Context, query string, limit int) ([]domain.Contact, error) {
	var where string
	if _, ok := crm.PhoneE164(query); ok {
		phones := soqlList(crm.PhoneCandidates([]string{query}))
		where = "MobilePhone IN " + phones + " OR Phone IN " + phones
	} else {
		like := soqlLike(strings.TrimSpace(query))
		where = "Name LIKE " + like + " OR Account.Name LIKE " + like + " OR Email LIKE " + like
	}
	recs, err := c.query(ctx, "SELECT "+contactFields+" FROM Contact WHERE "+where+" ORDER BY Name ASC LIMIT "+strconv.Itoa(min(cmp.Or(limit, 20), 200)))
	if err != nil {
		return nil, err
	}
	out := make([]domain.Contact, 0, len(recs))
	for _, r := range recs {
		out = append(out, c.contact(r))
	}
	return out, nil
}
