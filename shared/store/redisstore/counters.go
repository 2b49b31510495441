package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

func (s *Store) counterKey(series, day string) string {
	return s.prefix + "ctr:{" + series + "}:" + day
}

// Incr implements store.Counters with HINCRBY.
func (s *Store) Incr(ctx context.Context, series, member string, day time.Time, delta int64) error {
	if err := s.rdb.HIncrBy(ctx, s.counterKey(series, store.DayKey(day)), member, delta).Err(); err != nil {
		return fail(fmt.Sprintf("incr %s/%s", series, member), err)
	}
	return nil
}

// Counts implements store.Counters, reading one hash per day in a single
// pipeline. A range longer than ten years is refused with domain.ErrInvalid.
func (s *Store) Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64)
	first, _ := time.Parse(time.DateOnly, store.DayKey(from))
	last, _ := time.Parse(time.DateOnly, store.DayKey(to))
	if last.Before(first) {
		return out, nil
	}
	days := int(last.Sub(first).Hours()/24) + 1
	if days > s.maxDayRange {
		return nil, fmt.Errorf("redisstore: counts %s: %d days: %w", series, days, domain.ErrInvalid)
	}
	cmds := make(map[string]*redis.MapStringStringCmd, days)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			day := store.DayKey(d)
			cmds[day] = p.HGetAll(ctx, s.counterKey(series, day))
		}
		return nil
	})
	if err != nil {
		return nil, fail("counts "+series, err)
	}
	for day, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			continue
		}
		m := make(map[string]int64, len(h))
		for member, v := range h {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("redisstore: counts %s: %s/%s=%q: %w", series, day, member, v, err)
			}
			m[member] = n
		}
		out[day] = m
	}
	return out, nil
}
