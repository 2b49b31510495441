package dynamostore_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"wecom-crm-bot/shared/store/storetest"
)

// BenchmarkClaim measures Claim of fresh keys (the callback dedupe path).
func BenchmarkClaim(b *testing.B) {
	st, _, _ := open(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if won, err := st.Claim(ctx, strconv.Itoa(i), time.Hour); err != nil || !won {
			b.Fatalf("Claim: %v, %v", won, err)
		}
		i++
	}
}

// BenchmarkPutCAS measures a versioned Put of 256 bytes with the version the
// previous Put returned (a conversation update without contention).
func BenchmarkPutCAS(b *testing.B) {
	st, _, _ := open(b)
	ctx := b.Context()
	value := make([]byte, 256)
	var version int64
	for b.Loop() {
		v, err := st.Put(ctx, "rec", value, version, time.Hour)
		if err != nil {
			b.Fatalf("Put at version %d: %v", version, err)
		}
		version = v
	}
}

// TestLatency measures p50/p99 for docs/performance.md. It runs
// only with STORE_LATENCY=<ops> (e.g. 10000); STORE_LATENCY_OUT=<file>
// appends the table rows.
func TestLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STORE_LATENCY"))
	if n <= 0 {
		t.Skip("set STORE_LATENCY=10000 to measure")
	}
	st, _, _ := open(t)
	rows := storetest.MarkdownRows("DynamoDB Local 3.3.1 (loopback)", storetest.MeasureLatency(t, st, n))
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
