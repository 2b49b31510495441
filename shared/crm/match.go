package crm

import (
	"fmt"
	"slices"

	"wecom-crm-bot/shared/domain"
)

// Keys is what FindContact's matching rule reads of one CRM record.
type Keys struct {
	ExternalUserID string   // the record's WeCom external_userid
	UnionID        string   // the record's WeChat unionid
	Phones         []string // the record's phones, raw as the CRM stores them
}

// MatchContact applies FindContact's rule to the records a search on id's
// keys returned: the first record whose external_userid is
// id.ExternalUserID wins, then the first whose unionid is id.UnionID
// (empty identity keys match nothing). Otherwise the records sharing a
// PhoneCandidates form with id.Phones decide: none is domain.ErrNotFound,
// one is the match, more is domain.ErrConflict (the caller must not
// auto-link). keys reads a record; the errors carry no adapter prefix.
func MatchContact[T any](id Identity, recs []T, keys func(T) Keys) (T, error) {
	var zero T
	ks := make([]Keys, len(recs))
	for i, r := range recs {
		ks[i] = keys(r)
	}
	for _, want := range []struct {
		v   string
		get func(Keys) string
	}{
		{id.ExternalUserID, func(k Keys) string { return k.ExternalUserID }},
		{id.UnionID, func(k Keys) string { return k.UnionID }},
	} {
		if want.v == "" {
			continue
		}
		for i, k := range ks {
			if want.get(k) == want.v {
				return recs[i], nil
			}
		}
	}
	phones := PhoneCandidates(id.Phones)
	var hits []T
	for i, k := range ks {
		if slices.ContainsFunc(PhoneCandidates(k.Phones), func(p string) bool { return slices.Contains(phones, p) }) {
			hits = append(hits, recs[i])
		}
	}
	switch len(hits) {
	case 0:
		return zero, domain.ErrNotFound
	case 1:
		return hits[0], nil
	}
	return zero, fmt.Errorf("phone matches %d contacts: %w", len(hits), domain.ErrConflict)
}
