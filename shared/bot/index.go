package bot

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenizer names a way of cutting normalised text into index terms. Latin
// words are always whole words; the modes differ for Han text.
type Tokenizer string

// Tokenizers for Han text.
const (
	// UniBigram indexes single characters (weighted down) and character
	// bigrams. It is the default.
	UniBigram Tokenizer = "unibi"
	// Bigram indexes character bigrams only (single characters only for
	// one-character runs).
	Bigram Tokenizer = "bi"
	// UniBiTrigram adds character trigrams to UniBigram.
	UniBiTrigram Tokenizer = "unibitri"
)

// Weights of term kinds in BM25 and in the coverage-based confidence.
const (
	weightUni  = 0.8
	weightBi   = 1.0
	weightTri  = 1.0
	weightWord = 1.2
)

// stopHan are characters that carry no topic on their own.
const stopHan = "弄搞的了吗呢吧啊呀么嘛哦哈我你您他她它们是在和与就都也还请问个这那一下吗儿"

// stopBigrams are function-word bigrams of questions (怎么, 可以, 什么…)
// that say how something is asked, not what about.
var stopBigrams = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("怎么 么弄 么办 如何 什么 可以 以吗 能不 不能 有没 没有 是不 不是 一下 请问 你们 我们 我的 " +
		"时候 么时 哪些 哪里 哪个 多少 能否 是否 吗 需要 要怎 怎样 一般 还能 能给 给我 帮我 的话 了吗 得吗 行吗 好吗 呢") {
		m[w] = true
	}
	return m
}()

var stopWords = map[string]bool{
	"the": true, "a": true, "an": true, "is": true, "are": true, "do": true, "does": true, "i": true,
	"you": true, "my": true, "your": true, "to": true, "of": true, "for": true, "in": true, "on": true,
	"it": true, "can": true, "how": true, "what": true, "me": true, "we": true, "be": true, "with": true,
	"this": true, "that": true, "please": true, "there": true, "have": true, "get": true, "will": true,
	"if": true, "and": true, "or": true, "at": true, "any": true, "much": true, "many": true,
}

// term is one token with its weight.
type term struct {
	text   string
	weight float64
}

// tokenize cuts normalised text into weighted terms (duplicates kept).
func tokenize(s string, mode Tokenizer) []term {
	var out []term
	for _, f := range strings.Fields(s) {
		r, _ := utf8.DecodeRuneInString(f)
		if !unicode.Is(unicode.Han, r) {
			if stopWords[f] {
				continue
			}
			out = append(out, term{stem(f), weightWord})
			continue
		}
		rs := []rune(f)
		uni := mode != Bigram || len(rs) == 1
		for i, c := range rs {
			if uni && !strings.ContainsRune(stopHan, c) {
				out = append(out, term{string(c), weightUni})
			}
			if i+1 < len(rs) && !stopBigrams[string(rs[i:i+2])] {
				out = append(out, term{string(rs[i : i+2]), weightBi})
			}
			if mode == UniBiTrigram && i+2 < len(rs) {
				out = append(out, term{string(rs[i : i+3]), weightTri})
			}
		}
	}
	return out
}

// stem strips a plural or verb "s" from longer Latin words.
func stem(w string) string {
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
		return w[:len(w)-1]
	}
	return w
}

// posting is one document containing a term.
type posting struct {
	doc int32
	tf  float32
}

// index is a BM25 index over FAQ questions and variants: one document per
// question or variant, results aggregated per entry by the best document.
type index struct {
	mode     Tokenizer
	terms    map[string]int32
	idf      []float64
	weight   []float64
	postings [][]posting
	docEntry []int32   // document → FAQ entry
	docAns   []bool    // the document is an answer, not a question
	docLen   []float64 // weighted length
	docMass  []float64 // Σ idf·weight over the document's distinct terms
	docTerms [][]int32 // distinct terms of each document
	// entryTerms are the distinct terms of all question documents of an
	// entry: an entry's variants together describe its topic better than
	// any single one.
	entryTerms [][]int32
	avgLen     float64
	maxIDF     float64
	entries    int
}

const (
	bm25K1 = 1.2
	bm25B  = 0.5
	// answerWeight is the share of the answer text's score added to an
	// entry's best question/variant score.
	answerWeight = 0.6
	// rerankPool entries by BM25 are re-ranked by rerankMix coverage.
	rerankPool = 10
	rerankMix  = 0.7
	// entryMix is the share of entry-level coverage (all questions and
	// variants of an entry together) in the coverage part of the rank.
	entryMix = 0.5
	// A top result whose rank beats the runner-up by less than
	// ambiguityMargin (relative) loses up to ambiguityPenalty of its
	// confidence.
	ambiguityMargin  = 0.3
	ambiguityPenalty = 0.4
)

// buildIndex indexes docs (normalised text) that belong to entries.
// docAns marks answer documents, which add answerWeight of their score to
// the entry's best question score.
func buildIndex(docs []string, docEntry []int32, docAns []bool, entries int, mode Tokenizer) *index {
	ix := &index{mode: mode, terms: make(map[string]int32), docEntry: docEntry, docAns: docAns, entries: entries}
	ix.docLen = make([]float64, len(docs))
	ix.docTerms = make([][]int32, len(docs))
	tf := make(map[int32]float32)
	var total float64
	for d, text := range docs {
		clear(tf)
		for _, t := range tokenize(text, mode) {
			id, ok := ix.terms[t.text]
			if !ok {
				id = int32(len(ix.postings))
				ix.terms[t.text] = id
				ix.postings = append(ix.postings, nil)
				ix.weight = append(ix.weight, t.weight)
			}
			tf[id]++
			ix.docLen[d] += t.weight
		}
		ids := make([]int32, 0, len(tf))
		for id, n := range tf {
			ix.postings[id] = append(ix.postings[id], posting{int32(d), n})
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		ix.docTerms[d] = ids
		total += ix.docLen[d]
	}
	ix.entryTerms = make([][]int32, entries)
	for d, ids := range ix.docTerms {
		if !docAns[d] {
			e := docEntry[d]
			ix.entryTerms[e] = append(ix.entryTerms[e], ids...)
		}
	}
	for e, ids := range ix.entryTerms {
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		ix.entryTerms[e] = slices.Compact(ids)
	}
	n := float64(len(docs))
	if n > 0 {
		ix.avgLen = total / n
	}
	ix.idf = make([]float64, len(ix.postings))
	for id, ps := range ix.postings {
		df := float64(len(ps))
		ix.idf[id] = math.Log(1 + (n-df+0.5)/(df+0.5))
	}
	ix.maxIDF = math.Log(1 + (n+0.5)/0.5)
	ix.docMass = make([]float64, len(docs))
	for d, ids := range ix.docTerms {
		for _, id := range ids {
			ix.docMass[d] += ix.idf[id] * ix.weight[id]
		}
	}
	return ix
}

// hit is one FAQ entry found for a query.
type hit struct {
	entry      int
	score      float64 // BM25 of the best document
	confidence float64 // 0..1
	entryCov   float64 // share of the query explained by all the entry's questions
	rank       float64 // blend of relative score and confidence
}

// search returns up to k entries, best first, for normalised query text.
// keep filters entries (nil keeps all).
func (ix *index) search(query string, k int, keep func(entry int) bool) []hit {
	terms := tokenize(query, ix.mode)
	if len(terms) == 0 || len(ix.docLen) == 0 {
		return nil
	}
	type qterm struct {
		id     int32
		tf     float64
		weight float64
	}
	var (
		qs     []qterm
		qMass  float64 // Σ idf·weight over distinct query terms (unknown terms at max idf)
		seen   = make(map[string]int, len(terms))
		qIndex = make(map[int32]int, len(terms))
	)
	for _, t := range terms {
		if i, ok := seen[t.text]; ok {
			if i >= 0 {
				qs[i].tf++
			}
			continue
		}
		id, ok := ix.terms[t.text]
		if !ok {
			seen[t.text] = -1
			qMass += ix.maxIDF * t.weight
			continue
		}
		seen[t.text] = len(qs)
		qIndex[id] = len(qs)
		qs = append(qs, qterm{id, 1, ix.weight[id]})
		qMass += ix.idf[id] * ix.weight[id]
	}
	if len(qs) == 0 {
		return nil
	}
	scores := make([]float64, len(ix.docLen))
	for _, q := range qs {
		idf := ix.idf[q.id] * q.weight
		for _, p := range ix.postings[q.id] {
			tf := float64(p.tf)
			norm := bm25K1 * (1 - bm25B + bm25B*ix.docLen[p.doc]/ix.avgLen)
			scores[p.doc] += idf * tf * (bm25K1 + 1) / (tf + norm)
		}
	}
	// best question document per entry, plus a share of its answer's score
	bestDoc := make([]int32, ix.entries)
	ansScore := make([]float64, ix.entries)
	for i := range bestDoc {
		bestDoc[i] = -1
	}
	for d, s := range scores {
		if s <= 0 {
			continue
		}
		e := ix.docEntry[d]
		if ix.docAns[d] {
			ansScore[e] = s
			continue
		}
		if b := bestDoc[e]; b < 0 || s > scores[b] {
			bestDoc[e] = int32(d)
		}
	}
	// top k entries by score, by insertion into a short sorted slice
	want := k
	k = max(k, rerankPool)
	hits := make([]hit, 0, k+1)
	for e, d := range bestDoc {
		if d < 0 || (keep != nil && !keep(e)) {
			continue
		}
		s := scores[d] + answerWeight*ansScore[e]
		if len(hits) == k && s <= hits[k-1].score {
			continue
		}
		i := sort.Search(len(hits), func(i int) bool { return hits[i].score < s })
		hits = append(hits, hit{})
		copy(hits[i+1:], hits[i:])
		hits[i] = hit{entry: e, score: s}
		if len(hits) > k {
			hits = hits[:k]
		}
	}
	for i := range hits {
		d := bestDoc[hits[i].entry]
		// coverage: how much of the query the document explains, and how
		// much of the document the query covers.
		var matched float64
		for _, id := range ix.docTerms[d] {
			if _, ok := qIndex[id]; ok {
				matched += ix.idf[id] * ix.weight[id]
			}
		}
		qCov := matched / qMass
		dCov := 0.0
		if ix.docMass[d] > 0 {
			dCov = matched / ix.docMass[d]
		}
		hits[i].confidence = 0.7*qCov + 0.3*dCov
		var eMatched float64
		for _, id := range ix.entryTerms[hits[i].entry] {
			if _, ok := qIndex[id]; ok {
				eMatched += ix.idf[id] * ix.weight[id]
			}
		}
		hits[i].entryCov = eMatched / qMass
	}
	// Re-rank the pool by BM25 (relative to the best) blended with coverage.
	if len(hits) > 0 {
		top := hits[0].score
		for i := range hits {
			hits[i].rank = (1-rerankMix)*hits[i].score/top +
				rerankMix*((1-entryMix)*hits[i].confidence+entryMix*hits[i].entryCov)
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].rank > hits[j].rank })
	}
	if len(hits) > want {
		hits = hits[:want]
	}
	// An ambiguous top result (runner-up nearly as good) is less certain.
	if len(hits) > 1 && hits[0].rank > 0 {
		margin := (hits[0].rank - hits[1].rank) / hits[0].rank
		if margin < ambiguityMargin {
			hits[0].confidence *= 1 - ambiguityPenalty*(1-margin/ambiguityMargin)
		}
	}
	return hits
}
