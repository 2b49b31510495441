package crm_test

import (
	"errors"
	"reflect"
	"testing"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

func TestMatchContact(t *testing.T) {
	recs := []crm.Keys{
		{ExternalUserID: "wmA", Phones: []string{"13800138001"}},
		{UnionID: "oU-B", Phones: []string{"+86 138 0013 8002", ""}},
		{Phones: []string{"+8613800138003"}},
		{Phones: []string{"0086 13800138003", "021-5555 6666"}},
		{ExternalUserID: "wmE", UnionID: "oU-E"},
	}
	tests := []struct {
		name    string
		id      crm.Identity
		want    int // index into recs, or -1 with wantErr
		wantErr error
	}{
		{"external id", crm.Identity{ExternalUserID: "wmA"}, 0, nil},
		{"external id beats phone", crm.Identity{ExternalUserID: "wmE", Phones: []string{"13800138001"}}, 4, nil},
		{"external id beats unionid", crm.Identity{ExternalUserID: "wmA", UnionID: "oU-E"}, 0, nil},
		{"unionid when external id unknown", crm.Identity{ExternalUserID: "wmX", UnionID: "oU-B"}, 1, nil},
		{"unionid beats ambiguous phone", crm.Identity{UnionID: "oU-E", Phones: []string{"13800138003"}}, 4, nil},
		{"one phone match, other form", crm.Identity{Phones: []string{"+8613800138002"}}, 1, nil},
		{"landline", crm.Identity{Phones: []string{"(021) 55556666"}}, 3, nil},
		{"two phone matches", crm.Identity{Phones: []string{"13800138003"}}, -1, domain.ErrConflict},
		{"unknown phone", crm.Identity{ExternalUserID: "wmX", Phones: []string{"13900139000"}}, -1, domain.ErrNotFound},
		{"empty identity", crm.Identity{}, -1, domain.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := crm.MatchContact(tc.id, recs, func(k crm.Keys) crm.Keys { return k })
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := recs[tc.want]; !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want recs[%d] %+v", got, tc.want, want)
			}
		})
	}
}
