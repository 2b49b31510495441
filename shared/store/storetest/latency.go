package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/store"
)

// Latency is the measured latency distribution of one operation.
type Latency struct {
	Op  string // "Claim" or "PutCAS"
	N   int
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

// MeasureLatency runs n sequential Claims of fresh keys (each one wins) and n
// sequential compare-and-set Puts of one record (each with the version the
// previous Put returned) against s, and reports the latency percentiles.
// It is for the latency table in docs/performance.md, not for the normal
// test run; engines call it from a test gated by an environment variable.
func MeasureLatency(tb testing.TB, s store.Store, n int) []Latency {
	tb.Helper()
	ctx := tb.Context()
	prefix := fmt.Sprintf("lat-%d-", time.Now().UnixNano())
	claim := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		won, err := s.Claim(ctx, fmt.Sprint(prefix, i), time.Hour)
		claim[i] = time.Since(start)
		if err != nil || !won {
			tb.Fatalf("Claim %d: won=%v err=%v", i, won, err)
		}
	}
	put := make([]time.Duration, n)
	var version int64
	value := []byte(strings.Repeat("x", 256))
	for i := range n {
		start := time.Now()
		v, err := s.Put(ctx, prefix+"rec", value, version, 0)
		put[i] = time.Since(start)
		if err != nil {
			tb.Fatalf("Put %d (version %d): %v", i, version, err)
		}
		version = v
	}
	return []Latency{summarize("Claim", claim), summarize("PutCAS", put)}
}

func summarize(op string, d []time.Duration) Latency {
	slices.Sort(d)
	// Nearest-rank percentile: the smallest sample with at least q of all
	// samples at or below it.
	pick := func(q float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		rank := int(math.Ceil(q * float64(len(d))))
		return d[max(0, min(len(d), rank)-1)]
	}
	return Latency{Op: op, N: len(d), P50: pick(0.50), P99: pick(0.99), Max: pick(1)}
}

// MarkdownRows formats results as rows of the table in docs/performance.md:
// | engine | op | n | p50 | p99 | max |.
func MarkdownRows(engine string, results []Latency) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", engine, r.Op, r.N, round(r.P50), round(r.P99), round(r.Max))
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
