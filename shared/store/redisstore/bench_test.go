package redisstore_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"wecom-crm-bot/shared/store/redisstore"
	"wecom-crm-bot/shared/store/storetest"
)

func BenchmarkClaim(b *testing.B) {
	s := redisstore.New(client(b), uniquePrefix())
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.Claim(ctx, strconv.Itoa(i), time.Minute); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkPutCAS(b *testing.B) {
	s := redisstore.New(client(b), uniquePrefix())
	ctx := b.Context()
	value := make([]byte, 256)
	var version int64
	for b.Loop() {
		v, err := s.Put(ctx, "rec", value, version, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		version = v
	}
}

// TestLatency measures p50/p99 for docs/performance.md. It runs only with
// STORE_LATENCY=<ops> (e.g. 10000); STORE_LATENCY_OUT=<file> appends the rows.
func TestLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STORE_LATENCY"))
	if n <= 0 {
		t.Skip("set STORE_LATENCY=10000 to measure")
	}
	s := redisstore.New(client(t), uniquePrefix())
	rows := storetest.MarkdownRows("Redis 7 (loopback)", storetest.MeasureLatency(t, s, n))
	t.Log("\n" + rows)
	if out := os.Getenv("STORE_LATENCY_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprint(f, rows); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
