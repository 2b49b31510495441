package salesforcetest

import "testing"

func TestParseSOQL(t *testing.T) {
	tests := []struct {
		soql string
		ok   bool
	}{
		{"SELECT Id FROM Contact WHERE WeCom_External_UserId__c = 'wm\\'x' LIMIT 5", true},
		{"SELECT Id, Account.Name FROM Contact WHERE Name LIKE '%a\\%b%' OR Phone IN ('1', '2') ORDER BY Name ASC LIMIT 10", true},
		{"SELECT Id FROM Opportunity WHERE Id IN (SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = '003')", true},
		{"SELECT Id FROM Task WHERE IsClosed = false AND ActivityDate <= 2026-11-26 ORDER BY ActivityDate ASC, CreatedDate DESC", true},
		{"SELECT Id FROM Task WHERE (A = 1 OR B = 2) AND C = null", true},
		{"SELECT Id FROM Contact WHERE Name = 'x' OR Name = 'y' AND Phone = 'z'", false}, // mixed without parentheses
		{"SELECT Id FROM Contact WHERE Name = 'x' OR Name != ''", true},
		{"SELECT Id FROM Contact WHERE Name = 'x' OR Name != '' '", false}, // unescaped quote
		{"SELECT Id FROM Contact WHERE Name = 'unterminated", false},
		{"SELECT FROM Contact", false},
		{"SELECT Id FROM Contact LIMIT x", false},
		{"SELECT Id FROM Contact WHERE Name = '\\q'", false},
	}
	for _, tc := range tests {
		t.Run(tc.soql, func(t *testing.T) {
			_, err := parseSOQL(tc.soql)
			if (err == nil) != tc.ok {
				t.Errorf("parseSOQL err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"欧阳修", "%阳%", true}, {"abc", "a_c", true}, {"abc", "%\\%%", false}, {"50% off", "%\\%%", true}, {"ABC", "abc", true},
	}
	for _, tc := range tests {
		if got := like(tc.s, tc.p); got != tc.want {
			t.Errorf("like(%q, %q) = %v, want %v", tc.s, tc.p, got, tc.want)
		}
	}
}

func FuzzParseSOQL(f *testing.F) {
	f.Add("SELECT Id FROM Contact WHERE Name = 'x' LIMIT 1")
	f.Add("SELECT Id FROM Task WHERE (A = 1 OR B = 2) AND C IN (SELECT X FROM Y)")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseSOQL(s) // must not panic or hang
	})
}
