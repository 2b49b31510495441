package bot

import "testing"

func TestMobileE164(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"13900139003", "+8613900139003"},
		{"我的手机是 139-0013-9003", "+8613900139003"},
		{"+86 139 0013 9003", "+8613900139003"},
		{"８６１３９００１３９００３", "+8613900139003"},
		{"1390013900", ""},  // 10 digits
		{"23900139003", ""}, // not a mobile
		{"SO20261103", ""},  // an order number
		{"11月30日 13900139003", "+8613900139003"},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := mobileE164(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("mobileE164(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzMobileE164(f *testing.F) {
	f.Add("139-0013-9003")
	f.Add("+86 13900139003")
	f.Fuzz(func(t *testing.T, s string) {
		if p, ok := mobileE164(s); ok && (len(p) != 14 || p[:4] != "+861") {
			t.Fatalf("mobileE164(%q) = %q", s, p)
		}
	})
}
