// Command benchtable reads `go test -bench -benchmem` output on stdin and
// prints a Markdown table in which each benchmark is compared with its
// baseline from the same run (make bench).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// baselines maps a benchmark to the benchmark of the same run it is
// divided by.
var baselines = map[string]string{
	"VerifyDecryptParse":   "BareCrypto",
	"NaiveStdlib":          "BareCrypto",
	"Handler":              "BareCrypto",
	"CallbackStoreBbolt":   "Handler",
	"CallbackStoreRedis":   "Handler",
	"FAQQuery10k":          "FAQQuery1k",
	"NoteRender":           "NoteRenderBaselineJSON",
	"ClaimNoSync":          "Claim",
	"WorkerMessageMetrics": "WorkerMessage",
}

type result struct {
	pkg, name        string
	ns, bytes, alloc float64
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

func parse(r io.Reader) []result {
	var out []result
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		t := sc.Text()
		if p, ok := strings.CutPrefix(t, "pkg: "); ok {
			pkg = p
			continue
		}
		m := line.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		out = append(out, result{pkg: pkg, name: m[1], ns: f(m[3]), bytes: f(m[4]), alloc: f(m[5])})
	}
	return out
}

func human(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func table(w io.Writer, rs []result) {
	byName := map[string]result{}
	for _, r := range rs {
		if _, dup := byName[r.name]; !dup {
			byName[r.name] = r
		}
	}
	fmt.Fprintln(w, "| package | benchmark | time/op | B/op | allocs/op | baseline (same run) | ratio |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---:|")
	for _, r := range rs {
		base, ratio := "", ""
		if b, ok := baselines[r.name]; ok {
			if br, ok := byName[b]; ok && br.ns > 0 {
				base, ratio = b, fmt.Sprintf("%.2f×", r.ns/br.ns)
			}
		}
		pkg := r.pkg[strings.LastIndex(r.pkg, "/")+1:]
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.0f | %s | %s |\n", pkg, r.name, human(r.ns), r.bytes, r.alloc, base, ratio)
	}
}

func main() {
	rs := parse(os.Stdin)
	if len(rs) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark lines on stdin")
		os.Exit(1)
	}
	table(os.Stdout, rs)
}
