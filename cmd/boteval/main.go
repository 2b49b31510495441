// Command boteval measures FAQ retrieval on a held-out paraphrase set and
// prints top-1 accuracy:
//
//	go run ./cmd/boteval [-set shared/bot/testdata/eval/heldout.yaml] [-knowledge file.yaml] [-tokenizer unibi|bi|unibitri] [-v]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"wecom-crm-bot/shared/bot"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "boteval:", err)
		os.Exit(1)
	}
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("boteval", flag.ContinueOnError)
	set := fs.String("set", "shared/bot/testdata/eval/heldout.yaml", "evaluation set (YAML list of {q, id})")
	kfile := fs.String("knowledge", "", "knowledge file (default: the bundled demo knowledge)")
	tok := fs.String("tokenizer", string(bot.UniBigram), "Han tokenizer: unibi, bi or unibitri")
	verbose := fs.Bool("v", false, "list misses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	kb := bot.DefaultKnowledge()
	if *kfile != "" {
		data, err := os.ReadFile(*kfile)
		if err != nil {
			return err
		}
		if kb, err = bot.ParseKnowledgeFile(*kfile, data); err != nil {
			return err
		}
	}
	kb = kb.WithTokenizer(bot.Tokenizer(*tok))
	data, err := os.ReadFile(*set)
	if err != nil {
		return err
	}
	items, err := bot.ParseEvalSet(data)
	if err != nil {
		return err
	}
	r := bot.Evaluate(kb, items)
	fmt.Fprintf(w, "items %d  top-1 %.1f%%  top-3 %.1f%%  answered-correct %d  answered-wrong %d  (tokenizer %s)\n",
		r.Total, 100*r.Accuracy(), 100*float64(r.Top3)/float64(max(r.Total, 1)), r.Confident, r.Wrong, *tok)
	if *verbose {
		for _, m := range r.Misses {
			fmt.Fprintf(w, "miss  %-28s want %-20s got %-20s %.2f\n", m.Item.Q, m.Item.ID, m.Got, m.Confidence)
		}
	}
	return nil
}
