package crm

import "strings"

// PhoneE164 normalises a Chinese phone number to E.164 (+86…). It accepts
// the forms WeCom remark mobiles and CRMs use: "13800138000",
// "+86 138-0013-8000", "0086 13800138000", "86-138 0013 8000", "(010)
// 12345678", "+86 10 1234 5678". Other countries' numbers that already carry
// a "+" or "00" prefix are returned in E.164 as well. It reports false when
// raw is not a plausible phone number.
func PhoneE164(raw string) (string, bool) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00a0':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case plus:
	case strings.HasPrefix(d, "00"):
		d = d[2:]
		plus = true
	case len(d) == 13 && strings.HasPrefix(d, "861"):
		plus = true // 86 + mobile without the plus
	}
	if plus {
		if strings.HasPrefix(d, "86") {
			return chinaNational(d[2:])
		}
		if len(d) < 8 || len(d) > 15 || d[0] == '0' {
			return "", false
		}
		return "+" + d, true
	}
	return chinaNational(d)
}

// chinaNational converts a Chinese national number (mobile, or landline with
// or without the trunk prefix 0) to E.164.
func chinaNational(d string) (string, bool) {
	d = strings.TrimPrefix(d, "0")
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9':
		return "+86" + d, true
	case len(d) >= 9 && len(d) <= 11 && d[0] >= '2' && d[0] <= '9', len(d) == 10 && d[0] == '1' && d[1] == '0':
		return "+86" + d, true // area code + subscriber number
	}
	return "", false
}

// PhoneCandidates returns the distinct forms under which phones may be stored
// in a CRM: the E.164 form and, for Chinese mobiles, the raw 11-digit form.
// Unparseable numbers are kept as given (trimmed) so exact matches still work.
func PhoneCandidates(phones []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, p := range phones {
		e, ok := PhoneE164(p)
		if !ok {
			add(strings.TrimSpace(p))
			continue
		}
		add(e)
		add(strings.TrimPrefix(e, "+86"))
	}
	return out
}
