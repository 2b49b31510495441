package crm_test

import (
	"slices"
	"strings"
	"testing"

	"wecom-crm-bot/shared/crm"
)

func TestPhoneE164(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{"13800138000", "+8613800138000", true},
		{"+86 138-0013-8000", "+8613800138000", true},
		{"+8613800138000", "+8613800138000", true},
		{"0086 13800138000", "+8613800138000", true},
		{"008613800138000", "+8613800138000", true},
		{"8613800138000", "+8613800138000", true},
		{" 138 0013 8000 ", "+8613800138000", true},
		{"(010) 12345678", "+861012345678", true},
		{"010-12345678", "+861012345678", true},
		{"+86 10 1234 5678", "+861012345678", true},
		{"0755-8888 6666", "+8675588886666", true},
		{"+1 415 555 0100", "+14155550100", true},
		{"0044 20 7946 0958", "+442079460958", true},
		{"", "", false},
		{"abc", "", false},
		{"12345", "", false},
		{"1380013800", "", false},   // 10 digits starting with 13
		{"12800138000", "", false},  // no Chinese mobile starts with 12
		{"138001380001", "", false}, // 12 digits
		{"+86 138 0013 800a", "", false},
		{"13800+138000", "", false},
		{"+0123456789", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := crm.PhoneE164(tc.raw)
			if got != tc.want || ok != tc.ok {
				t.Errorf("PhoneE164(%q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPhoneCandidates(t *testing.T) {
	got := crm.PhoneCandidates([]string{"+86 138-0013-8000", "13800138000", "ext. 12"})
	want := []string{"+8613800138000", "13800138000", "ext. 12"}
	if !slices.Equal(got, want) {
		t.Errorf("PhoneCandidates = %q, want %q", got, want)
	}
}

func FuzzPhoneE164(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138-0013-8000", "0086 13800138000", "(010) 12345678", "+1 415 555 0100", "", "+", "00", "0086", "++86"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := crm.PhoneE164(raw)
		if !ok {
			if got != "" {
				t.Fatalf("PhoneE164(%q) = %q with ok=false", raw, got)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || len(got) < 9 || len(got) > 16 || got[1] == '0' {
			t.Fatalf("PhoneE164(%q) = %q, not E.164", raw, got)
		}
		for _, r := range got[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("PhoneE164(%q) = %q has a non-digit", raw, got)
			}
		}
		// Normalising is idempotent.
		again, ok := crm.PhoneE164(got)
		if !ok || again != got {
			t.Fatalf("PhoneE164(%q) = %q, %v; want %q (idempotent)", got, again, ok, got)
		}
	})
}
