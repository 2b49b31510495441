package platform

import (
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NewLogger returns a JSON slog logger writing to w at the given level
// ("debug", "info", "warn", "error", case-insensitive, also "info+2" forms;
// usually the value of LOG_LEVEL). An empty or unknown level means info.
func NewLogger(level string, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// ContentLogging reports whether message bodies may be logged: true only
// when LOG_CONTENT is a true boolean ("true", "1", …).
func ContentLogging(getenv func(string) string) bool {
	ok, err := strconv.ParseBool(getenv("LOG_CONTENT"))
	return err == nil && ok
}

// phoneLike matches runs of at least 7 digits, optionally with a leading +
// and single spaces or dashes between digits.
var phoneLike = regexp.MustCompile(`\+?\d(?:[ \-]?\d){6,}`)

// RedactPhone masks every phone-number-like run of digits in s, keeping the
// first 3 and last 4 digits of numbers with 11 or more digits
// ("13812345678" → "138****5678") and only the last 2 otherwise.
// Separators and a leading + are kept.
func RedactPhone(s string) string {
	return phoneLike.ReplaceAllStringFunc(s, maskDigits)
}

func maskDigits(m string) string {
	n := 0
	for i := 0; i < len(m); i++ {
		if m[i] >= '0' && m[i] <= '9' {
			n++
		}
	}
	head, tail := 0, 2
	if n >= 11 {
		head, tail = 3, 4
	}
	b := []byte(m)
	seen := 0
	for i, c := range b {
		if c < '0' || c > '9' {
			continue
		}
		if seen >= head && seen < n-tail {
			b[i] = '*'
		}
		seen++
	}
	return string(b)
}

// RedactText prepares a message body for a log line. Unless enabled (see
// ContentLogging) it returns only the length, e.g. "[redacted 12 chars]";
// when enabled it returns s with phone numbers still masked.
func RedactText(s string, enabled bool) string {
	if !enabled {
		return "[redacted " + strconv.Itoa(utf8.RuneCountInString(s)) + " chars]"
	}
	return RedactPhone(s)
}
