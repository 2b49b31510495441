package crmtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// Run runs the conformance suite. newCRM must return an adapter over fresh,
// isolated state (seed data is allowed; the suite uses phones in the
// +86 177-0000-xxxx range and external_userids starting with "wmCONF").
func Run(t *testing.T, newCRM func(t *testing.T) crm.CRM) {
	t.Helper()
	t.Run("FindByExternalUserID", func(t *testing.T) {
		c := newCRM(t)
		created := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_li", Name: "李雷", Company: "星河贸易", Phones: []string{"17700000001"}})
		if created.ID == "" {
			t.Fatal("CreateContact returned an empty id")
		}
		if created.ExternalUserID != "wmCONF_li" {
			t.Errorf("created ExternalUserID = %q, want wmCONF_li", created.ExternalUserID)
		}
		got, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmCONF_li"})
		if err != nil {
			t.Fatalf("FindContact: %v", err)
		}
		if got.ID != created.ID || got.Name != "李雷" || got.ExternalUserID != "wmCONF_li" {
			t.Errorf("FindContact = %+v, want id %s name 李雷", got, created.ID)
		}
		if got.Phone != "+8617700000001" {
			t.Errorf("FindContact phone = %q, want +8617700000001 (E.164)", got.Phone)
		}
	})
	t.Run("FindByPhone", func(t *testing.T) {
		c := newCRM(t)
		created := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_han", Name: "韩梅梅", Phones: []string{"+86 177-0000-0002"}})
		for _, phone := range []string{"17700000002", "+8617700000002", "0086 177 0000 0002"} {
			t.Run(phone, func(t *testing.T) {
				// An unknown external id with a known phone falls back to the phone.
				got, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmCONF_other", Phones: []string{phone}})
				if err != nil {
					t.Fatalf("FindContact by phone %q: %v", phone, err)
				}
				if got.ID != created.ID {
					t.Errorf("FindContact by phone = %s, want %s", got.ID, created.ID)
				}
			})
		}
	})
	t.Run("ExternalUserIDWinsOverPhone", func(t *testing.T) {
		c := newCRM(t)
		a := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_a", Name: "甲", Phones: []string{"17700000010"}})
		mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_b", Name: "乙", Phones: []string{"17700000011"}})
		got, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmCONF_a", Phones: []string{"17700000011"}})
		if err != nil {
			t.Fatalf("FindContact: %v", err)
		}
		if got.ID != a.ID {
			t.Errorf("FindContact = %s (%s), want the external_userid match %s", got.ID, got.Name, a.ID)
		}
	})
	t.Run("AmbiguousPhone", func(t *testing.T) {
		c := newCRM(t)
		mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_x1", Name: "王五", Phones: []string{"17700000003"}})
		mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_x2", Name: "王五妻", Phones: []string{"17700000003"}})
		_, err := c.FindContact(t.Context(), crm.Identity{Phones: []string{"177 0000 0003"}})
		if !errors.Is(err, domain.ErrConflict) {
			t.Errorf("FindContact with a phone shared by two contacts: err = %v, want domain.ErrConflict", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		c := newCRM(t)
		_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmCONF_nobody", Phones: []string{"17700000099"}})
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("FindContact unknown: err = %v, want domain.ErrNotFound", err)
		}
		_, err = c.Context(t.Context(), "999999999")
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("Context unknown: err = %v, want domain.ErrNotFound", err)
		}
		err = c.CompleteTask(t.Context(), "999999998")
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("CompleteTask unknown: err = %v, want domain.ErrNotFound", err)
		}
	})
	t.Run("CreateIsUpsertOnExternalUserID", func(t *testing.T) {
		c := newCRM(t)
		a := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_up", Name: "赵六"})
		b := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_up", Name: "赵六"})
		if a.ID != b.ID {
			t.Errorf("CreateContact twice with one external_userid gave ids %s and %s, want one contact", a.ID, b.ID)
		}
	})
	t.Run("ContextNotesAndTasks", func(t *testing.T) {
		c := newCRM(t)
		ct := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_ctx", Name: "钱七", Company: "钱氏科技", Phones: []string{"17700000004"}})
		at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
		note := domain.Note{Key: "wecom:conf:ctx:1", ContactID: ct.ID, Title: "WeCom chat", Body: "first body", At: at}
		id1, err := c.UpsertNote(t.Context(), note)
		if err != nil {
			t.Fatalf("UpsertNote: %v", err)
		}
		note.Body = "second body, longer"
		id2, err := c.UpsertNote(t.Context(), note)
		if err != nil {
			t.Fatalf("UpsertNote again: %v", err)
		}
		if id1 == "" || id1 != id2 {
			t.Errorf("UpsertNote ids = %q, %q; want the same non-empty id", id1, id2)
		}
		older := domain.Note{Key: "wecom:conf:ctx:0", ContactID: ct.ID, Title: "WeCom chat", Body: "older body", At: at.Add(-48 * time.Hour)}
		if _, err := c.UpsertNote(t.Context(), older); err != nil {
			t.Fatalf("UpsertNote older: %v", err)
		}
		task, err := c.CreateTask(t.Context(), domain.Task{ContactID: ct.ID, OwnerID: "", Subject: "回电报价", Body: "call back", Due: at.Add(24 * time.Hour)})
		if err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
		cc, err := c.Context(t.Context(), ct.ID)
		if err != nil {
			t.Fatalf("Context: %v", err)
		}
		if cc.Contact.ID != ct.ID || cc.Contact.Name != "钱七" {
			t.Errorf("Context contact = %+v, want %s 钱七", cc.Contact, ct.ID)
		}
		var bodies []string
		for _, n := range cc.Notes {
			bodies = append(bodies, n.Body)
		}
		if len(cc.Notes) != 2 {
			t.Fatalf("Context notes = %q, want 2 notes (upsert twice must not duplicate)", bodies)
		}
		if !strings.Contains(cc.Notes[0].Body, "second body, longer") {
			t.Errorf("newest note body = %q, want the updated body first", cc.Notes[0].Body)
		}
		if !strings.Contains(cc.Notes[1].Body, "older body") {
			t.Errorf("second note body = %q, want the older note second", cc.Notes[1].Body)
		}
		if !hasTask(cc.Tasks, task.ID) {
			t.Errorf("Context tasks = %+v, want open task %s", cc.Tasks, task.ID)
		}
	})
	t.Run("Tasks", func(t *testing.T) {
		c := newCRM(t)
		ct := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_task", Name: "孙八", Phones: []string{"17700000005"}})
		due := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		in := domain.Task{Key: "conf-task-1", ContactID: ct.ID, OwnerID: "owner-conf", Subject: "发送报价", Body: "send quote", Due: due}
		t1, err := c.CreateTask(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
		if t1.ID == "" || t1.Subject != "发送报价" || t1.Done {
			t.Errorf("CreateTask = %+v, want id, subject, not done", t1)
		}
		t2, err := c.CreateTask(t.Context(), in)
		if err != nil {
			t.Fatalf("CreateTask again: %v", err)
		}
		if t2.ID != t1.ID {
			t.Errorf("CreateTask with the same key gave ids %s and %s, want one task", t1.ID, t2.ID)
		}
		late, err := c.CreateTask(t.Context(), domain.Task{ContactID: ct.ID, OwnerID: "owner-conf", Subject: "月底回访", Due: due.Add(30 * 24 * time.Hour)})
		if err != nil {
			t.Fatalf("CreateTask late: %v", err)
		}
		if _, err := c.CreateTask(t.Context(), domain.Task{ContactID: ct.ID, OwnerID: "owner-else", Subject: "别人的", Due: due}); err != nil {
			t.Fatalf("CreateTask other owner: %v", err)
		}

		list, err := c.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "owner-conf"})
		if err != nil {
			t.Fatalf("ListTasks: %v", err)
		}
		if len(list) != 2 || list[0].ID != t1.ID || list[1].ID != late.ID {
			t.Errorf("ListTasks(owner) = %s, want [%s %s] earliest due first", taskIDs(list), t1.ID, late.ID)
		}
		if len(list) > 0 && !list[0].Due.Equal(due) {
			t.Errorf("ListTasks due = %s, want %s", list[0].Due, due)
		}
		list, err = c.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "owner-conf", DueBefore: due.Add(24 * time.Hour)})
		if err != nil {
			t.Fatalf("ListTasks due before: %v", err)
		}
		if len(list) != 1 || list[0].ID != t1.ID {
			t.Errorf("ListTasks(due before) = %s, want [%s]", taskIDs(list), t1.ID)
		}
		if err := c.CompleteTask(t.Context(), t1.ID); err != nil {
			t.Fatalf("CompleteTask: %v", err)
		}
		list, err = c.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "owner-conf"})
		if err != nil {
			t.Fatalf("ListTasks after complete: %v", err)
		}
		if len(list) != 1 || list[0].ID != late.ID {
			t.Errorf("ListTasks after CompleteTask = %s, want only [%s] (open only)", taskIDs(list), late.ID)
		}
	})
	t.Run("SearchContacts", func(t *testing.T) {
		c := newCRM(t)
		a := mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_s1", Name: "欧阳修", Company: "醉翁亭文化", Phones: []string{"17700000006"}})
		mustCreate(t, c, crm.Identity{ExternalUserID: "wmCONF_s2", Name: "苏轼", Company: "赤壁旅游", Phones: []string{"17700000007"}})
		tests := []struct{ name, query string }{
			{"name", "欧阳修"},
			{"company", "醉翁亭文化"},
			{"phone", "17700000006"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := c.SearchContacts(t.Context(), tc.query, 10)
				if err != nil {
					t.Fatalf("SearchContacts(%q): %v", tc.query, err)
				}
				if len(got) != 1 || got[0].ID != a.ID {
					t.Errorf("SearchContacts(%q) = %+v, want exactly %s", tc.query, got, a.ID)
				}
			})
		}
	})
}

func mustCreate(t *testing.T, c crm.CRM, id crm.Identity) domain.Contact {
	t.Helper()
	ct, err := c.CreateContact(t.Context(), id)
	if err != nil {
		t.Fatalf("CreateContact(%s): %v", id.ExternalUserID, err)
	}
	return ct
}

func hasTask(ts []domain.Task, id string) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

func taskIDs(ts []domain.Task) []string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}
