package staff

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of a staff command.
type Kind int

// Command kinds.
const (
	KindNone     Kind = iota
	KindHelp          // 帮助, help
	KindClient        // 客户 张三, /client 138…
	KindTasks         // 任务, todo
	KindRemind        // 提醒我 周五下午3点 给王总发报价
	KindComplete      // 完成 3
	KindSnooze        // 推迟 3 明天上午
	KindProgress      // 进度 星辰贸易
)

// Command is a parsed staff command.
type Command struct {
	Kind Kind
	// Arg is the free text after the verb (client query, task text with its
	// date, snooze date, progress query), trimmed.
	Arg string
	// Index is the 1-based item of the last list (complete, snooze); 0 if absent.
	Index []int
}

// MaxCommandBytes bounds the text Parse looks at; longer messages are not commands.
const MaxCommandBytes = 1000

// verbs maps each alias (lower-case, without a leading slash) to its kind.
// Longer aliases are tried first so that 我的任务 wins over 任务.
var verbs = []struct {
	alias string
	kind  Kind
}{
	{"帮助", KindHelp}, {"help", KindHelp}, {"菜单", KindHelp}, {"命令", KindHelp}, {"?", KindHelp}, {"？", KindHelp},
	{"查客户", KindClient}, {"客户", KindClient}, {"client", KindClient}, {"customer", KindClient},
	{"我的任务", KindTasks}, {"待办", KindTasks}, {"任务", KindTasks}, {"todo", KindTasks}, {"tasks", KindTasks},
	{"提醒我", KindRemind}, {"remind me", KindRemind}, {"remind", KindRemind}, {"新任务", KindRemind}, {"提醒", KindRemind},
	{"完成", KindComplete}, {"done", KindComplete}, {"complete", KindComplete},
	{"推迟", KindSnooze}, {"延后", KindSnooze}, {"snooze", KindSnooze},
	{"进度", KindProgress}, {"进展", KindProgress}, {"progress", KindProgress}, {"deal", KindProgress},
}

// needsArg lists kinds that are only commands with an argument.
var needsArg = map[Kind]bool{KindClient: true, KindRemind: true, KindComplete: true, KindSnooze: true, KindProgress: true}

var reIndexes = regexp.MustCompile(`^#?(\d{1,3})(?:\s*[,，、 和]\s*#?(\d{1,3}))*`)

// Parse reads a staff command. It accepts Chinese and English aliases, an
// optional leading slash, full-width characters, any spacing between verb and
// argument and a separating colon (客户：张三, /client张三, TODO). ok is false
// when text is not a command, so the bot can answer it.
func Parse(text string) (Command, bool) {
	if len(text) > MaxCommandBytes || !utf8.ValidString(text) {
		return Command{}, false
	}
	s := strings.TrimSpace(fold(text))
	s = strings.TrimPrefix(s, "/")
	lower := strings.ToLower(s)
	for _, v := range verbs {
		if !strings.HasPrefix(lower, v.alias) {
			continue
		}
		rest := s[len(v.alias):]
		// An ASCII alias must end at a word boundary (helpful ≠ help).
		if r, _ := utf8.DecodeRuneInString(rest); isASCIIAlias(v.alias) && r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			continue
		}
		arg := strings.TrimSpace(strings.TrimLeft(rest, ":：,， "))
		cmd := Command{Kind: v.kind, Arg: arg}
		if needsArg[v.kind] && arg == "" {
			return Command{}, false
		}
		if !needsArg[v.kind] && arg != "" {
			// "任务" is a command, "任务很多怎么办" is not.
			return Command{}, false
		}
		switch v.kind {
		case KindComplete, KindSnooze:
			m := reIndexes.FindStringSubmatch(arg)
			if m == nil {
				return Command{}, false
			}
			idx := allIndexes(m[0])
			if len(idx) == 0 {
				return Command{}, false
			}
			cmd.Arg = strings.TrimSpace(arg[len(m[0]):])
			if v.kind == KindComplete && cmd.Arg != "" {
				return Command{}, false
			}
			if v.kind == KindSnooze {
				idx = idx[:1]
			}
			cmd.Index = idx
		}
		return cmd, true
	}
	return Command{}, false
}

func isASCIIAlias(a string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allIndexes(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		n, err := strconv.Atoi(f)
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// fold turns full-width ASCII into half-width and the ideographic space into a space.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3000':
			return ' '
		case r >= '\uff01' && r <= '\uff5e' && r != '\uff1a' && r != '\uff0c' && r != '\uff1f':
			return r - 0xfee0
		}
		return r
	}, s)
}
