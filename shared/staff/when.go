package staff

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wecom-crm-bot/shared/bot/zhdate"
)

// dateRunes are the characters a Chinese date or time is written with.
const dateRunes = "今明后大天日早晚上下午中凌晨傍夜里周星期礼拜一二三四五六七八九十〇零两个这本点钟时半刻分号月年0123456789:/-. "

// dangling runes start a date word but do not finish one.
const dangling = "上下中大后这本个两 "

// timeTail may follow the part of the text that fixes the date and still
// belong to it (下午 + 3点半).
const timeTail = "0123456789一二三四五六七八九十两点钟时半刻分:"

var reEnWord = regexp.MustCompile(`^(?i)(today|tomorrow|tonight|day|after|next|this|on|at|by|mon(day)?|tue(s|sday)?|wed(nesday)?|thu(r|rs|rsday)?|fri(day)?|sat(urday)?|sun(day)?|morning|noon|afternoon|evening|night|am|pm|o'?clock|\d{1,2}(:\d{2})?(am|pm)?|\d{1,2}/\d{1,2})$`)

// splitWhen separates a leading date/time from the rest of text
// ("周五下午3点 给王总发报价" → Friday 15:00, "给王总发报价"). It returns
// ok=false when text does not start with a date zhdate understands.
func splitWhen(text string, now time.Time, loc *time.Location) (time.Time, string, bool) {
	text = strings.TrimSpace(text)
	if text == "" {
		return time.Time{}, "", false
	}
	// English: leading words that belong to a date.
	if r, _ := utf8.DecodeRuneInString(text); r < utf8.RuneSelf && unicode.IsLetter(r) {
		words := strings.Fields(text)
		n := 0
		for n < len(words) && reEnWord.MatchString(words[n]) {
			n++
		}
		for ; n > 0; n-- {
			when, ok := zhdate.Parse(strings.Join(words[:n], " "), now, loc)
			if ok {
				// Drop trailing filler words ("at", "by", "on").
				return when, strings.Join(words[n:], " "), true
			}
		}
		return time.Time{}, "", false
	}
	runes := []rune(text)
	end := 0
	for end < len(runes) && strings.ContainsRune(dateRunes, runes[end]) {
		end++
	}
	if end == 0 {
		return time.Time{}, "", false
	}
	full, ok := zhdate.Parse(string(runes[:end]), now, loc)
	if !ok {
		return time.Time{}, "", false
	}
	// The longest prefix that still gives the same instant, without a
	// dangling first half of a word (明天下|单 → 明天), then any time
	// characters that follow it.
	cut := end
	for ; cut > 1; cut-- {
		if t, ok := zhdate.Parse(string(runes[:cut]), now, loc); ok && t.Equal(full) {
			break
		}
	}
	for cut > 1 && strings.ContainsRune(dangling, runes[cut-1]) && !strings.HasSuffix(string(runes[:cut]), "早上") && !strings.HasSuffix(string(runes[:cut]), "晚上") {
		cut--
	}
	for cut < len(runes) && strings.ContainsRune(timeTail, runes[cut]) {
		cut++
	}
	rest := strings.TrimLeft(string(runes[cut:]), " ,，:：、")
	return full, strings.TrimSpace(rest), true
}
