package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"wecom-crm-bot/shared/store"
)

// luaNow defines now(), the server clock in ms, and fmt(x), an integer
// formatter (tostring would use exponent notation for large numbers).
const luaNow = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(x) return string.format('%.0f', x) end
`

var (
	// KEYS: q, item. ARGV: topic, id, payload, due ms (0: now), created ms (0: now), attempts, err.
	addScript = redis.NewScript(luaNow + `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local t = now()
local due = tonumber(ARGV[4]); if due == 0 then due = t end
local created = tonumber(ARGV[5]); if created == 0 then created = t end
redis.call('HSET', KEYS[2], 'topic', ARGV[1], 'id', ARGV[2], 'payload', ARGV[3], 'due', fmt(due),
  'attempts', ARGV[6], 'err', ARGV[7], 'created', fmt(created))
redis.call('ZADD', KEYS[1], due, ARGV[2])
return 1`)

	// KEYS: q. ARGV: n, visibility ms, item key prefix.
	takeScript = redis.NewScript(luaNow + `
local t = now()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  local ik = ARGV[3] .. id
  if redis.call('EXISTS', ik) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), id)
    redis.call('HINCRBY', ik, 'attempts', 1)
    out[#out + 1] = redis.call('HGETALL', ik)
  end
end
return out`)

	// KEYS: q, item. ARGV: id, due ms, err.
	retryScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'due', ARGV[2], 'err', ARGV[3])
return 1`)

	// KEYS: q, dead, item. ARGV: id, err.
	buryScript = redis.NewScript(luaNow + `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], now(), ARGV[1])
redis.call('HSET', KEYS[3], 'err', ARGV[2])
return 1`)

	// KEYS: q, dead, item. ARGV: id.
	reviveScript = redis.NewScript(luaNow + `
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
local t = now()
redis.call('ZADD', KEYS[1], t, ARGV[1])
redis.call('HSET', KEYS[3], 'due', fmt(t), 'attempts', '0')
return 1`)

	// KEYS: dead. ARGV: n, item key prefix.
	deadScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[2] .. id)
  if #h > 0 then out[#out + 1] = h end
end
return out`)
)

// topicKeys names the keys of one outbox topic.
type topicKeys struct{ q, dead, itemPrefix string }

func (s *Store) topic(topic string) topicKeys {
	base := s.prefix + "ob:{" + topic + "}:"
	return topicKeys{q: base + "q", dead: base + "dead", itemPrefix: base + "i:"}
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Add implements store.Outbox. Due and Created are kept to the millisecond;
// zero values become the server's now.
func (s *Store) Add(ctx context.Context, item store.Item) error {
	k := s.topic(item.Topic)
	err := addScript.Run(ctx, s.rdb, []string{k.q, k.itemPrefix + item.ID},
		item.Topic, item.ID, item.Payload, unixMS(item.Due), unixMS(item.Created), item.Attempts, item.LastError).Err()
	if err != nil {
		return fail(fmt.Sprintf("add outbox %s/%s", item.Topic, item.ID), err)
	}
	return nil
}

// Take implements store.Outbox, in one script on the server's clock.
func (s *Store) Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error) {
	if n <= 0 {
		return nil, nil
	}
	k := s.topic(topic)
	res, err := takeScript.Run(ctx, s.rdb, []string{k.q}, n, ms(visibility), k.itemPrefix).Slice()
	if err != nil {
		return nil, fail("take outbox "+topic, err)
	}
	items, err := parseItems(res)
	if err != nil {
		return nil, fmt.Errorf("redisstore: take outbox %s: %w", topic, err)
	}
	return items, nil
}

// Ack implements store.Outbox. Acking an absent item is no error.
func (s *Store) Ack(ctx context.Context, topic, id string) error {
	k := s.topic(topic)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, k.q, id)
		p.ZRem(ctx, k.dead, id)
		p.Del(ctx, k.itemPrefix+id)
		return nil
	})
	if err != nil {
		return fail(fmt.Sprintf("ack outbox %s/%s", topic, id), err)
	}
	return nil
}

// run runs a per-item script that returns 0 when the item is not in the
// expected state, which is reported as ErrNotFound.
func (s *Store) run(ctx context.Context, op, topic, id string, script *redis.Script, keys []string, args ...any) error {
	n, err := script.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fail(fmt.Sprintf("%s outbox %s/%s", op, topic, id), err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: %s outbox %s/%s: %w", op, topic, id, store.ErrNotFound)
	}
	return nil
}

// Retry implements store.Outbox; ErrNotFound if the item is not live.
func (s *Store) Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error {
	k := s.topic(topic)
	return s.run(ctx, "retry", topic, id, retryScript, []string{k.q, k.itemPrefix + id}, id, due.UnixMilli(), lastErr)
}

// Bury implements store.Outbox; ErrNotFound if the item is not live.
func (s *Store) Bury(ctx context.Context, topic, id, lastErr string) error {
	k := s.topic(topic)
	return s.run(ctx, "bury", topic, id, buryScript, []string{k.q, k.dead, k.itemPrefix + id}, id, lastErr)
}

// Revive implements store.Outbox; ErrNotFound if the item is not dead.
func (s *Store) Revive(ctx context.Context, topic, id string) error {
	k := s.topic(topic)
	return s.run(ctx, "revive", topic, id, reviveScript, []string{k.q, k.dead, k.itemPrefix + id}, id)
}

// Dead implements store.Outbox: up to n buried items, earliest buried first.
func (s *Store) Dead(ctx context.Context, topic string, n int) ([]store.Item, error) {
	if n <= 0 {
		return nil, nil
	}
	k := s.topic(topic)
	res, err := deadScript.Run(ctx, s.rdb, []string{k.dead}, n, k.itemPrefix).Slice()
	if err != nil {
		return nil, fail("dead outbox "+topic, err)
	}
	items, err := parseItems(res)
	if err != nil {
		return nil, fmt.Errorf("redisstore: dead outbox %s: %w", topic, err)
	}
	return items, nil
}

// parseItems decodes a script reply: a list of HGETALL field/value lists.
func parseItems(res []any) ([]store.Item, error) {
	items := make([]store.Item, 0, len(res))
	for _, r := range res {
		fields, ok := r.([]any)
		if !ok || len(fields)%2 != 0 {
			return nil, fmt.Errorf("unexpected script reply %T", r)
		}
		h := make(map[string]string, len(fields)/2)
		for i := 0; i < len(fields); i += 2 {
			k, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			h[k] = v
		}
		it, err := itemFromHash(h)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

func itemFromHash(h map[string]string) (store.Item, error) {
	var nums [3]int64
	for i, f := range []string{"due", "attempts", "created"} {
		n, err := strconv.ParseInt(h[f], 10, 64)
		if err != nil {
			return store.Item{}, fmt.Errorf("item %s: field %s=%q: %w", h["id"], f, h[f], err)
		}
		nums[i] = n
	}
	return store.Item{
		Topic:     h["topic"],
		ID:        h["id"],
		Payload:   []byte(h["payload"]),
		Due:       time.UnixMilli(nums[0]),
		Attempts:  int(nums[1]),
		LastError: h["err"],
		Created:   time.UnixMilli(nums[2]),
	}, nil
}
