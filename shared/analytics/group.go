package analytics

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DefaultSimilarity is the character-bigram Jaccard similarity at or above
// which two questions fall in one group.
const DefaultSimilarity = 0.5

// Group is a set of similar unanswered questions.
type Group struct {
	Text     string    `json:"text"`     // the most frequent original wording (first seen on a tie)
	Count    int       `json:"count"`    // questions in the group
	Examples []string  `json:"examples"` // distinct wordings, most frequent first (≤ 5)
	Channels []string  `json:"channels"`
	Last     time.Time `json:"last"`

	norm    string
	bigrams map[string]struct{}
	freq    map[string]int
	order   []string // wordings in first-seen order
	chans   map[string]struct{}
}

// Normalize folds full-width characters to half width, lower-cases, and
// keeps only letters and digits, so that "发票 怎么开？" and "发票怎么开"
// compare equal.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == 0x3000:
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Bigrams returns the set of character bigrams of a normalised string (the
// string itself when it has one character).
func Bigrams(norm string) map[string]struct{} {
	rs := []rune(norm)
	out := make(map[string]struct{}, len(rs))
	if len(rs) == 1 {
		out[norm] = struct{}{}
	}
	for i := 0; i+1 < len(rs); i++ {
		out[string(rs[i:i+2])] = struct{}{}
	}
	return out
}

// Jaccard is |a∩b| / |a∪b| (0 for two empty sets).
func Jaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if _, ok := b[k]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// GroupQuestions groups events greedily: a question joins the first group
// whose normalised text is equal or whose bigram Jaccard similarity with the
// group's first question is ≥ threshold; otherwise it starts a new group.
// Questions that normalise to nothing are skipped.
func GroupQuestions(evs []RawEvent, threshold float64) []Group {
	var groups []*Group
	exact := map[string]*Group{}
	for _, e := range evs {
		text := strings.TrimSpace(e.Text)
		norm := Normalize(text)
		if norm == "" {
			continue
		}
		g := exact[norm]
		if g == nil {
			bg := Bigrams(norm)
			for _, cand := range groups {
				if Jaccard(bg, cand.bigrams) >= threshold {
					g = cand
					break
				}
			}
			if g == nil {
				g = &Group{norm: norm, bigrams: bg, freq: map[string]int{}, chans: map[string]struct{}{}}
				groups = append(groups, g)
			}
			exact[norm] = g
		}
		g.Count++
		if g.freq[text] == 0 {
			g.order = append(g.order, text)
		}
		g.freq[text]++
		if e.Channel != "" {
			g.chans[e.Channel] = struct{}{}
		}
		if e.At.After(g.Last) {
			g.Last = e.At
		}
	}
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		type wc struct {
			w string
			n int
		}
		var ws []wc
		for _, w := range g.order {
			ws = append(ws, wc{w, g.freq[w]})
		}
		slices.SortStableFunc(ws, func(a, b wc) int { return cmp.Compare(b.n, a.n) })
		g.Text = ws[0].w
		for i := 0; i < len(ws) && i < 5; i++ {
			g.Examples = append(g.Examples, ws[i].w)
		}
		for c := range g.chans {
			g.Channels = append(g.Channels, c)
		}
		slices.Sort(g.Channels)
		out = append(out, *g)
	}
	slices.SortStableFunc(out, func(a, b Group) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return b.Last.Compare(a.Last)
	})
	return out
}
