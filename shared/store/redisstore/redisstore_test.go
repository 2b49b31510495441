package redisstore_test

import (
	"crypto/rand"
	"testing"

	"github.com/redis/go-redis/v9"

	"wecom-crm-bot/shared/internal/enginetest"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/redisstore"
	"wecom-crm-bot/shared/store/storetest"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

// client returns a client of the test redis-server, closed after the test.
func client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: enginetest.Redis(t)})
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return c
}

// uniquePrefix isolates one test's keys.
func uniquePrefix() string { return "t" + rand.Text()[:10] + ":" }

func TestConformance(t *testing.T) {
	c := client(t)
	storetest.Run(t, func(t *testing.T) store.Store { return redisstore.New(c, uniquePrefix()) })
}
