package zhdate_test

import (
	"testing"
	"time"

	"wecom-crm-bot/shared/bot/zhdate"
)

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParse(t *testing.T) {
	loc := shanghai(t)
	now := time.Date(2025, 11, 26, 10, 0, 0, 0, loc) // Wednesday
	at := func(mon time.Month, d, h, m int) string {
		return time.Date(2025, mon, d, h, m, 0, 0, loc).Format(time.DateTime)
	}
	tests := []struct {
		text string
		want string // "" = not found
	}{
		{"明天下午三点", at(11, 27, 15, 0)},
		{"周五上午", at(11, 28, 10, 0)},
		{"下周一", at(12, 1, 10, 0)},
		{"11月30日 14:00", at(11, 30, 14, 0)},
		{"后天10点半", at(11, 28, 10, 30)},
		{"今晚8点", at(11, 26, 20, 0)},
		{"tomorrow 3pm", at(11, 27, 15, 0)},
		{"Tomorrow at 3:30 PM", at(11, 27, 15, 30)},
		{"下午3点", at(11, 26, 15, 0)},
		{"9点", at(11, 27, 9, 0)}, // already past today → tomorrow
		{"这周一", at(11, 24, 10, 0)},
		{"12月1号上午十点", at(12, 1, 10, 0)},
		{"星期天下午两点", at(11, 30, 14, 0)},
		{"next friday 10:30 am", at(11, 28, 10, 30)},
		{"大后天晚上七点半", at(11, 29, 19, 30)},
		{"明天中午12点", at(11, 27, 12, 0)},
		{"明天三点一刻", at(11, 27, 15, 15)},
		{"下下周二", at(12, 9, 10, 0)},
		{"１１月３０日　１４：００", at(11, 30, 14, 0)},
		{"十一月三十日下午四点", at(11, 30, 16, 0)},
		{"明天 9:15", at(11, 27, 9, 15)},
		{"明早", at(11, 27, 10, 0)},
		{"1月5日", time.Date(2026, 1, 5, 10, 0, 0, 0, loc).Format(time.DateTime)},
		{"2025年12月24日晚上", at(12, 24, 19, 0)},
		{"2月30日", ""},
		{"25点", ""},
		{"你好", ""},
		{"AB12345678", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, ok := zhdate.Parse(tc.text, now, loc)
			if tc.want == "" {
				if ok {
					t.Fatalf("Parse(%q) = %v, want not found", tc.text, got)
				}
				return
			}
			if !ok {
				t.Fatalf("Parse(%q) not found, want %s", tc.text, tc.want)
			}
			if g := got.Format(time.DateTime); g != tc.want {
				t.Fatalf("Parse(%q) = %s, want %s", tc.text, g, tc.want)
			}
			if got.Location() != loc {
				t.Fatalf("location = %v", got.Location())
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"明天下午三点", "周五上午", "下周一", "11月30日 14:00", "后天10点半", "今晚8点",
		"tomorrow 3pm", "十一月三十日", "二〇二五年十二月一日", "99:99", "下下下周日", "at 7", "12/31"} {
		f.Add(s)
	}
	loc := shanghai(f)
	now := time.Date(2025, 11, 26, 10, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := zhdate.Parse(s, now, loc)
		if !ok {
			return
		}
		if got.Location() != loc {
			t.Fatalf("location %v", got.Location())
		}
		if got.Year() < 1970 || got.Year() > 2201 {
			t.Fatalf("year %d from %q", got.Year(), s)
		}
	})
}
