package salesforce_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/crmtest"
	"wecom-crm-bot/shared/crm/salesforce"
	"wecom-crm-bot/shared/crm/salesforce/salesforcetest"
	"wecom-crm-bot/shared/domain"
)

func newFake(t *testing.T) *salesforcetest.Server {
	t.Helper()
	srv := salesforcetest.New("cid", "csecret", "rtoken")
	t.Cleanup(func() {
		srv.Close()
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("adapter sent malformed requests: %q", v)
		}
	})
	return srv
}

func newClient(t *testing.T, srv *salesforcetest.Server, refresh string) *salesforce.Client {
	t.Helper()
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, ClientID: "cid", ClientSecret: "csecret", RefreshToken: refresh})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, flow := range []struct{ name, refresh string }{{"RefreshToken", "rtoken"}, {"ClientCredentials", ""}} {
		t.Run(flow.name, func(t *testing.T) {
			crmtest.Run(t, func(t *testing.T) crm.CRM { return newClient(t, newFake(t), flow.refresh) })
		})
	}
	t.Run("UpsertUpdate204", func(t *testing.T) {
		crmtest.Run(t, func(t *testing.T) crm.CRM {
			srv := newFake(t)
			srv.UpdateStatus = 204
			return newClient(t, srv, "rtoken")
		})
	})
}

func TestConfig(t *testing.T) {
	_, err := salesforce.New(salesforce.Config{LoginURL: "https://x.my.salesforce.com"})
	if !errors.Is(err, domain.ErrConfig) || !strings.Contains(err.Error(), "SALESFORCE_CLIENT_ID") {
		t.Errorf("New without client id: %v", err)
	}
	srv := newFake(t)
	c := newClient(t, srv, "wrong-refresh-token")
	_, err = c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wm1"})
	if !errors.Is(err, domain.ErrConfig) || !strings.Contains(err.Error(), "SALESFORCE_REFRESH_TOKEN") {
		t.Errorf("bad refresh token: err = %v, want ErrConfig naming SALESFORCE_REFRESH_TOKEN", err)
	}
}

func TestInvalidSessionRefreshesOnce(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, "rtoken")
	if _, err := c.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmS", Name: "会话"}); err != nil {
		t.Fatal(err)
	}
	srv.ExpireSession()
	ct, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmS"})
	if err != nil || ct.Name != "会话" {
		t.Fatalf("FindContact after expiry = %+v, %v", ct, err)
	}
	if n := srv.TokenCalls(); n != 2 {
		t.Errorf("token calls = %d, want 2 (initial + one refresh)", n)
	}
}

func TestUnavailable(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, "rtoken")
	srv.Fail503("GET /services/data", 1)
	_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wm1"})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func TestInjectionIsEscaped(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, "rtoken")
	victim, err := c.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmVictim", Name: "受害者"})
	if err != nil {
		t.Fatal(err)
	}
	for _, evil := range []string{`x' OR Name != '`, `x\' OR Name != \'`, `%`, `_`} {
		t.Run(evil, func(t *testing.T) {
			_, err := c.FindContact(t.Context(), crm.Identity{ExternalUserID: evil})
			if !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("FindContact(%q) err = %v, want ErrNotFound (no injection)", evil, err)
			}
			got, err := c.SearchContacts(t.Context(), evil, 10)
			if err != nil {
				t.Fatalf("SearchContacts(%q): %v", evil, err)
			}
			for _, g := range got {
				if g.ID == victim.ID {
					t.Errorf("SearchContacts(%q) matched %s: wildcard or quote not escaped", evil, g.Name)
				}
			}
		})
	}
}

func TestOpportunitiesInContext(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, srv, "rtoken")
	ct, err := c.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmOpp", Name: "商机", Company: "机会公司"})
	if err != nil {
		t.Fatal(err)
	}
	opp := srv.Insert("Opportunity", map[string]any{"Name": "年框", "StageName": "Negotiation", "Amount": 48000.0, "CloseDate": "2026-12-15"})
	srv.Insert("Opportunity", map[string]any{"Name": "别人的", "StageName": "Prospecting", "CloseDate": "2026-12-01"})
	srv.Insert("OpportunityContactRole", map[string]any{"OpportunityId": opp, "ContactId": ct.ID})
	cc, err := c.Context(t.Context(), ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cc.Deals) != 1 || cc.Deals[0].ID != opp || cc.Deals[0].Amount != 48000 || !cc.Deals[0].CloseDate.Equal(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("deals = %+v, want only %s", cc.Deals, opp)
	}
	if cc.Contact.Company != "机会公司" {
		t.Errorf("company = %q", cc.Contact.Company)
	}
}
