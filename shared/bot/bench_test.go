package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"wecom-crm-bot/shared/bot"
)

// synthetic builds a knowledge file with n FAQ entries made of the demo
// entries' text recombined, so that vocabulary overlaps realistically.
func synthetic(tb testing.TB, n int) []byte {
	tb.Helper()
	base := bot.DefaultKnowledge().FAQ
	var sb strings.Builder
	sb.WriteString("version: bench\nfaq:\n")
	for i := 0; i < n; i++ {
		a, c := base[i%len(base)], base[(i*7+3)%len(base)]
		fmt.Fprintf(&sb, "  - id: e%d\n    question: %q\n    variants: [%q, %q, %q]\n    answer: %q\n",
			i, a.Question+c.Question[:min(len(c.Question), 6)], a.Variants[0], c.Variants[len(c.Variants)-1],
			fmt.Sprintf("型号%d %s", i, a.Variants[1]), a.Answer)
	}
	return []byte(sb.String())
}

func benchQuery(b *testing.B, n int) {
	kb, err := bot.ParseKnowledge(synthetic(b, n))
	if err != nil {
		b.Fatal(err)
	}
	qs := []string{"我刚付完款什么时候能寄出", "发票抬头和税号怎么填", "can i pay with alipay", "电脑开不了机怎么送修"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		kb.Search(qs[i%len(qs)], "", 3)
	}
}

func BenchmarkFAQQuery1k(b *testing.B)  { benchQuery(b, 1000) }
func BenchmarkFAQQuery10k(b *testing.B) { benchQuery(b, 10000) }

func BenchmarkParseKnowledge1k(b *testing.B) {
	data := synthetic(b, 1000)
	for b.Loop() {
		if _, err := bot.ParseKnowledge(data); err != nil {
			b.Fatal(err)
		}
	}
}
