package hubspot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/crmtest"
	"wecom-crm-bot/shared/crm/hubspot"
	"wecom-crm-bot/shared/crm/hubspot/hubspottest"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

const token = "pat-na1-test-token"

// newFake starts the fake and fails the test if the adapter sent any
// request the fake had to reject as malformed.
func newFake(t *testing.T) *hubspottest.Server {
	t.Helper()
	srv := hubspottest.New(token)
	t.Cleanup(func() {
		srv.Close()
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("adapter sent malformed requests: %q", v)
		}
	})
	return srv
}

func newClient(t *testing.T, srv *hubspottest.Server, tok string) *hubspot.Client {
	t.Helper()
	c, err := hubspot.New(tok, hubspot.WithBaseURL(srv.URL), hubspot.WithRetry(3, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatalf("hubspot.New: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crm.CRM { return newClient(t, newFake(t), token) })
}

func TestNewRequiresToken(t *testing.T) {
	if _, err := hubspot.New(" "); !errors.Is(err, domain.ErrConfig) || !strings.Contains(err.Error(), "HUBSPOT_TOKEN") {
		t.Errorf("New(empty) err = %v, want ErrConfig naming HUBSPOT_TOKEN", err)
	}
}

func TestPagedAssociationsUseV4(t *testing.T) {
	srv := newFake(t)
	srv.SetAssocPageSize(2)
	c := newClient(t, srv, token)
	ct, err := c.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmP", Name: "分页"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := c.UpsertNote(t.Context(), domain.Note{Key: "k" + string(rune('0'+i)), ContactID: ct.ID, Title: "t", Body: "b", At: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.ResetRequests()
	cc, err := c.Context(t.Context(), ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Notes) != 5 || !cc.Notes[0].At.Equal(base.Add(4*time.Hour)) {
		t.Errorf("notes = %d (first %v), want all 5 newest first", len(cc.Notes), cc.Notes)
	}
	if !contains(srv.Requests(), "GET /crm/v4/objects/contacts/"+ct.ID+"/associations/notes") {
		t.Errorf("requests %q: want the v4 association listing for paged notes", srv.Requests())
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     hubspottest.Fault
		times     int
		wantErr   error  // nil: succeeds after retries
		wantReqs  int    // requests to the search endpoint
		wantInErr string // text the error must carry
	}{
		{"500 then OK", hubspottest.Fault{Status: 500}, 2, nil, 3, ""},
		{"503 forever", hubspottest.Fault{Status: 503}, 10, domain.ErrUnavailable, 4, ""},
		{"429 ten-secondly then OK", hubspottest.Fault{Status: 429, Policy: "TEN_SECONDLY_ROLLING"}, 1, nil, 2, ""},
		{"429 ten-secondly forever", hubspottest.Fault{Status: 429, Policy: "TEN_SECONDLY_ROLLING"}, 10, domain.ErrRateLimited, 4, "TEN_SECONDLY_ROLLING"},
		{"429 daily not retried", hubspottest.Fault{Status: 429, Policy: "DAILY"}, 10, domain.ErrRateLimited, 1, "DAILY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			c := newClient(t, srv, token)
			tc.fault.Match = "POST /crm/v3/objects/contacts/search"
			srv.Inject(tc.fault, tc.times)
			_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmX"})
			if tc.wantErr == nil {
				if !errors.Is(err, domain.ErrNotFound) {
					t.Errorf("err = %v, want the fault retried away (then ErrNotFound)", err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantInErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantInErr)) {
				t.Errorf("err = %v, want it to mention %s", err, tc.wantInErr)
			}
			if got := len(srv.Requests()); got != tc.wantReqs {
				t.Errorf("requests = %d, want %d", got, tc.wantReqs)
			}
		})
	}
}

func TestUnauthorizedNoRetryStorm(t *testing.T) {
	srv := hubspottest.New(token)
	t.Cleanup(srv.Close)
	c := newClient(t, srv, "pat-revoked")
	_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmX"})
	if !errors.Is(err, domain.ErrConfig) || !strings.Contains(err.Error(), "HUBSPOT_TOKEN") {
		t.Errorf("err = %v, want ErrConfig naming HUBSPOT_TOKEN", err)
	}
	if domain.Retryable(err) {
		t.Error("401 must not be retryable")
	}
	if got := len(srv.Requests()); got != 1 {
		t.Errorf("requests = %d, want 1 (no retries on 401)", got)
	}
}

func TestNonIdempotentCreateNotRetried(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, token)
	ct, err := c.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmR", Name: "重试"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(hubspottest.Fault{Match: "POST /crm/v3/objects/notes", Status: 502}, 1)
	srv.ResetRequests()
	_, err = c.UpsertNote(t.Context(), domain.Note{ContactID: ct.ID, Title: "no key", Body: "b", At: time.Now()})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("plain create sent %d times, want 1 (a retry could duplicate the note)", n)
	}
}

// memStore is a minimal versioned crm.Store for the cache tests.
type memStore struct{ m map[string]store.Record }

func (s *memStore) Get(_ context.Context, key string) (store.Record, error) {
	if r, ok := s.m[key]; ok {
		return r, nil
	}
	return store.Record{}, store.ErrNotFound
}

func (s *memStore) Put(_ context.Context, key string, v []byte, version int64, _ time.Duration) (int64, error) {
	if s.m[key].Version != version {
		return 0, store.ErrConflict
	}
	s.m[key] = store.Record{Value: v, Version: version + 1}
	return version + 1, nil
}

func TestCachedSteadyStateRequests(t *testing.T) {
	srv := newFake(t)
	counting := crm.NewCounting(newClient(t, srv, token))
	c := crm.NewCached(counting, &memStore{m: map[string]store.Record{}})
	seed, err := counting.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmSTEADY", Name: "稳态", Phones: []string{"13800000000"}})
	if err != nil {
		t.Fatal(err)
	}
	conversation := func(n int) (calls map[string]int, requests []string) {
		t.Helper()
		counting.Reset()
		srv.ResetRequests()
		ct, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmSTEADY"})
		if err != nil || ct.ID != seed.ID {
			t.Fatalf("FindContact = %+v, %v", ct, err)
		}
		if _, err := c.Context(t.Context(), ct.ID); err != nil {
			t.Fatalf("Context: %v", err)
		}
		if _, err := c.UpsertNote(t.Context(), domain.Note{Key: "wecom:steady:" + string(rune('a'+n)), ContactID: ct.ID, Title: "WeCom", Body: "…", At: time.Now()}); err != nil {
			t.Fatalf("UpsertNote: %v", err)
		}
		return counting.Counts(), srv.Requests()
	}
	calls, reqs := conversation(0)
	t.Logf("cold conversation: port calls %v, HTTP requests %d %q", calls, len(reqs), reqs)
	calls, reqs = conversation(1)
	t.Logf("warm conversation: port calls %v, HTTP requests %d %q", calls, len(reqs), reqs)
	if total(calls) != 1 || calls["UpsertNote"] != 1 {
		t.Errorf("warm conversation port calls = %v, want only UpsertNote (≤ 2 CRM calls)", calls)
	}
	if len(reqs) != 2 {
		t.Errorf("warm conversation HTTP requests = %q, want 2 (note upsert + association)", reqs)
	}
}

func TestCachedTimeoutFallsBack(t *testing.T) {
	srv := newFake(t)
	c := crm.NewCached(newClient(t, srv, token), &memStore{m: map[string]store.Record{}}, crm.WithTimeout(100*time.Millisecond))
	srv.Inject(hubspottest.Fault{Delay: time.Second}, 5)
	start := time.Now()
	_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmSLOW"})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("fallback took %s, want about the 100 ms timeout", d)
	}
}

// TestFakeRejectsMalformed proves that the fake validates what it should,
// so the conformance run above means something.
func TestFakeRejectsMalformed(t *testing.T) {
	srv := hubspottest.New(token)
	t.Cleanup(srv.Close)
	contact := srv.AddObject("contacts", map[string]string{"firstname": "x"})
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		category                       string
	}{
		{"missing bearer", "POST", "/crm/v3/objects/contacts/search", "", `{}`, 401, "INVALID_AUTHENTICATION"},
		{"wrong path", "POST", "/crm/v3/objects/contact/search", token, `{}`, 404, "OBJECT_NOT_FOUND"},
		{"bad json", "POST", "/crm/v3/objects/contacts/search", token, `{"filterGroups":[`, 400, "VALIDATION_ERROR"},
		{"non-string property", "POST", "/crm/v3/objects/notes", token, `{"properties":{"hs_timestamp":1764000000000,"hs_note_body":"x"},"associations":[]}`, 400, "VALIDATION_ERROR"},
		{"missing associations", "POST", "/crm/v3/objects/notes", token, `{"properties":{"hs_timestamp":"2026-11-24T08:00:00Z"}}`, 400, "VALIDATION_ERROR"},
		{"wrong association type", "POST", "/crm/v3/objects/notes", token, `{"properties":{"hs_timestamp":"2026-11-24T08:00:00Z"},"associations":[{"to":{"id":"` + contact + `"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":204}]}]}`, 400, "VALIDATION_ERROR"},
		{"upsert without unique idProperty", "POST", "/crm/v3/objects/notes/batch/upsert", token, `{"inputs":[{"idProperty":"hs_note_body","id":"k","properties":{"hs_timestamp":"2026-11-24T08:00:00Z"}}]}`, 400, "VALIDATION_ERROR"},
		{"too many filter groups", "POST", "/crm/v3/objects/contacts/search", token, `{"filterGroups":[` + strings.Repeat(`{"filters":[{"propertyName":"a","operator":"EQ","value":"1"}]},`, 6) + `{"filters":[{"propertyName":"a","operator":"EQ","value":"1"}]}]}`, 400, "VALIDATION_ERROR"},
		{"IN without values", "POST", "/crm/v3/objects/contacts/search", token, `{"filterGroups":[{"filters":[{"propertyName":"phone","operator":"IN","value":"1"}]}]}`, 400, "VALIDATION_ERROR"},
		{"bad task status", "PATCH", "/crm/v3/objects/tasks/1", token, `{"properties":{"hs_task_status":"DONE"}}`, 400, "VALIDATION_ERROR"},
		{"unknown contact", "GET", "/crm/v3/objects/contacts/424242", token, ``, 404, "OBJECT_NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, bytes.NewBufferString(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", "Bearer "+tc.auth)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var e struct{ Status, Message, CorrelationID, Category string }
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", b, err)
			}
			if resp.StatusCode != tc.status || e.Category != tc.category || e.Status != "error" || e.Message == "" || e.CorrelationID == "" {
				t.Errorf("%s %s = %d %+v, want %d category %s with message and correlationId", tc.method, tc.path, resp.StatusCode, e, tc.status, tc.category)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
