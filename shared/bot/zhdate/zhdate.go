package zhdate

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// partOfDay is the coarse time of day a customer names (上午, 下午, 晚上…).
type partOfDay int

const (
	partNone      partOfDay = iota
	partEarly               // 凌晨
	partMorning             // 早上, 上午, am
	partNoon                // 中午
	partAfternoon           // 下午, pm
	partEvening             // 晚上, 今晚, tonight
)

// defaultHour is the hour assumed when only a part of day is given.
var defaultHour = [...]int{partNone: 10, partEarly: 6, partMorning: 10, partNoon: 12, partAfternoon: 15, partEvening: 19}

var (
	reDate     = regexp.MustCompile(`(?:(\d{4})\s*[年/\-.]\s*)?(\d{1,2})\s*(?:月|/|-)\s*(\d{1,2})\s*[日号]?`)
	reWeekday  = regexp.MustCompile(`(下下个?|下个?|这个?|本)?(?:周|星期|礼拜)([1-7日天])`)
	reClock    = regexp.MustCompile(`(\d{1,2})\s*:\s*(\d{2})(?:\s*(am|pm|a\.m\.|p\.m\.))?`)
	reZhTime   = regexp.MustCompile(`(\d{1,2})\s*(?:点钟?|时)\s*(?:(半)|(\d)\s*刻|(\d{1,2})\s*分?)?`)
	reEnTime   = regexp.MustCompile(`\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.|o'?clock)`)
	reEnAt     = regexp.MustCompile(`\bat\s+(\d{1,2})\b`)
	reEnDay    = regexp.MustCompile(`\b(next\s+|this\s+)?(monday|mon|tuesday|tue|tues|wednesday|wed|thursday|thu|thur|thurs|friday|fri|saturday|sat|sunday|sun)\b`)
	enWeekdays = map[string]int{
		"monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3, "wed": 3,
		"thursday": 4, "thu": 4, "thur": 4, "thurs": 4, "friday": 5, "fri": 5,
		"saturday": 6, "sat": 6, "sunday": 7, "sun": 7,
	}
)

// relative day words, longest first so that 大后天 wins over 后天.
var relDays = []struct {
	word string
	days int
	part partOfDay
}{
	{"day after tomorrow", 2, partNone},
	{"大后天", 3, partNone},
	{"后天", 2, partNone},
	{"明天", 1, partNone}, {"明日", 1, partNone}, {"明早", 1, partMorning}, {"明晚", 1, partEvening},
	{"tomorrow", 1, partNone},
	{"今天", 0, partNone}, {"今日", 0, partNone}, {"今早", 0, partMorning}, {"今晚", 0, partEvening},
	{"today", 0, partNone}, {"tonight", 0, partEvening},
}

// parts of day, longest first.
var parts = []struct {
	word string
	part partOfDay
}{
	{"凌晨", partEarly}, {"早上", partMorning}, {"早晨", partMorning}, {"上午", partMorning},
	{"中午", partNoon}, {"下午", partAfternoon}, {"午后", partAfternoon}, {"傍晚", partEvening},
	{"晚上", partEvening}, {"夜里", partEvening}, {"晚", partEvening}, {"早", partMorning},
	{"morning", partMorning}, {"noon", partNoon}, {"afternoon", partAfternoon},
	{"evening", partEvening}, {"night", partEvening},
}

// Parse finds a date and/or time of day in text, interpreted relative to now
// in loc, and reports whether it found one. A time without a day means its
// next occurrence (today or tomorrow); a day without a time gets a default
// hour for the part of day named (上午 10:00, 下午 15:00, 晚上 19:00, else
// 10:00). A bare hour from 1 to 7 without 上午/am is read as afternoon. An
// explicit day is never moved, so the result can lie in the past: callers
// that book must check. A nil loc means time.Local.
func Parse(text string, now time.Time, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.Local
	}
	if len(text) > 200 || !utf8.ValidString(text) {
		return time.Time{}, false
	}
	s := normalize(text)
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)

	var (
		day      time.Time
		haveDay  bool
		part     partOfDay
		hour     = -1
		min      int
		explicit bool // am/pm stated in English
		pm       bool
	)

	// Days.
	if m := reDate.FindStringSubmatchIndex(s); m != nil {
		year := now.Year()
		if m[2] >= 0 {
			year, _ = strconv.Atoi(s[m[2]:m[3]])
		}
		mon, _ := strconv.Atoi(s[m[4]:m[5]])
		d, _ := strconv.Atoi(s[m[6]:m[7]])
		if mon < 1 || mon > 12 || d < 1 || d > 31 || year < 1970 || year > 2200 {
			return time.Time{}, false
		}
		t := time.Date(year, time.Month(mon), d, 0, 0, 0, 0, loc)
		if t.Day() != d { // 2月30日
			return time.Time{}, false
		}
		if m[2] < 0 && t.Before(today) {
			t = t.AddDate(1, 0, 0)
		}
		day, haveDay = t, true
		s = s[:m[0]] + " " + s[m[1]:]
	}
	if !haveDay {
		for _, r := range relDays {
			if strings.Contains(s, r.word) {
				day, haveDay = today.AddDate(0, 0, r.days), true
				if r.part != partNone {
					part = r.part
				}
				s = strings.Replace(s, r.word, " ", 1)
				break
			}
		}
	}
	if !haveDay {
		if m := reWeekday.FindStringSubmatch(s); m != nil {
			target := 7
			if m[2] != "日" && m[2] != "天" {
				target, _ = strconv.Atoi(m[2])
			}
			day, haveDay = weekday(today, target, m[1]), true
			s = strings.Replace(s, m[0], " ", 1)
		} else if m := reEnDay.FindStringSubmatch(s); m != nil {
			prefix := ""
			if strings.HasPrefix(m[1], "this") {
				prefix = "这"
			}
			day, haveDay = weekday(today, enWeekdays[m[2]], prefix), true
			if strings.HasPrefix(m[1], "next") && day.Equal(today) {
				day = day.AddDate(0, 0, 7)
			}
			s = strings.Replace(s, m[0], " ", 1)
		}
	}

	// Part of day.
	if part == partNone {
		for _, p := range parts {
			if strings.Contains(s, p.word) {
				part = p.part
				break
			}
		}
	}

	// Time of day.
	if m := reClock.FindStringSubmatch(s); m != nil {
		hour, _ = strconv.Atoi(m[1])
		min, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			explicit, pm = true, strings.HasPrefix(m[3], "p")
		}
	} else if m := reZhTime.FindStringSubmatch(s); m != nil {
		hour, _ = strconv.Atoi(m[1])
		switch {
		case m[2] != "":
			min = 30
		case m[3] != "":
			q, _ := strconv.Atoi(m[3])
			min = 15 * q
		case m[4] != "":
			min, _ = strconv.Atoi(m[4])
		}
	} else if m := reEnTime.FindStringSubmatch(s); m != nil {
		hour, _ = strconv.Atoi(m[1])
		if !strings.HasPrefix(m[2], "o") {
			explicit, pm = true, strings.HasPrefix(m[2], "p")
		}
	} else if m := reEnAt.FindStringSubmatch(s); m != nil {
		hour, _ = strconv.Atoi(m[1])
	}

	if !haveDay && hour < 0 && part == partNone {
		return time.Time{}, false
	}
	if hour < 0 {
		hour = defaultHour[part]
	} else {
		if hour > 24 || min > 59 {
			return time.Time{}, false
		}
		switch {
		case explicit && pm && hour < 12:
			hour += 12
		case explicit && !pm && hour == 12:
			hour = 0
		case explicit:
		case part == partAfternoon || part == partEvening:
			if hour < 12 {
				hour += 12
			}
		case part == partNoon:
			if hour <= 3 {
				hour += 12
			}
		case part == partNone && hour >= 1 && hour <= 7:
			hour += 12
		}
		if hour == 24 {
			if min > 0 {
				return time.Time{}, false
			}
			hour = 0
			if !haveDay {
				day, haveDay = today, true
			}
			day = day.AddDate(0, 0, 1)
		}
	}
	if !haveDay {
		t := time.Date(today.Year(), today.Month(), today.Day(), hour, min, 0, 0, loc)
		if t.Before(now) {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Date(day.Year(), day.Month(), day.Day(), hour, min, 0, 0, loc), true
}

// weekday returns the date of weekday target (1 = Monday … 7 = Sunday)
// relative to today. prefix "下" means next week's, "下下" the week after,
// "这"/"本" this week's (possibly past); no prefix means the next occurrence
// (today included).
func weekday(today time.Time, target int, prefix string) time.Time {
	cur := int(today.Weekday())
	if cur == 0 {
		cur = 7
	}
	var delta int
	switch {
	case strings.HasPrefix(prefix, "下下"):
		delta = 14 - cur + target
	case strings.HasPrefix(prefix, "下"):
		delta = 7 - cur + target
	case strings.HasPrefix(prefix, "这"), strings.HasPrefix(prefix, "本"):
		delta = target - cur
	default:
		delta = target - cur
		if delta < 0 {
			delta += 7
		}
	}
	return today.AddDate(0, 0, delta)
}

// normalize lower-cases text, turns full-width characters into ASCII and
// Chinese numerals into Arabic digits.
func normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		switch {
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		}
		b.WriteRune(r)
	}
	return zhNumerals(strings.ToLower(b.String()))
}

var zhDigit = map[rune]int{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

// zhNumerals replaces runs of Chinese numerals (十一, 三十, 二〇二四) with digits.
func zhNumerals(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if _, ok := zhDigit[rs[i]]; !ok && rs[i] != '十' {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) {
			if _, ok := zhDigit[rs[j]]; !ok && rs[j] != '十' {
				break
			}
			j++
		}
		b.WriteString(zhRunValue(rs[i:j]))
		i = j
	}
	return b.String()
}

// zhRunValue converts one run of Chinese numerals to its decimal string.
func zhRunValue(run []rune) string {
	hasTen := false
	for _, r := range run {
		if r == '十' {
			hasTen = true
		}
	}
	if !hasTen { // digit by digit: 二〇二四 → 2024
		var b strings.Builder
		for _, r := range run {
			b.WriteByte(byte('0' + zhDigit[r]))
		}
		return b.String()
	}
	// value < 100: [d]十[d]; anything longer is split into plain digits
	if len(run) > 3 {
		return zhRunValue(run[:3]) + zhRunValue(run[3:])
	}
	v, tens, cur := 0, false, 0
	for _, r := range run {
		if r == '十' {
			if tens {
				return strconv.Itoa(v + cur*10)
			}
			if cur == 0 {
				cur = 1
			}
			v, cur, tens = cur*10, 0, true
			continue
		}
		cur = zhDigit[r]
	}
	return strconv.Itoa(v + cur)
}
