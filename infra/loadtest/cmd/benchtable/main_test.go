package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	in := `goos: linux
pkg: wecom-crm-bot/shared/wecom/callback
BenchmarkBareCrypto-2   	  367214	      3211 ns/op	     512 B/op	       1 allocs/op
BenchmarkVerifyDecryptParse-2   	  218064	      6422 ns/op	    1312 B/op	       3 allocs/op
pkg: wecom-crm-bot/shared/bot
BenchmarkFAQQuery1k-2 	 5000	 200000 ns/op
BenchmarkFAQQuery10k-2 	 500	 2000000 ns/op
PASS
`
	var b strings.Builder
	table(&b, parse(strings.NewReader(in)))
	out := b.String()
	for _, want := range []string{
		"| callback | VerifyDecryptParse | 6.4 µs | 1312 | 3 | BareCrypto | 2.00× |",
		"| bot | FAQQuery10k | 2.00 ms | 0 | 0 | FAQQuery1k | 10.00× |",
		"| callback | BareCrypto | 3.2 µs | 512 | 1 |  |  |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
