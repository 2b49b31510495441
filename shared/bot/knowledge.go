package bot

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"wecom-crm-bot/shared/domain"
)

//go:embed defaults/knowledge.yaml
var defaultKnowledgeYAML []byte

// DefaultKnowledgeYAML returns a copy of the bundled demo knowledge file (an
// electronics shop), e.g. as the starting point of an editor.
func DefaultKnowledgeYAML() []byte { return bytes.Clone(defaultKnowledgeYAML) }

// DefaultKnowledge returns the bundled demo knowledge, parsed. It panics only
// if the embedded file is invalid, which its test rules out.
func DefaultKnowledge() *Knowledge {
	k, err := ParseKnowledge(defaultKnowledgeYAML)
	if err != nil {
		panic("bot: bundled knowledge is invalid: " + err.Error())
	}
	return k
}

// Match kinds of a Rule.
const (
	MatchExact    = "exact"    // the whole normalised message equals a keyword
	MatchContains = "contains" // the normalised message contains a keyword
	MatchRegex    = "regex"    // Pattern matches the half-width, lower-case message
)

// Rule is a keyword-triggered reply or action, tried before the FAQ in
// order of descending Priority.
type Rule struct {
	ID       string   `yaml:"id"`
	Match    string   `yaml:"match"` // exact, contains (default) or regex
	Keywords []string `yaml:"keywords,omitempty"`
	Pattern  string   `yaml:"pattern,omitempty"`
	Priority int      `yaml:"priority,omitempty"`
	// Channels limits the rule to these channels; empty means all.
	Channels []string `yaml:"channels,omitempty"`
	// BusinessHoursOnly rules apply only inside business hours.
	BusinessHoursOnly bool `yaml:"business_hours_only,omitempty"`
	// Exactly one action: Answer text, start Flow (order_status,
	// appointment) or Survey (thank and ask for satisfaction).
	Answer string `yaml:"answer,omitempty"`
	Flow   string `yaml:"flow,omitempty"`
	Survey bool   `yaml:"survey,omitempty"`
	Line   int    `yaml:"-"` // line in the source file

	re       *regexp.Regexp
	keywords []string // normalised
}

// FAQ is one knowledge-base entry.
type FAQ struct {
	ID       string   `yaml:"id"`
	Question string   `yaml:"question"`
	Variants []string `yaml:"variants,omitempty"`
	Answer   string   `yaml:"answer"`
	Tags     []string `yaml:"tags,omitempty"`
	Channels []string `yaml:"channels,omitempty"` // empty means all channels
	Line     int      `yaml:"-"`
}

// BusinessHours are the opening hours of human service, in the bot's time
// zone. Days are ISO weekdays (1 = Monday … 7 = Sunday); Open and Close are
// "15:04". The zero value means always open.
type BusinessHours struct {
	Days  []int  `yaml:"days,omitempty"`
	Open  string `yaml:"open,omitempty"`
	Close string `yaml:"close,omitempty"`

	open, close int // minutes after midnight
}

// Contains reports whether t (already in the bot's zone) is within hours.
func (h BusinessHours) Contains(t time.Time) bool {
	if h.Open == "" && len(h.Days) == 0 {
		return true
	}
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	if len(h.Days) > 0 {
		ok := false
		for _, d := range h.Days {
			ok = ok || d == wd
		}
		if !ok {
			return false
		}
	}
	if h.Open == "" {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	return m >= h.open && m < h.close
}

// Thresholds tune matching and handoff.
type Thresholds struct {
	// Answer: FAQ confidence at or above which the bot answers directly.
	Answer float64 `yaml:"answer,omitempty"`
	// Suggest: confidence at or above which the bot offers "您是不是想问…".
	Suggest float64 `yaml:"suggest,omitempty"`
	// NegativeSentiment: a message scoring at or below it goes to a human.
	NegativeSentiment float64 `yaml:"negative_sentiment,omitempty"`
	// RefundHandoffAmount: refunds above this amount (yuan) go to a human.
	RefundHandoffAmount float64 `yaml:"refund_handoff_amount,omitempty"`
	// FlowTimeout: a flow idle for longer is abandoned.
	FlowTimeout time.Duration `yaml:"flow_timeout,omitempty"`
	// LLMTimeout bounds one call of the LLM fallback.
	LLMTimeout time.Duration `yaml:"llm_timeout,omitempty"`
}

// Messages are the bot's fixed texts. {name}, {owner}, {hours} are filled in.
type Messages struct {
	Business      string `yaml:"business,omitempty"`
	Welcome       string `yaml:"welcome,omitempty"`
	Clarify       string `yaml:"clarify,omitempty"`
	Suggest       string `yaml:"suggest,omitempty"`
	SuggestTail   string `yaml:"suggest_tail,omitempty"`
	Handoff       string `yaml:"handoff,omitempty"`
	HandoffOwner  string `yaml:"handoff_owner,omitempty"`
	Sorry         string `yaml:"sorry,omitempty"`
	AfterHours    string `yaml:"after_hours,omitempty"`
	Cancelled     string `yaml:"cancelled,omitempty"`
	NonText       string `yaml:"non_text,omitempty"`
	Survey        string `yaml:"survey,omitempty"`
	SurveyThanks  string `yaml:"survey_thanks,omitempty"`
	Unavailable   string `yaml:"unavailable,omitempty"`
	FlowInterrupt string `yaml:"flow_interrupt,omitempty"`
}

// OrderFlow configures the order-status flow.
type OrderFlow struct {
	IDPattern string `yaml:"id_pattern"`
	Ask       string `yaml:"ask"`
	Retry     string `yaml:"retry"`
	NotFound  string `yaml:"not_found"`
	Pick      string `yaml:"pick"`
	// Verify asks an unknown customer for the phone number on the order
	// ({order}); VerifyFailed answers a phone that does not match.
	Verify       string `yaml:"verify"`
	VerifyFailed string `yaml:"verify_failed"`
	// VerifyHandoff prefixes the handoff when verification is impossible.
	VerifyHandoff string `yaml:"verify_handoff"`
	// Statuses translates CRM order statuses into customer wording.
	Statuses map[string]string `yaml:"statuses,omitempty"`

	re *regexp.Regexp
}

// AppointmentFlow configures the appointment-booking flow.
type AppointmentFlow struct {
	Ask         string `yaml:"ask"`
	Retry       string `yaml:"retry"`
	Past        string `yaml:"past"`
	Closed      string `yaml:"closed"`
	Confirm     string `yaml:"confirm"`
	Booked      string `yaml:"booked"`
	AskAgain    string `yaml:"ask_again"`
	Subject     string `yaml:"subject"`
	Unavailable string `yaml:"unavailable"`
}

// Flows configures the multi-turn flows and the words that steer them.
type Flows struct {
	OrderStatus  OrderFlow       `yaml:"order_status"`
	Appointment  AppointmentFlow `yaml:"appointment"`
	CancelWords  []string        `yaml:"cancel_words"`
	RestartWords []string        `yaml:"restart_words"`
	YesWords     []string        `yaml:"yes_words"`
	NoWords      []string        `yaml:"no_words"`
	// MaxRetries is how many unusable answers a flow step accepts before
	// handing off (default 2).
	MaxRetries int `yaml:"max_retries,omitempty"`
}

// Knowledge is everything the bot knows: rules, FAQ, synonyms, handoff
// keywords, hours, thresholds, texts and flows. It is immutable after
// parsing and safe for concurrent use.
type Knowledge struct {
	Version    string              `yaml:"version"`
	Hours      BusinessHours       `yaml:"hours,omitempty"`
	Thresholds Thresholds          `yaml:"thresholds,omitempty"`
	Messages   Messages            `yaml:"messages,omitempty"`
	Synonyms   map[string][]string `yaml:"synonyms,omitempty"`
	// Handoff maps a reason code (requested, complaint, refund…) to the
	// words that trigger it. "refund" triggers only above
	// Thresholds.RefundHandoffAmount.
	Handoff map[string][]string `yaml:"handoff,omitempty"`
	Rules   []Rule              `yaml:"rules,omitempty"`
	FAQ     []FAQ               `yaml:"faq"`
	Flows   Flows               `yaml:"flows,omitempty"`

	norm    *normalizer
	ix      *index
	byID    map[string]int
	handoff []handoffWord
	mode    Tokenizer
}

type handoffWord struct {
	word   string // normalised
	reason string
	latin  bool
}

// ParseKnowledge parses and validates a knowledge file. Errors name the file
// "knowledge.yaml" and the line: `knowledge.yaml:42: entry "x": answer is
// empty`. It wraps domain.ErrInvalid.
func ParseKnowledge(data []byte) (*Knowledge, error) {
	return ParseKnowledgeFile("knowledge.yaml", data)
}

// ParseKnowledgeFile is ParseKnowledge with the file name used in errors.
func ParseKnowledgeFile(name string, data []byte) (*Knowledge, error) {
	return parseKnowledge(name, data, UniBigram)
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

func parseKnowledge(name string, data []byte, mode Tokenizer) (*Knowledge, error) {
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s: %w", name, line, fmt.Sprintf(format, args...), domain.ErrInvalid)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErr(name, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fail(1, "knowledge must be a YAML mapping")
	}
	k := &Knowledge{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(k); err != nil {
		return nil, yamlErr(name, err)
	}
	doc := root.Content[0]
	lines := func(key string) []int { // line of each item of a top-level sequence
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value == key {
				var ls []int
				for _, n := range doc.Content[i+1].Content {
					ls = append(ls, n.Line)
				}
				return ls
			}
		}
		return nil
	}
	keyLine := func(key string) int {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value == key {
				return doc.Content[i].Line
			}
		}
		return 1
	}
	for i, l := range lines("faq") {
		if i < len(k.FAQ) {
			k.FAQ[i].Line = l
		}
	}
	for i, l := range lines("rules") {
		if i < len(k.Rules) {
			k.Rules[i].Line = l
		}
	}
	k.applyDefaults()
	k.mode = mode

	// Hours.
	if k.Hours.Open != "" || k.Hours.Close != "" {
		o, err1 := clock(k.Hours.Open)
		c, err2 := clock(k.Hours.Close)
		if err1 != nil || err2 != nil || o >= c {
			return nil, fail(keyLine("hours"), "hours: open/close must be HH:MM with open before close")
		}
		k.Hours.open, k.Hours.close = o, c
	}
	for _, d := range k.Hours.Days {
		if d < 1 || d > 7 {
			return nil, fail(keyLine("hours"), "hours: day %d is not 1 (Monday) … 7 (Sunday)", d)
		}
	}
	if t := k.Thresholds; t.Answer <= 0 || t.Answer > 1 || t.Suggest <= 0 || t.Suggest > t.Answer {
		return nil, fail(keyLine("thresholds"), "thresholds: need 0 < suggest <= answer <= 1")
	}

	k.norm = newNormalizer(k.Synonyms)

	// FAQ.
	if len(k.FAQ) == 0 {
		return nil, fail(keyLine("faq"), "faq: no entries")
	}
	k.byID = make(map[string]int, len(k.FAQ))
	for i, f := range k.FAQ {
		switch {
		case strings.TrimSpace(f.ID) == "":
			return nil, fail(f.Line, "entry %d: id is empty", i+1)
		case strings.ContainsAny(f.ID, " \t:"):
			return nil, fail(f.Line, "entry %q: id must not contain spaces or ':'", f.ID)
		case strings.TrimSpace(f.Question) == "":
			return nil, fail(f.Line, "entry %q: question is empty", f.ID)
		case strings.TrimSpace(f.Answer) == "":
			return nil, fail(f.Line, "entry %q: answer is empty", f.ID)
		}
		if j, dup := k.byID[f.ID]; dup {
			return nil, fail(f.Line, "entry %q: duplicate id (first on line %d)", f.ID, k.FAQ[j].Line)
		}
		k.byID[f.ID] = i
		for _, q := range append([]string{f.Question}, f.Variants...) {
			if k.norm.norm(q) == "" {
				return nil, fail(f.Line, "entry %q: question or variant %q has no words", f.ID, q)
			}
		}
	}
	k.ix = k.buildIndex(mode)

	// Rules.
	ruleIDs := map[string]bool{}
	for i := range k.Rules {
		r := &k.Rules[i]
		if r.ID == "" {
			return nil, fail(r.Line, "rule %d: id is empty", i+1)
		}
		if ruleIDs[r.ID] {
			return nil, fail(r.Line, "rule %q: duplicate id", r.ID)
		}
		ruleIDs[r.ID] = true
		if r.Match == "" {
			r.Match = MatchContains
		}
		switch r.Match {
		case MatchExact, MatchContains:
			for _, kw := range r.Keywords {
				if n := k.norm.norm(kw); n != "" {
					r.keywords = append(r.keywords, n)
				}
			}
			if len(r.keywords) == 0 {
				return nil, fail(r.Line, "rule %q: no keywords", r.ID)
			}
		case MatchRegex:
			re, err := regexp.Compile(r.Pattern)
			if err != nil || r.Pattern == "" {
				return nil, fail(r.Line, "rule %q: bad pattern: %v", r.ID, err)
			}
			r.re = re
		default:
			return nil, fail(r.Line, "rule %q: match must be exact, contains or regex", r.ID)
		}
		actions := 0
		for _, set := range []bool{r.Answer != "", r.Flow != "", r.Survey} {
			if set {
				actions++
			}
		}
		if actions != 1 {
			return nil, fail(r.Line, "rule %q: needs exactly one of answer, flow, survey", r.ID)
		}
		if r.Flow != "" && r.Flow != FlowOrderStatus && r.Flow != FlowAppointment {
			return nil, fail(r.Line, "rule %q: unknown flow %q", r.ID, r.Flow)
		}
	}
	sort.SliceStable(k.Rules, func(i, j int) bool { return k.Rules[i].Priority > k.Rules[j].Priority })

	// Handoff words.
	for reason, words := range k.Handoff {
		for _, w := range words {
			n := k.norm.fold(w)
			if n == "" {
				continue
			}
			k.handoff = append(k.handoff, handoffWord{word: n, reason: reason, latin: !isHanWord(n)})
		}
	}
	sort.Slice(k.handoff, func(i, j int) bool {
		if len(k.handoff[i].word) != len(k.handoff[j].word) {
			return len(k.handoff[i].word) > len(k.handoff[j].word)
		}
		return k.handoff[i].word < k.handoff[j].word
	})

	// Flows.
	re, err := regexp.Compile(k.Flows.OrderStatus.IDPattern)
	if err != nil {
		return nil, fail(keyLine("flows"), "flows: order_status: bad id_pattern: %v", err)
	}
	k.Flows.OrderStatus.re = re
	return k, nil
}

// yamlErr rewrites a yaml.v3 error as "name:line: message".
func yamlErr(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		line := msg[m[2]:m[3]]
		msg = msg[:m[0]] + msg[m[1]:]
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return fmt.Errorf("%s:%s: %s: %w", name, line, strings.TrimSpace(msg), domain.ErrInvalid)
	}
	return fmt.Errorf("%s: %s: %w", name, msg, domain.ErrInvalid)
}

func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, errors.New("want HH:MM")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 {
		return 0, errors.New("want HH:MM")
	}
	return hh*60 + mm, nil
}

// applyDefaults fills everything a knowledge file may leave out.
func (k *Knowledge) applyDefaults() {
	t := &k.Thresholds
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&t.Answer, 0.6)
	def(&t.Suggest, 0.35)
	def(&t.NegativeSentiment, -0.6)
	def(&t.RefundHandoffAmount, 1000)
	if t.FlowTimeout == 0 {
		t.FlowTimeout = 30 * time.Minute
	}
	if t.LLMTimeout == 0 {
		t.LLMTimeout = 5 * time.Second
	}
	m := &k.Messages
	str := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	str(&m.Business, "我们")
	str(&m.Welcome, "{name}您好！我是{business}的智能助手，有什么可以帮您？")
	str(&m.Clarify, "抱歉，我没太理解您的意思。能换个说法再描述一下吗？也可以输入“人工”联系客服。")
	str(&m.Suggest, "您是不是想问：")
	str(&m.SuggestTail, "点击选项查看答案；都不是的话可以换个说法，或输入“人工”。")
	str(&m.Handoff, "好的，正在为您转接人工客服，请稍候～")
	str(&m.HandoffOwner, "好的，正在为您转接您的专属顾问{owner}，请稍候～")
	str(&m.Sorry, "非常抱歉给您带来不好的体验，")
	str(&m.AfterHours, "现在是非工作时间（客服工作时间：{hours}），您的问题已记录，客服上班后会第一时间联系您。")
	str(&m.Cancelled, "好的，已取消。还有什么可以帮您？")
	str(&m.NonText, "收到～目前我只能理解文字消息，请用文字描述您的问题，或输入“人工”联系客服。")
	str(&m.Survey, "请问您对本次服务满意吗？")
	str(&m.SurveyThanks, "感谢您的评价！祝您生活愉快～")
	str(&m.Unavailable, "抱歉，该功能暂时无法使用，请稍后再试，或输入“人工”联系客服。")
	str(&m.FlowInterrupt, "（如需继续刚才的办理，请直接回复；输入“取消”可退出。）")
	o := &k.Flows.OrderStatus
	str(&o.IDPattern, `(?i)\b([a-z]{2}\d{8}|\d{12,20})\b`)
	str(&o.Ask, "请发送您的订单号（例如 AB12345678），我来帮您查询。")
	str(&o.Retry, "没有识别到订单号哦，订单号是 2 位字母加 8 位数字（如 AB12345678）或 12 位以上数字，请再发一次。")
	str(&o.NotFound, "没有找到订单 {order}，请核对订单号后重新发送。")
	str(&o.Pick, "请问您要查询哪个订单？")
	str(&o.Verify, "为保护您的隐私，请发送下单时预留的手机号码（11 位），核实后为您查询订单 {order}。")
	str(&o.VerifyFailed, "手机号与订单 {order} 的记录不一致（或没有这个订单），请核对后重新发送手机号，或输入“取消”。")
	str(&o.VerifyHandoff, "为保护您的隐私，订单需要人工客服核实身份后查询，")
	a := &k.Flows.Appointment
	str(&a.Ask, "请问您希望预约什么时间？（例如：明天下午三点、周五上午、11月30日 14:00）")
	str(&a.Retry, "抱歉没能识别时间，请换个说法，例如“明天下午三点”或“周五上午10点”。")
	str(&a.Past, "这个时间已经过去了，请换一个之后的时间。")
	str(&a.Closed, "这个时间不在我们的服务时间（{hours}）内，请换一个时间。")
	str(&a.Confirm, "确认预约 {time} 吗？")
	str(&a.Booked, "已为您预约 {time}，届时{owner}会与您联系。")
	str(&a.AskAgain, "好的，请问您希望改到什么时间？")
	str(&a.Subject, "客户预约")
	str(&a.Unavailable, "抱歉，在线预约暂时无法使用，请输入“人工”由客服为您安排。")
	f := &k.Flows
	if len(f.CancelWords) == 0 {
		f.CancelWords = []string{"算了", "取消", "不用了", "不查了", "cancel", "stop", "quit"}
	}
	if len(f.RestartWords) == 0 {
		f.RestartWords = []string{"重新来", "重来", "重新开始", "restart", "start over"}
	}
	if len(f.YesWords) == 0 {
		f.YesWords = []string{"是", "是的", "确认", "对", "好", "好的", "可以", "行", "没问题", "yes", "y", "ok", "sure", "confirm"}
	}
	if len(f.NoWords) == 0 {
		f.NoWords = []string{"不", "不是", "否", "不对", "不行", "不要", "不用", "不可以", "换个时间", "换时间", "改时间", "no", "n", "nope"}
	}
	if f.MaxRetries == 0 {
		f.MaxRetries = 2
	}
}

// Entry returns the FAQ entry with id.
func (k *Knowledge) Entry(id string) (FAQ, bool) {
	i, ok := k.byID[id]
	if !ok {
		return FAQ{}, false
	}
	return k.FAQ[i], true
}

// Candidate is one FAQ entry retrieved for a question.
type Candidate struct {
	ID         string
	Question   string
	Score      float64 // BM25
	Confidence float64 // calibrated 0..1
}

// Search returns up to n FAQ entries for text on channel, best first.
func (k *Knowledge) Search(text, channel string, n int) []Candidate {
	keep := func(e int) bool { return inScope(k.FAQ[e].Channels, channel) }
	hits := k.ix.search(k.norm.norm(text), n, keep)
	out := make([]Candidate, len(hits))
	for i, h := range hits {
		f := k.FAQ[h.entry]
		out[i] = Candidate{ID: f.ID, Question: f.Question, Score: h.score, Confidence: h.confidence}
	}
	return out
}

// WithTokenizer returns a copy of k whose FAQ index uses mode; for
// evaluating segmentation choices.
func (k *Knowledge) WithTokenizer(mode Tokenizer) *Knowledge {
	c := *k
	c.mode = mode
	c.ix = k.buildIndex(mode)
	return &c
}

// buildIndex indexes every question, variant and answer of the FAQ.
func (k *Knowledge) buildIndex(mode Tokenizer) *index {
	var (
		docs     []string
		docEntry []int32
		docAns   []bool
	)
	for i, f := range k.FAQ {
		for _, q := range append([]string{f.Question}, f.Variants...) {
			docs = append(docs, k.norm.norm(q))
			docEntry = append(docEntry, int32(i))
			docAns = append(docAns, false)
		}
		docs = append(docs, k.norm.norm(f.Answer))
		docEntry = append(docEntry, int32(i))
		docAns = append(docAns, true)
	}
	return buildIndex(docs, docEntry, docAns, len(k.FAQ), mode)
}

func inScope(channels []string, channel string) bool {
	if len(channels) == 0 {
		return true
	}
	for _, c := range channels {
		if c == channel {
			return true
		}
	}
	return false
}
