package sentiment

import (
	"math"
	"strings"
	"unicode"
)

// lexicon maps words to a polarity weight. Longer words are tried first, so
// "不错" (positive) wins over "不" + "错".
var lexicon = map[string]float64{
	// positive
	"谢谢": 1, "感谢": 1, "多谢": 1, "满意": 1.2, "不错": 1, "很好": 1, "挺好": 0.8, "好评": 1.2,
	"棒": 1, "赞": 1, "喜欢": 1, "开心": 1, "高兴": 1, "给力": 1.2, "完美": 1.5, "专业": 0.8,
	"靠谱": 1, "方便": 0.6, "及时": 0.6, "耐心": 0.8, "贴心": 1, "优秀": 1, "好用": 1, "解决了": 0.8,
	"thanks": 1, "thank": 1, "great": 1.2, "good": 0.8, "nice": 0.8, "excellent": 1.5,
	"perfect": 1.5, "love": 1.2, "awesome": 1.2, "helpful": 1, "happy": 1,
	// negative
	"差": -1, "太差": -1.5, "很差": -1.5, "差劲": -1.5, "烂": -1.5, "垃圾": -2, "坑": -1.2, "坑人": -1.8,
	"骗": -1.5, "骗子": -2, "欺骗": -2, "失望": -1.5, "生气": -1.5, "愤怒": -2, "气死": -2, "恶心": -2,
	"无语": -1.2, "糟糕": -1.5, "滚": -2, "投诉": -1.2, "不满": -1.5, "后悔": -1.2, "慢": -0.6,
	"坏了": -0.8, "不好": -0.8, "不行": -0.8, "不太好": -0.6, "好的": 0.3, "好吧": 0, "破": -0.6, "烦": -1, "麻烦": -0.5, "问题": -0.3, "故障": -0.6, "退货": -0.3,
	"最差": -2, "离谱": -1.5, "忽悠": -1.5, "敷衍": -1.5, "没用": -1.2, "废物": -2, "难用": -1.2,
	"着急": -0.8, "急死": -1.5, "催": -0.6, "拖": -0.8, "一直没": -0.8, "态度差": -2, "曝光": -1.5,
	"bad": -1, "terrible": -1.8, "awful": -1.8, "worst": -2, "angry": -1.5, "useless": -1.5,
	"scam": -2, "hate": -1.5, "disappointed": -1.5, "broken": -0.8, "slow": -0.6, "ridiculous": -1.5,
}

// emoji polarity.
var emoji = map[rune]float64{
	'😊': 1, '😀': 1, '😄': 1, '😁': 1, '🙂': 0.6, '👍': 1, '❤': 1, '🥰': 1.2, '😍': 1.2, '🙏': 0.6, '🎉': 1,
	'😡': -2, '😠': -1.5, '🤬': -2, '💢': -1.5, '👎': -1.2, '😤': -1.2, '😭': -1, '😢': -0.8, '😞': -1, '🙄': -0.8,
}

var negators = []string{"不", "没", "别", "未", "无", "not", "no", "never", "don't", "isn't"}

var intensifiers = map[string]float64{
	"非常": 1.8, "特别": 1.7, "十分": 1.7, "超级": 1.8, "极其": 2, "太": 1.6, "很": 1.4, "真": 1.3,
	"超": 1.5, "巨": 1.6, "好": 1.3, "最": 1.6, "really": 1.5, "very": 1.5, "so": 1.3, "extremely": 2,
}

// maxWord is the longest lexicon key in runes.
const maxWord = 4

// Score returns the sentiment of text in [-1, 1]; 0 when nothing is known.
func Score(text string) float64 {
	if text == "" {
		return 0
	}
	s := strings.ToLower(text)
	rs := []rune(s)
	var (
		sum      float64
		found    bool
		negate   int    // remaining runes in which a negation applies
		boost    = 1.0  // pending intensifier
		boostLen int    // remaining runes in which the intensifier applies
		latin    []rune // current Latin word
		latinNeg bool   // a Latin negator precedes
		latinMul = 1.0  // a Latin intensifier precedes
	)
	flushLatin := func() {
		if len(latin) == 0 {
			return
		}
		w := string(latin)
		latin = latin[:0]
		switch {
		case contains(negators, w):
			latinNeg = true
			return
		case intensifiers[w] > 0:
			latinMul = intensifiers[w]
			return
		}
		if v, ok := lexicon[w]; ok {
			if latinNeg {
				v = -v * 0.8
			}
			sum += v * latinMul
			found = true
		}
		latinNeg, latinMul = false, 1
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		if r < 0x80 && (unicode.IsLetter(r) || r == '\'') {
			latin = append(latin, r)
			i++
			continue
		}
		flushLatin()
		if v, ok := emoji[r]; ok {
			sum += v
			found = true
			i++
			continue
		}
		if !unicode.Is(unicode.Han, r) {
			i++
			continue
		}
		// longest lexicon match at i
		matched := 0
		var val float64
		for n := min(maxWord, len(rs)-i); n >= 1; n-- {
			if v, ok := lexicon[string(rs[i:i+n])]; ok {
				matched, val = n, v
				break
			}
		}
		if matched > 0 {
			v := val * boost
			if negate > 0 {
				v = -v * 0.8
			}
			sum += v
			found = true
			negate, boost, boostLen = 0, 1, 0
			i += matched
			continue
		}
		// modifiers
		adv := false
		for n := 2; n >= 1; n-- {
			if i+n > len(rs) {
				continue
			}
			w := string(rs[i : i+n])
			if m, ok := intensifiers[w]; ok {
				boost, boostLen, adv = m, 3, true
				i += n
				break
			}
			if n == 1 && contains(negators, w) {
				negate, adv = 3, true
				i++
				break
			}
		}
		if adv {
			continue
		}
		i++
		if negate > 0 {
			negate--
		}
		if boostLen > 0 {
			if boostLen--; boostLen == 0 {
				boost = 1
			}
		}
	}
	flushLatin()
	if !found {
		return 0
	}
	// Repeated ! or ? amplify whatever tone is there.
	if n := strings.Count(s, "!") + strings.Count(s, "！") + strings.Count(s, "?") + strings.Count(s, "？"); n >= 2 {
		sum *= 1 + 0.25*float64(min(n, 6))
	}
	return math.Tanh(sum / 1.5)
}

func contains(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}
