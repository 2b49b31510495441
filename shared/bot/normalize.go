package bot

import (
	"sort"
	"strings"
	"unicode"
)

// t2s maps common traditional characters to simplified ones. It is a
// compact, read-only table covering the vocabulary of customer service; it
// is not a full OpenCC conversion.
var t2s = func() map[rune]rune {
	const pairs = "個个們们來来時时為为說说國国過过還还這这樣样學学開开關关問问題题對对電电發发貨货單单號号碼码" +
		"機机價价錢钱買买賣卖換换運运費费務务員员郵邮遞递約约預预訂订確确認认態态狀状詢询帳账戶户聯联絡络處处" +
		"優优質质維维壞坏標标準准萬万億亿與与書书車车網网頁页體体驗验營营業业愛爱無无麼么嗎吗應应該该會会後后" +
		"給给紅红讓让請请謝谢讚赞滿满見见報报銷销製制稅税點点鐘钟週周禮礼從从現现實实際际區区內内錯错誤误隻只" +
		"條条幾几東东長长門门間间師师氣气圖图寶宝線线話话語语額额總总產产廠厂倉仓庫库補补償偿鬆松齊齐專专屬属" +
		"經经辦办證证據据層层樓楼級级紀纪錄录傳传輸输檢检測测試试熱热燈灯筆笔腦脑顯显轉转帶带賬账餘余讀读寫写" +
		"聽听極极壓压歡欢沒没啟启動动頭头裡里裏里複复雜杂種种類类選选擇择隨随邊边達达遠远購购貴贵舊旧鑰钥設设" +
		"備备計计劃划隊队團团習习慣惯積积蓋盖簽签張张陳陈黃黄趙赵吳吴鄭郑楊杨劉刘歲岁節节慶庆雙双島岛灣湾臺台" +
		"櫃柜險险賠赔損损髒脏濕湿斷断響响聲声當当將将盡尽識识詳详細细紙纸幣币匯汇掃扫碼码稱称嗎吗麼么週周摺折" +
		"價价錢钱費费們们樣样裝装認认訊讯幫帮則则覺觉變变異异態态灣湾"
	rs := []rune(pairs)
	m := make(map[rune]rune, len(rs)/2)
	for i := 0; i+1 < len(rs); i += 2 {
		m[rs[i]] = rs[i+1]
	}
	return m
}()

// normalizer turns customer text into the canonical form that rules and
// the FAQ index compare: half-width, simplified, lower-case, punctuation
// replaced by spaces, Latin words separated from Han characters, synonyms
// replaced by their canonical word.
type normalizer struct {
	syn *strings.Replacer // nil without synonyms
}

func newNormalizer(synonyms map[string][]string) *normalizer {
	type pair struct{ from, to string }
	var ps []pair
	base := &normalizer{}
	for canon, vs := range synonyms {
		c := base.fold(canon)
		for _, v := range vs {
			f := base.fold(v)
			if f == "" || f == c {
				continue
			}
			ps = append(ps, pair{" " + f + " ", " " + c + " "})
			if isHanWord(f) {
				ps = append(ps, pair{f, c})
			}
		}
	}
	if len(ps) == 0 {
		return base
	}
	// Longest first: strings.Replacer tries old strings in argument order.
	sort.Slice(ps, func(i, j int) bool {
		if len(ps[i].from) != len(ps[j].from) {
			return len(ps[i].from) > len(ps[j].from)
		}
		return ps[i].from < ps[j].from
	})
	args := make([]string, 0, 2*len(ps))
	for _, p := range ps {
		args = append(args, p.from, p.to)
	}
	return &normalizer{syn: strings.NewReplacer(args...)}
}

func isHanWord(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return s != ""
}

// foldRune maps one rune to half-width, simplified, lower-case.
func foldRune(r rune) rune {
	switch {
	case r == 0x3000:
		return ' '
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	}
	if s, ok := t2s[r]; ok {
		return s
	}
	return unicode.ToLower(r)
}

// fold normalises text without synonyms: words are separated by single
// spaces, and a space separates Han runs from Latin/digit runs.
func (n *normalizer) fold(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	const (
		none = iota
		han
		word
	)
	prev := none
	for _, r := range text {
		r = foldRune(r)
		cls := none
		switch {
		case unicode.Is(unicode.Han, r):
			cls = han
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cls = word
		}
		if cls == none {
			prev = none
			continue
		}
		if b.Len() > 0 && cls != prev {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = cls
	}
	return b.String()
}

// norm normalises text and applies synonyms.
func (n *normalizer) norm(text string) string {
	s := n.fold(text)
	if n.syn == nil || s == "" {
		return s
	}
	// Double the spaces so that adjacent whole-word matches do not share one.
	s = n.syn.Replace(" " + strings.ReplaceAll(s, " ", "  ") + " ")
	return strings.Join(strings.Fields(s), " ")
}

// foldWidth maps text rune by rune to half-width, simplified, lower case,
// keeping punctuation (for regex rules and order numbers).
func (n *normalizer) foldWidth(text string) string {
	return strings.Map(foldRune, text)
}
