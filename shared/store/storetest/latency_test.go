package storetest

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	shuffled := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range n {
			d[i] = ms((i*37)%n + 1) // 1..n ms in scrambled order (37 is coprime to n)
		}
		return d
	}
	tests := []struct {
		name          string
		in            []time.Duration
		p50, p99, max time.Duration
	}{
		{"Empty", nil, 0, 0, 0},
		{"One", []time.Duration{ms(7)}, ms(7), ms(7), ms(7)},
		{"Hundred", shuffled(100), ms(50), ms(99), ms(100)},
		{"Thousand", shuffled(1000), ms(500), ms(990), ms(1000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize("op", tc.in)
			if got.N != len(tc.in) || got.P50 != tc.p50 || got.P99 != tc.p99 || got.Max != tc.max {
				t.Fatalf("summarize = %+v, want n=%d p50=%v p99=%v max=%v", got, len(tc.in), tc.p50, tc.p99, tc.max)
			}
		})
	}
}

func TestMarkdownRows(t *testing.T) {
	got := MarkdownRows("bolt", []Latency{{Op: "Claim", N: 3, P50: 1234567 * time.Nanosecond, P99: 2 * time.Millisecond, Max: 1500 * time.Nanosecond}})
	want := "| bolt | Claim | 3 | 1.23ms | 2ms | 2µs |\n"
	if got != want {
		t.Fatalf("MarkdownRows = %q, want %q", got, want)
	}
}
