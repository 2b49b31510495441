package hubspot

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecoders(t *testing.T) {
	res, err := decodeSearch(readFixture(t, "search_contacts.json"))
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("decodeSearch = %+v, %v", res, err)
	}
	c := (&Client{}).contact(res.Results[0])
	if c.Name != "张三" || c.Phone != "+8613800138001" || c.ExternalUserID != "wmDEMO_zhangsan" || c.Company == "" {
		t.Errorf("contact = %+v", c)
	}
	e, ok := decodeError(readFixture(t, "error_429_ten_secondly.json"))
	if !ok || e.PolicyName != "TEN_SECONDLY_ROLLING" {
		t.Errorf("decodeError = %+v, %v", e, ok)
	}
	if _, ok := decodeError([]byte("<html>bad gateway</html>")); ok {
		t.Error("decodeError accepted HTML")
	}
	a, err := decodeV4Assoc(readFixture(t, "v4_associations.json"))
	if err != nil || len(a.Results) != 2 || a.Results[0].ToObjectID != "987" || a.Results[1].ToObjectID != "988" {
		t.Errorf("decodeV4Assoc = %+v, %v (string and number ids)", a, err)
	}
}

func TestNoteBodyRoundTrip(t *testing.T) {
	tests := []struct{ title, body string }{
		{"WeCom 会话", "客户: 你好 <b>\n机器人: 您好 & 欢迎"},
		{"", "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.title, func(t *testing.T) {
			h := noteBody(domain.Note{Title: tc.title, Body: tc.body})
			raw, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			n := noteFrom(object{ID: "1", Properties: map[string]json.RawMessage{"hs_note_body": raw}}, "c")
			if n.Title != tc.title || n.Body != tc.body {
				t.Errorf("round trip = %q / %q, want %q / %q (html %s)", n.Title, n.Body, tc.title, tc.body, h)
			}
		})
	}
	if got := parseTime("1764000000000"); !got.Equal(time.UnixMilli(1764000000000)) {
		t.Errorf("parseTime(epoch ms) = %v", got)
	}
}

func FuzzDecodeSearch(f *testing.F) {
	f.Add(readFixture(f, "search_contacts.json"))
	f.Add([]byte(`{"results":[{"id":"1","properties":{"firstname":1,"phone":true,"x":null}}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := decodeSearch(b)
		if err != nil {
			return
		}
		for _, o := range res.Results {
			c := (&Client{}).contact(o) // must not panic on any property shape
			_ = noteFrom(o, c.ID)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(readFixture(f, "error_429_ten_secondly.json"))
	f.Add([]byte(`{"status":"error","message":"x","correlationId":"u","category":"VALIDATION_ERROR"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := decodeError(b)
		if ok && e.Message == "" && e.Category == "" && e.PolicyName == "" {
			t.Fatalf("ok with no content: %+v", e)
		}
		err := apiError("GET /x", 429, nil, b)
		if err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func FuzzDecodeV4Assoc(f *testing.F) {
	f.Add(readFixture(f, "v4_associations.json"))
	f.Add([]byte(`{"results":[{"toObjectId":1.5}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Must not panic; a numeric id that decodes is an integer.
		var probe struct {
			Results []struct {
				ToObjectID json.RawMessage `json:"toObjectId"`
			} `json:"results"`
		}
		res, err := decodeV4Assoc(b)
		if err != nil || json.Unmarshal(b, &probe) != nil {
			return
		}
		for i, r := range res.Results {
			if raw := strings.TrimSpace(string(probe.Results[i].ToObjectID)); raw != "" && raw[0] != '"' && strings.ContainsAny(string(r.ToObjectID), ".eE") {
				t.Fatalf("non-integer numeric id %q accepted", r.ToObjectID)
			}
		}
	})
}
