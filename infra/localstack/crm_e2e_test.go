package localstack_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/crm/hubspot/hubspottest"
	"wecom-crm-bot/shared/domain"
)

// chat sends each message as user and waits for the bot's replies to it;
// it returns all reply text.
func chat(t *testing.T, s *localstack.Stack, user string, msgs ...string) string {
	t.Helper()
	var all []string
	for _, m := range msgs {
		before := len(botLines(s, user))
		if err := s.Emulator.CustomerSays(t.Context(), user, m); err != nil {
			t.Fatal(err)
		}
		for _, l := range turnReplies(t, s, user, before) {
			all = append(all, l.Text)
		}
	}
	return strings.Join(all, "\n")
}

// Issue 6, built-in CRM: a known customer is greeted by name with the open
// order; after the idle window exactly one note is on the contact, in the
// CRM data and on its page.
func TestCRMBuiltinGreetingAndOneNote(t *testing.T) {
	s := start(t, stackOpts{env: map[string]string{"NOTE_IDLE_MINUTES": "0.02"}})
	alwaysOpen(t, s)
	// 张三 opens the chat (enter_session → welcome), then asks one question;
	// being a VIP, the chat then goes to the owner rep.
	const user, contact = "wmDEMO_zhangsan", "c001"
	seedNotes := len(notesOn(s, contact))
	if err := s.Emulator.CustomerEnters(t.Context(), user, "e2e"); err != nil {
		t.Fatal(err)
	}
	welcome := strings.Join(textsOf(turnReplies(t, s, user, 0)), "\n")
	for _, want := range []string{"张三", "SO20261101", "已发货"} {
		if !strings.Contains(welcome, want) {
			t.Errorf("welcome lacks %q: %q", want, welcome)
		}
	}
	if replies := chat(t, s, user, "你好，发票抬头写错了能重开吗"); !strings.Contains(replies, "换开") {
		t.Errorf("question not answered: %q", replies)
	}
	waitFor(t, "the note in the built-in CRM", 15*time.Second, func() bool { return len(notesOn(s, contact)) > seedNotes })
	time.Sleep(600 * time.Millisecond) // several more note-sync passes
	ns := notesOn(s, contact)
	if len(ns) != seedNotes+1 {
		t.Fatalf("%d new notes on %s, want 1", len(ns)-seedNotes, contact)
	}
	var marker string
	for _, n := range ns {
		if n.Key != "" && strings.Contains(n.Body, "发票抬头写错了") {
			marker = n.Key
		}
	}
	if marker == "" {
		t.Fatalf("no conversation note with the transcript: %+v", ns)
	}
	resp, err := http.Get(s.URL + "/crm/contacts/" + contact)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("contact page: %d", resp.StatusCode)
	}
	html := string(page)
	if got := strings.Count(html, marker); got != 1 {
		t.Errorf("contact page shows conversation %s %d times, want 1", marker, got)
	}
	if !strings.Contains(html, "张三") {
		t.Errorf("contact page is not 张三's")
	}
}

func notesOn(s *localstack.Stack, contact string) []domain.Note {
	var out []domain.Note
	for _, n := range s.CRM.Snapshot().Notes {
		if n.ContactID == contact {
			out = append(out, n)
		}
	}
	return out
}

// Issue 6, HubSpot: the same journey against the HubSpot fake leaves
// exactly one note on the contact, and a conversation in steady state
// costs at most 2 CRM requests.
func TestCRMHubSpotOneNoteAndRequestBudget(t *testing.T) {
	const token = "pat-na1-e2e-token"
	hs := hubspottest.New(token)
	t.Cleanup(hs.Close)
	const user = "wmHS_wangwu"
	cid := hs.AddObject("contacts", map[string]string{"firstname": "王五", "company": "王五贸易",
		"wecom_external_userid": user, "mobilephone": "+8613700001234"})
	s := start(t, stackOpts{env: map[string]string{"NOTE_IDLE_MINUTES": "0.02", "CRM": "hubspot",
		"HUBSPOT_TOKEN": token, "HUBSPOT_API_BASE": hs.URL}})
	alwaysOpen(t, s)

	notesWith := func(marker string) int {
		n := 0
		for _, id := range noteIDs(hs) {
			if strings.Contains(hs.Object("notes", id)["hs_note_body"], marker) {
				n++
			}
		}
		return n
	}
	conversation := func(marker string) int {
		hs.ResetRequests()
		if r := chat(t, s, user, marker); r == "" {
			t.Fatal("no reply")
		}
		waitFor(t, "the note in HubSpot", 15*time.Second, func() bool { return notesWith(marker) > 0 })
		time.Sleep(600 * time.Millisecond)
		if n := notesWith(marker); n != 1 {
			t.Fatalf("%d HubSpot notes for %q, want 1", n, marker)
		}
		// The local stack's scheduler also runs the reminders job (a task
		// search) on every 50 ms tick; that is not a conversation's cost.
		var reqs []string
		for _, r := range hs.Requests() {
			if r != "POST /crm/v3/objects/tasks/search" {
				reqs = append(reqs, r)
			}
		}
		t.Logf("conversation %q: %d CRM requests %q", marker, len(reqs), reqs)
		return len(reqs)
	}
	cold := conversation("发票抬头写错了能重开吗")
	if !strings.Contains(strings.Join(textsOf(botLines(s, user)), "\n"), "王五") {
		t.Errorf("not greeted by name: %q", textsOf(botLines(s, user)))
	}
	steady := []int{conversation("运费怎么算"), conversation("保修期多长")}
	for i, n := range steady {
		if n > 2 {
			t.Errorf("steady-state conversation %d made %d CRM requests, want ≤ 2", i+1, n)
		}
	}
	if v := hs.Violations(); len(v) > 0 {
		t.Errorf("malformed HubSpot requests: %q", v)
	}
	if got := hs.Count("notes"); got != 3 {
		t.Errorf("%d notes in HubSpot, want 3 (one per conversation)", got)
	}
	t.Logf("contact %s: CRM requests per conversation: cold %d, steady %v", cid, cold, steady)
}

// noteIDs lists the fake's notes (it numbers objects of all types from
// 1001 on).
func noteIDs(hs *hubspottest.Server) []string {
	var ids []string
	for i := 1001; i < 1201; i++ {
		if id := strconv.Itoa(i); hs.Object("notes", id) != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func textsOf(lines []emulator.ChatLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}
