package builtin_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/crm/crmtest"
	"wecom-crm-bot/shared/domain"
)

func newCRM(t *testing.T, opts ...builtin.Option) *builtin.CRM {
	t.Helper()
	c, err := builtin.New(opts...)
	if err != nil {
		t.Fatalf("builtin.New: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	t.Run("Seeded", func(t *testing.T) {
		crmtest.Run(t, func(t *testing.T) crm.CRM { return newCRM(t) })
	})
	t.Run("FilePersisted", func(t *testing.T) {
		crmtest.Run(t, func(t *testing.T) crm.CRM {
			return newCRM(t, builtin.WithFile(filepath.Join(t.TempDir(), "crm.json")), builtin.WithoutSeed())
		})
	})
}

func TestSeed(t *testing.T) {
	c := newCRM(t)
	tests := []struct {
		name string
		id   crm.Identity
		want string
	}{
		{"external_userid", crm.Identity{ExternalUserID: "wmDEMO_zhangsan"}, "张三"},
		{"unionid", crm.Identity{UnionID: "oDEMO_union_wuting"}, "吴婷"},
		{"raw mobile", crm.Identity{Phones: []string{"139 0013 9003"}}, "王芳"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := c.FindContact(t.Context(), tc.id)
			if err != nil {
				t.Fatalf("FindContact: %v", err)
			}
			if ct.Name != tc.want {
				t.Errorf("FindContact = %s, want %s", ct.Name, tc.want)
			}
		})
	}
	ct, _ := c.FindContact(t.Context(), crm.Identity{ExternalUserID: "wmDEMO_zhangsan"})
	if ct.OwnerUserID != "sales01" || ct.OwnerName == "" {
		t.Errorf("owner of 张三 = %q/%q, want sales01 with a name", ct.OwnerUserID, ct.OwnerName)
	}
	cc, err := c.Context(t.Context(), ct.ID)
	if err != nil {
		t.Fatalf("Context: %v", err)
	}
	if len(cc.Deals) == 0 || len(cc.Orders) < 2 || len(cc.Notes) == 0 || len(cc.Tasks) == 0 {
		t.Errorf("seed context of 张三 = %d deals, %d orders, %d notes, %d tasks; want some of each", len(cc.Deals), len(cc.Orders), len(cc.Notes), len(cc.Tasks))
	}
	o, err := c.OrderByID(t.Context(), "SO20261101")
	if err != nil || o.Status == "" {
		t.Errorf("OrderByID(SO20261101) = %+v, %v", o, err)
	}
	if _, err := c.OrderByID(t.Context(), "SO00000000"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("OrderByID unknown: err = %v, want ErrNotFound", err)
	}
	tasks, _ := c.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "own-01"})
	for _, tk := range tasks {
		if tk.Done {
			t.Errorf("ListTasks returned done task %s", tk.ID)
		}
	}
}

func TestFilePersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.json")
	c := newCRM(t, builtin.WithFile(path))
	id, err := c.UpsertNote(t.Context(), domain.Note{Key: "k1", ContactID: "c001", Title: "WeCom", Body: "persisted", At: time.Now()})
	if err != nil {
		t.Fatalf("UpsertNote: %v", err)
	}
	reopened := newCRM(t, builtin.WithFile(path))
	cc, err := reopened.Context(t.Context(), "c001")
	if err != nil {
		t.Fatalf("Context after reopen: %v", err)
	}
	if len(cc.Notes) == 0 || cc.Notes[0].ID != id || cc.Notes[0].Body != "persisted" {
		t.Errorf("notes after reopen = %+v, want %s first", cc.Notes, id)
	}
	// A corrupt file is a configuration error, not silently replaced by the seed.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := writeFile(bad, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := builtin.New(builtin.WithFile(bad)); !errors.Is(err, domain.ErrConfig) {
		t.Errorf("New with corrupt file: err = %v, want ErrConfig", err)
	}
}

func TestHandler(t *testing.T) {
	c := newCRM(t)
	older := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	for i, body := range []string{"older <script>alert(1)</script>", "newest synced note"} {
		_, err := c.UpsertNote(t.Context(), domain.Note{Key: "wecom:test:" + string(rune('a'+i)), ContactID: "c001", Title: "WeCom 会话", Body: body, At: older.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatalf("UpsertNote: %v", err)
		}
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, path string
		status     int
		contains   []string
		absent     []string
	}{
		{"list", "/crm/", 200, []string{"张三", "上海星辰贸易有限公司", "/crm/contacts/c001", "sales01"}, nil},
		{"search", "/crm/?q=%E7%8E%8B%E8%8A%B3", 200, []string{"王芳"}, []string{"张三"}},
		{"contact", "/crm/contacts/c001", 200, []string{"SO20261101", "星辰贸易 2027 年度框架采购", "发送星辰贸易最终报价", "newest synced note", "&lt;script&gt;"}, []string{"<script>alert"}},
		{"contact missing", "/crm/contacts/nope", 404, nil, nil},
		{"api contact", "/crm/api/contacts/c001", 200, []string{`"SO20261101"`, `"newest synced note"`}, nil},
		{"api order", "/crm/api/orders/SO20261103", 200, []string{`"生产中"`}, nil},
		{"api order missing", "/crm/api/orders/SO1", 404, nil, nil},
		{"api tasks", "/crm/api/tasks?owner_id=own-01", 200, []string{"t001"}, []string{"t004", "t002"}},
		{"api tasks all", "/crm/api/tasks?owner_id=own-01&all=1", 200, []string{"t001", "t004"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("GET %s: body lacks %q", tc.path, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(string(b), s) {
					t.Errorf("GET %s: body contains %q", tc.path, s)
				}
			}
		})
	}
	t.Run("api notes newest first", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/crm/api/notes?contact_id=c001")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ns []domain.Note
		if err := json.NewDecoder(resp.Body).Decode(&ns); err != nil {
			t.Fatal(err)
		}
		if len(ns) != 3 || ns[0].Body != "newest synced note" {
			t.Errorf("notes = %+v, want 3 with the newest first", ns)
		}
	})
}
