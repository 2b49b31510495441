package storetest

import (
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/store"
)

func incr(t *testing.T, s store.Counters, series, member string, day time.Time, delta int64) {
	t.Helper()
	if err := s.Incr(t.Context(), series, member, day, delta); err != nil {
		t.Fatalf("Incr(%s, %s, %s): %v", series, member, store.DayKey(day), err)
	}
}

func testCounters(t *testing.T, open opener) {
	d1 := time.Date(2025, 12, 30, 23, 30, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1) // 2025-12-31
	d3 := d1.AddDate(0, 0, 2) // 2026-01-01, across a year boundary
	d4 := d1.AddDate(0, 0, 3)

	t.Run("IncrAndCounts", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		incr(t, s, "intent", "order_status", d1, 1)
		incr(t, s, "intent", "order_status", d1, 2)
		incr(t, s, "intent", "price", d1, 1)
		incr(t, s, "intent", "price", d3, 5)
		incr(t, s, "intent", "price", d4, 7)
		incr(t, s, "intent", "refund", d3, -1)
		incr(t, s, "other", "price", d1, 100)

		tests := []struct {
			name     string
			from, to time.Time
			want     map[string]map[string]int64
		}{
			{"OneDay", d1, d1, map[string]map[string]int64{
				"2025-12-30": {"order_status": 3, "price": 1},
			}},
			{"RangeInclusive", d1, d3, map[string]map[string]int64{
				"2025-12-30": {"order_status": 3, "price": 1},
				"2026-01-01": {"price": 5, "refund": -1},
			}},
			// Times of day do not matter: the range is of UTC days.
			{"TimeOfDayIgnored", d1.Add(30 * time.Minute), d3.Add(-23 * time.Hour), map[string]map[string]int64{
				"2026-01-01": {"price": 5, "refund": -1},
				// d1+30min is already 2025-12-31 in UTC.
			}},
			{"EmptyRange", d2, d2, map[string]map[string]int64{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Counts(t.Context(), "intent", tc.from, tc.to)
				if err != nil {
					t.Fatalf("Counts: %v", err)
				}
				if !equalCounts(got, tc.want) {
					t.Fatalf("Counts(%s..%s) = %v, want %v", store.DayKey(tc.from), store.DayKey(tc.to), got, tc.want)
				}
			})
		}
	})
	t.Run("NonUTCDay", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		shanghai := time.FixedZone("CST", 8*3600)
		// 2026-01-02 01:00 in Shanghai is 2026-01-01 17:00 UTC.
		local := time.Date(2026, 1, 2, 1, 0, 0, 0, shanghai)
		incr(t, s, "intent", "price", local, 1)
		got, err := s.Counts(t.Context(), "intent", local, local)
		if err != nil {
			t.Fatalf("Counts: %v", err)
		}
		want := map[string]map[string]int64{"2026-01-01": {"price": 1}}
		if !equalCounts(got, want) {
			t.Fatalf("Counts = %v, want %v", got, want)
		}
	})
	t.Run("ConcurrentIncrementsSum", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const workers, each = 20, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				member := "a"
				if w%2 == 1 {
					member = "b"
				}
				for range each {
					if err := s.Incr(t.Context(), "s", member, d2, 1); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Incr: %v", err)
		}
		got, err := s.Counts(t.Context(), "s", d2, d2)
		if err != nil {
			t.Fatalf("Counts: %v", err)
		}
		want := map[string]map[string]int64{"2025-12-31": {"a": workers / 2 * each, "b": workers / 2 * each}}
		if !equalCounts(got, want) {
			t.Fatalf("Counts = %v, want %v", got, want)
		}
	})
}

// equalCounts compares day → member → count maps, treating a day with no
// members as absent.
func equalCounts(got, want map[string]map[string]int64) bool {
	nonEmpty := func(m map[string]map[string]int64) int {
		n := 0
		for _, members := range m {
			if len(members) > 0 {
				n++
			}
		}
		return n
	}
	if nonEmpty(got) != nonEmpty(want) {
		return false
	}
	for day, members := range want {
		if len(got[day]) != len(members) {
			return false
		}
		for m, c := range members {
			if v, ok := got[day][m]; !ok || v != c {
				return false
			}
		}
	}
	return true
}
