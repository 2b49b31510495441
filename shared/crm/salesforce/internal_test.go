package salesforce

import (
	"net/http"
	"os"
	"testing"

	"errors"

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
	q, err := decodeQuery(readFixture(t, "query_contact.json"))
	if err != nil || len(q.Records) != 1 {
		t.Fatalf("decodeQuery = %+v, %v", q, err)
	}
	c := (&Client{}).contact(q.Records[0])
	if c.Name != "张三" || c.Company != "上海星辰贸易有限公司" || c.Phone != "+8613800138001" || c.ExternalUserID != "wmDEMO_zhangsan" {
		t.Errorf("contact = %+v", c)
	}
	errs := decodeErrors(readFixture(t, "error_invalid_session.json"))
	if len(errs) != 1 || errs[0].ErrorCode != "INVALID_SESSION_ID" {
		t.Errorf("decodeErrors = %+v", errs)
	}
}

func TestSOQLEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wm'x", `'wm\'x'`},
		{`a\b`, `'a\\b'`},
		{"line\nbreak", `'line\nbreak'`},
		{"' OR Name != '", `'\' OR Name != \''`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := soqlString(tc.in); got != tc.want {
				t.Errorf("soqlString(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	if got := soqlLike(`50%_off'`); got != `'%50\%\_off\'%'` {
		t.Errorf("soqlLike = %s", got)
	}
}

func TestRequestLimitIsRateLimited(t *testing.T) {
	c := &Client{}
	err := c.apiError("GET /query", http.StatusForbidden, []sfError{{ErrorCode: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}})
	if !errors.Is(err, domain.ErrRateLimited) {
		t.Errorf("err = %v, want ErrRateLimited", err)
	}
	err = c.apiError("GET /query", http.StatusForbidden, []sfError{{ErrorCode: "INSUFFICIENT_ACCESS", Message: "no"}})
	if !errors.Is(err, domain.ErrConfig) {
		t.Errorf("err = %v, want ErrConfig", err)
	}
}

func FuzzDecodeQuery(f *testing.F) {
	f.Add(readFixture(f, "query_contact.json"))
	f.Add([]byte(`{"records":[{"Id":1,"Account":"x","MobilePhone":{"a":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := decodeQuery(b)
		if err != nil {
			return
		}
		for _, r := range q.Records {
			_ = (&Client{}).contact(r) // any shape: no panic
			_ = (&Client{}).task(r)
		}
	})
}

func FuzzDecodeErrors(f *testing.F) {
	f.Add(readFixture(f, "error_invalid_session.json"))
	f.Add([]byte(`{"error":"invalid_grant"}`))
	f.Add([]byte(`["a"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		errs := decodeErrors(b)
		_ = (&Client{}).apiError("GET /x", 400, errs).Error()
	})
}

func FuzzSOQLString(f *testing.F) {
	for _, s := range []string{"wm'x", `\`, "a\nb", "' OR 1=1 --"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := soqlString(s)
		// Inside the quotes every ' must be escaped by an odd run of backslashes.
		inner := q[1 : len(q)-1]
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\\' {
				i++
				continue
			}
			if inner[i] == '\'' {
				t.Fatalf("soqlString(%q) = %s leaves a quote unescaped", s, q)
			}
		}
	})
}
