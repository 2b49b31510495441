package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

var _ store.Store = (*Store)(nil)

// Client is the part of a go-redis client the store uses; *redis.Client,
// *redis.ClusterClient and redis.UniversalClient satisfy it. Keeping it
// narrow (rather than holding a redis.UniversalClient) lets the linker drop
// the hundreds of commands the store never sends, which keeps every function
// binary megabytes smaller.
type Client interface {
	redis.Scripter
	SetArgs(ctx context.Context, key string, value any, a redis.SetArgs) *redis.StatusCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
	HMGet(ctx context.Context, key string, fields ...string) *redis.SliceCmd
	HIncrBy(ctx context.Context, key, field string, incr int64) *redis.IntCmd
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
	TxPipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
	Close() error
}

// Store is a store.Store on Redis. Build it with New or Open.
type Store struct {
	rdb         Client
	prefix      string
	ownsClient  bool
	maxDayRange int
}

// New returns a store using client, with every key prefixed by prefix (use
// it to share one Redis between deployments or tests). Close does not close
// a client passed to New.
func New(client Client, prefix string) *Store {
	return &Store{rdb: client, prefix: prefix, maxDayRange: 3660}
}

// Open connects to rawURL, redis://[:password@]host:port/db?prefix=x (or
// rediss:// for TLS; other query options are go-redis's, e.g.
// dial_timeout=3s), and checks the connection with PING. Close closes the
// connection. Errors wrap domain.ErrConfig for a bad URL and
// domain.ErrUnavailable when the server does not answer.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: parse URL: %w", domain.ErrConfig)
	}
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		// The go-redis error may quote the URL; keep the password out of it.
		return nil, fmt.Errorf("redisstore: parse URL %s: %w: %s", u.Redacted(), domain.ErrConfig, redactErr(err, u))
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close() // the ping error is what matters
		return nil, fail("ping "+opts.Addr, err)
	}
	s := New(client, prefix)
	s.ownsClient = true
	return s, nil
}

func redactErr(err error, u *url.URL) string {
	msg := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// Close closes the connection if Open created it.
func (s *Store) Close() error {
	if !s.ownsClient {
		return nil
	}
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// fail wraps an engine error with the operation; errors other than the
// caller's own cancellation also match domain.ErrUnavailable.
func fail(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, domain.ErrUnavailable, err)
}

// ms converts a positive duration to whole milliseconds, at least 1.
func ms(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return max(1, d.Milliseconds())
}

func (s *Store) claimKey(key string) string  { return s.prefix + "claim:" + key }
func (s *Store) leaseKey(name string) string { return s.prefix + "lease:" + name }
func (s *Store) recKey(key string) string    { return s.prefix + "rec:" + key }

// Claim implements store.Claims with SET NX PX. ttl 0 claims forever.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	err := s.rdb.SetArgs(ctx, s.claimKey(key), "1", redis.SetArgs{Mode: "NX", TTL: time.Duration(ms(ttl)) * time.Millisecond}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fail("claim "+key, err)
	}
	return true, nil
}

// Unclaim implements store.Claims.
func (s *Store) Unclaim(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.claimKey(key)).Err(); err != nil {
		return fail("unclaim "+key, err)
	}
	return nil
}

var (
	acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`)
)

// leaseTTL is the lease TTL in ms; leases always expire.
func leaseTTL(ttl time.Duration) int64 { return max(1, ms(ttl)) }

// Acquire implements store.Leases.
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner, leaseTTL(ttl)).Int()
	if err != nil {
		return false, fail("acquire lease "+name, err)
	}
	return n == 1, nil
}

// Renew implements store.Leases; ErrNotOwner if owner does not hold the lease.
func (s *Store) Renew(ctx context.Context, name, owner string, ttl time.Duration) error {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner, leaseTTL(ttl)).Int()
	if err != nil {
		return fail("renew lease "+name, err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: renew lease %s: %w", name, store.ErrNotOwner)
	}
	return nil
}

// Release implements store.Leases; ErrNotOwner if owner does not hold the lease.
func (s *Store) Release(ctx context.Context, name, owner string) error {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner).Int()
	if err != nil {
		return fail("release lease "+name, err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: release lease %s: %w", name, store.ErrNotOwner)
	}
	return nil
}

var putScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if cur ~= tonumber(ARGV[2]) then return -1 end
local nxt = cur + 1
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', string.format('%.0f', nxt))
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('PERSIST', KEYS[1])
end
return nxt`)

// Get implements store.Records; ErrNotFound for an absent or expired key.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	vals, err := s.rdb.HMGet(ctx, s.recKey(key), "v", "ver").Result()
	if err != nil {
		return store.Record{}, fail("get "+key, err)
	}
	v, _ := vals[0].(string)
	ver, ok := vals[1].(string)
	if !ok {
		return store.Record{}, fmt.Errorf("redisstore: get %s: %w", key, store.ErrNotFound)
	}
	n, err := strconv.ParseInt(ver, 10, 64)
	if err != nil {
		return store.Record{}, fmt.Errorf("redisstore: get %s: bad version %q: %w", key, ver, err)
	}
	return store.Record{Value: []byte(v), Version: n}, nil
}

// Put implements store.Records; ErrConflict when version is not current.
func (s *Store) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	n, err := putScript.Run(ctx, s.rdb, []string{s.recKey(key)}, value, version, ms(ttl)).Int64()
	if err != nil {
		return 0, fail("put "+key, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("redisstore: put %s: %w", key, store.ErrConflict)
	}
	return n, nil
}

// Delete implements store.Records.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.recKey(key)).Err(); err != nil {
		return fail("delete "+key, err)
	}
	return nil
}
