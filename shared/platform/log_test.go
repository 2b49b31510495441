package platform_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"wecom-crm-bot/shared/platform"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level     string
		wantDebug bool
		wantInfo  bool
	}{
		{"", false, true},
		{"debug", true, true},
		{"DEBUG", true, true},
		{"info", false, true},
		{"warn", false, false},
		{"error", false, false},
		{"nonsense", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			var buf bytes.Buffer
			l := platform.NewLogger(tc.level, &buf)
			l.Debug("d")
			l.Info("i", "request_id", "r1")
			out := buf.String()
			if got := strings.Contains(out, `"msg":"d"`); got != tc.wantDebug {
				t.Errorf("debug logged = %v, want %v (%s)", got, tc.wantDebug, out)
			}
			if got := strings.Contains(out, `"msg":"i"`); got != tc.wantInfo {
				t.Errorf("info logged = %v, want %v (%s)", got, tc.wantInfo, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
			}
		})
	}
}

func TestRedactPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"call +8613812345678 now", "call +861******5678 now"},
		{"138-1234-5678", "138-****-5678"},
		{"tel 021 5555 1234", "tel 021 **** 1234"},
		{"short 1234567", "short *****67"},
		{"order 12345 ok", "order 12345 ok"},
		{"no digits", "no digits"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := platform.RedactPhone(tc.in); got != tc.want {
				t.Fatalf("RedactPhone(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	if got := platform.RedactText("我的电话 13812345678", false); got != "[redacted 16 chars]" {
		t.Fatalf("disabled: %q", got)
	}
	if got := platform.RedactText("我的电话 13812345678", true); got != "我的电话 138****5678" {
		t.Fatalf("enabled: %q", got)
	}
	env := map[string]string{"LOG_CONTENT": "true"}
	if !platform.ContentLogging(func(k string) string { return env[k] }) {
		t.Fatal("LOG_CONTENT=true not honoured")
	}
	for _, v := range []string{"", "false", "yes please"} {
		env["LOG_CONTENT"] = v
		if platform.ContentLogging(func(k string) string { return env[k] }) {
			t.Fatalf("LOG_CONTENT=%q enabled content logging", v)
		}
	}
}

func FuzzRedactPhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138 1234 5678", "abc", "1-2-3-4-5-6-7-8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := platform.RedactPhone(s)
		if len(got) != len(s) {
			t.Fatalf("length changed: %q → %q", s, got)
		}
	})
}
