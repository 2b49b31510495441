package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot/sentiment"
	"wecom-crm-bot/shared/domain"
)

// Intents the bot reports besides FAQ entry ids and rule ids.
const (
	IntentUnknown      = "unknown"      // nothing matched well enough
	IntentSuggest      = "suggest"      // offered "您是不是想问…"
	IntentHuman        = "human"        // customer asked for a person
	IntentComplaint    = "complaint"    // complaint keywords
	IntentRefund       = "refund"       // large refund
	IntentNonText      = "non_text"     // image, voice… without text
	IntentCancel       = "cancel"       // cancelled or restarted a flow
	IntentSatisfaction = "satisfaction" // answered the survey
	IntentLLM          = "llm"          // answered by the LLM fallback
	IntentSurvey       = "survey"       // said goodbye; survey offered
)

// Flow names, used as intents when a flow starts and in BotState.
const (
	FlowOrderStatus = "order_status"
	FlowAppointment = "appointment"
)

// Handoff reasons.
const (
	ReasonRequested         = "requested"
	ReasonLowConfidence     = "low_confidence"
	ReasonNegativeSentiment = "negative_sentiment"
	ReasonVIP               = "vip"
	ReasonComplaint         = "complaint"
	ReasonRefund            = "refund"
	ReasonAfterHours        = "after_hours"
	// ReasonVerify: an unknown customer asked about an order and could
	// not be verified (or no verification is available).
	ReasonVerify = "verify"
)

// Menu ids the bot understands besides "faq:<id>", "flow:<name>" and
// "order:<id>".
const (
	MenuHuman = "human"
	MenuYes   = "yes"
	MenuNo    = "no"
)

// PoolHandoff is Handoff.To when the customer has no known owner.
const PoolHandoff = "pool"

// Input is one customer message to respond to.
type Input struct {
	Now          time.Time
	Channel      string                  // channel name (for channel-scoped rules/FAQ)
	Text         string                  // customer text (trimmed); empty for non-text messages
	MenuID       string                  // set when the customer clicked a msgmenu item
	Conversation *domain.Conversation    // read-only; previous turns and BotState
	Customer     *domain.CustomerContext // may be nil (CRM unknown/slow)
}

// Output is what the bot decided for one customer message.
type Output struct {
	Replies    []domain.Reply // 0..n messages to send (≤ 3)
	Intent     string
	Confidence float64
	// Answered is false when the bot could not answer.
	Answered  bool
	Clarified bool
	Sentiment float64 // -1..+1 for the customer message
	// Handoff, when non-nil, hands the conversation to a human.
	Handoff *domain.Handoff
	// Satisfaction is 1..5 when this message answered the survey.
	Satisfaction int
	End          bool            // conversation finished (after survey)
	State        json.RawMessage // new BotState to store in the conversation
}

type config struct {
	loc        *time.Location
	thresholds *Thresholds
	hours      *BusinessHours
}

// Option configures a Bot.
type Option func(*config)

// WithLocation sets the time zone for dates, hours and replies (default
// Asia/Shanghai).
func WithLocation(loc *time.Location) Option { return func(c *config) { c.loc = loc } }

// WithThresholds overrides the knowledge file's thresholds; zero fields keep
// the knowledge values.
func WithThresholds(t Thresholds) Option { return func(c *config) { c.thresholds = &t } }

// WithBusinessHours overrides the knowledge file's business hours.
func WithBusinessHours(h BusinessHours) Option {
	return func(c *config) {
		if h.Open != "" {
			h.open, _ = clock(h.Open)
			h.close, _ = clock(h.Close)
		}
		c.hours = &h
	}
}

// Bot answers customer messages. It is safe for concurrent use; all
// per-conversation state travels in Input.Conversation.BotState and
// Output.State.
type Bot struct {
	kb    *Knowledge
	ports Ports
	loc   *time.Location
	th    Thresholds
	hours BusinessHours
}

// New returns a bot over kb (nil means DefaultKnowledge) and ports.
func New(kb *Knowledge, ports Ports, opts ...Option) *Bot {
	if kb == nil {
		kb = DefaultKnowledge()
	}
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.loc == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
		c.loc = loc
	}
	th := kb.Thresholds
	if o := c.thresholds; o != nil {
		pick := func(p *float64, v float64) {
			if v != 0 {
				*p = v
			}
		}
		pick(&th.Answer, o.Answer)
		pick(&th.Suggest, o.Suggest)
		pick(&th.NegativeSentiment, o.NegativeSentiment)
		pick(&th.RefundHandoffAmount, o.RefundHandoffAmount)
		if o.FlowTimeout != 0 {
			th.FlowTimeout = o.FlowTimeout
		}
		if o.LLMTimeout != 0 {
			th.LLMTimeout = o.LLMTimeout
		}
	}
	hours := kb.Hours
	if c.hours != nil {
		hours = *c.hours
	}
	return &Bot{kb: kb, ports: ports, loc: c.loc, th: th, hours: hours}
}

// state is the bot's part of a conversation, stored as BotState.
type state struct {
	Flow *flowState `json:"flow,omitempty"`
	// Low counts consecutive turns the bot could not answer confidently.
	Low int `json:"low,omitempty"`
	// Survey is set while the satisfaction survey awaits an answer.
	Survey bool `json:"survey,omitempty"`
	// Suggested are the FAQ ids last offered, so a typed "1"…"3" picks one.
	Suggested []string `json:"suggested,omitempty"`
	// VIPRouted is set once a VIP conversation was routed to the owner.
	VIPRouted bool `json:"vip_routed,omitempty"`
}

type flowState struct {
	Name    string            `json:"name"`
	Step    string            `json:"step"`
	Slots   map[string]string `json:"slots,omitempty"`
	Retries int               `json:"retries,omitempty"`
	Updated time.Time         `json:"updated"`
}

// StateFlow returns the name of the flow in progress in a BotState ("" for
// none), for tests and analytics.
func StateFlow(botState json.RawMessage) string {
	var s state
	if len(botState) == 0 || json.Unmarshal(botState, &s) != nil || s.Flow == nil {
		return ""
	}
	return s.Flow.Name
}

// turn carries one Respond call.
type turn struct {
	in   Input
	st   state
	now  time.Time
	norm string // normalised text
	out  Output
}

// Respond decides the reply to one customer message. It returns an error
// only when ctx is done; port failures become fallback replies.
func (b *Bot) Respond(ctx context.Context, in Input) (Output, error) {
	if err := ctx.Err(); err != nil {
		return Output{}, fmt.Errorf("bot: respond: %w", err)
	}
	t := &turn{in: in, now: in.Now}
	if t.now.IsZero() {
		t.now = time.Now()
	}
	t.now = t.now.In(b.loc)
	if c := in.Conversation; c != nil && len(c.BotState) > 0 {
		if err := json.Unmarshal(c.BotState, &t.st); err != nil {
			t.st = state{} // corrupt state: start afresh rather than fail the customer
		}
	}
	if f := t.st.Flow; f != nil && t.now.Sub(f.Updated) > b.th.FlowTimeout {
		t.st.Flow = nil
	}
	text := strings.TrimSpace(in.Text)
	if len([]rune(text)) > 2000 {
		text = string([]rune(text)[:2000])
	}
	t.in.Text = text
	t.norm = b.kb.norm.norm(text)
	t.out.Sentiment = sentiment.Score(text)

	b.dispatch(ctx, t)
	b.routeVIP(t)

	if t.out.Handoff != nil {
		t.st = state{VIPRouted: t.st.VIPRouted}
	}
	raw, err := json.Marshal(t.st)
	if err != nil {
		return Output{}, fmt.Errorf("bot: encode state: %w", err)
	}
	t.out.State = raw
	if len(t.out.Replies) > 5 {
		t.out.Replies = t.out.Replies[:5]
	}
	return t.out, nil
}

// dispatch runs the decision chain for one message.
func (b *Bot) dispatch(ctx context.Context, t *turn) {
	if t.in.MenuID != "" && b.menu(ctx, t) {
		return
	}
	if t.st.Survey {
		if n := parseSatisfaction(t.norm); n > 0 {
			b.satisfied(t, n)
			return
		}
		t.st.Survey = false
	}
	if t.in.Text == "" && t.in.MenuID == "" {
		b.lowTurn(t, IntentNonText, 0, []domain.Reply{{Text: b.kb.Messages.NonText}}, false)
		return
	}
	if b.handoffTriggers(t) {
		return
	}
	if t.st.Flow != nil {
		if b.flowControl(ctx, t) {
			return
		}
		if b.continueFlow(ctx, t) {
			return
		}
	}
	if len(t.st.Suggested) > 0 {
		if n, err := strconv.Atoi(t.norm); err == nil && n >= 1 && n <= len(t.st.Suggested) {
			b.answerFAQ(t, t.st.Suggested[n-1], 1)
			return
		}
	}
	t.st.Suggested = nil
	if b.rules(ctx, t) {
		return
	}
	b.faq(ctx, t)
}

// menu handles a clicked menu item; false lets the text path run.
func (b *Bot) menu(ctx context.Context, t *turn) bool {
	id := t.in.MenuID
	switch {
	case strings.HasPrefix(id, "csat_"):
		n, err := strconv.Atoi(strings.TrimPrefix(id, "csat_"))
		if err == nil && n >= 1 && n <= 5 {
			b.satisfied(t, n)
			return true
		}
	case strings.HasPrefix(id, "faq:"):
		if _, ok := b.kb.Entry(strings.TrimPrefix(id, "faq:")); ok {
			t.st.Suggested = nil
			b.answerFAQ(t, strings.TrimPrefix(id, "faq:"), 1)
			return true
		}
	case strings.HasPrefix(id, "flow:"):
		name := strings.TrimPrefix(id, "flow:")
		if name == FlowOrderStatus || name == FlowAppointment {
			t.st.Flow = nil
			b.startFlow(ctx, t, name)
			return true
		}
	case id == MenuHuman:
		b.handoff(t, ReasonRequested, IntentHuman, "")
		return true
	}
	// order:<id>, yes, no and unknown ids go to the flow or text path.
	return false
}

// satisfied records a survey answer and ends the conversation.
func (b *Bot) satisfied(t *turn, n int) {
	t.st.Survey = false
	t.st.Flow = nil
	t.out.Satisfaction = n
	t.out.End = true
	t.out.Intent = IntentSatisfaction
	t.out.Confidence = 1
	t.out.Answered = true
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.kb.Messages.SurveyThanks})
}

// parseSatisfaction reads a typed survey answer: 1–5 or words.
func parseSatisfaction(s string) int {
	switch s {
	case "1", "2", "3", "4", "5":
		return int(s[0] - '0')
	case "满意", "非常满意", "很满意", "特别满意", "超级满意", "满意的", "好评", "五星", "5星", "good", "great", "satisfied":
		return 5
	case "比较满意", "还不错", "不错", "挺好", "还可以":
		return 4
	case "一般", "还行", "凑合", "普通", "ok", "so so":
		return 3
	case "不太满意", "不怎么满意":
		return 2
	case "不满意", "很不满意", "非常不满意", "差评", "差", "很差", "bad", "unsatisfied", "dissatisfied":
		return 1
	}
	return 0
}

// SurveyPrompt is the satisfaction survey: a msgmenu 满意/一般/不满意 with
// ids "csat_5", "csat_3", "csat_1".
func (b *Bot) SurveyPrompt() domain.Reply {
	return domain.Reply{
		Text: b.kb.Messages.Survey,
		Menu: []domain.MenuItem{
			{ID: "csat_5", Text: "满意"},
			{ID: "csat_3", Text: "一般"},
			{ID: "csat_1", Text: "不满意"},
		},
	}
}

// handoffTriggers checks words and tone that send the customer to a human.
func (b *Bot) handoffTriggers(t *turn) bool {
	reason := b.handoffWord(t.norm)
	switch reason {
	case ReasonRequested:
		b.handoff(t, ReasonRequested, IntentHuman, "")
		return true
	case ReasonRefund:
		if amt := b.refundAmount(t); amt > b.th.RefundHandoffAmount {
			b.handoff(t, ReasonRefund, IntentRefund, "")
			return true
		}
	case "":
	default: // complaint or any configured reason
		intent := reason
		if reason == ReasonComplaint {
			intent = IntentComplaint
		}
		b.handoff(t, reason, intent, b.kb.Messages.Sorry)
		return true
	}
	if t.out.Sentiment <= b.th.NegativeSentiment {
		b.handoff(t, ReasonNegativeSentiment, IntentUnknown, b.kb.Messages.Sorry)
		return true
	}
	return false
}

// handoffWord returns the reason of the first handoff word in s. Latin
// words match whole words; Han words match anywhere.
func (b *Bot) handoffWord(s string) string {
	if s == "" {
		return ""
	}
	padded := " " + s + " "
	for _, w := range b.kb.handoff {
		if w.latin {
			if strings.Contains(padded, " "+w.word+" ") {
				return w.reason
			}
			continue
		}
		if strings.Contains(s, w.word) {
			return w.reason
		}
	}
	return ""
}

var reAmount = regexp.MustCompile(`(?i)(?:[¥￥]\s*(\d+(?:\.\d+)?))|(\d+(?:\.\d+)?)\s*(?:元|块|rmb|yuan|cny)|(\d+(?:\.\d+)?)\s*(?:万)`)

// refundAmount is the amount a refund message is about: a number with a
// currency, or the amount of an order of the customer that it names.
func (b *Bot) refundAmount(t *turn) float64 {
	var amt float64
	for _, m := range reAmount.FindAllStringSubmatch(t.in.Text, -1) {
		var v float64
		switch {
		case m[1] != "":
			v, _ = strconv.ParseFloat(m[1], 64)
		case m[2] != "":
			v, _ = strconv.ParseFloat(m[2], 64)
		case m[3] != "":
			v, _ = strconv.ParseFloat(m[3], 64)
			v *= 10000
		}
		amt = max(amt, v)
	}
	if id := b.orderID(t.in.Text); id != "" && t.in.Customer != nil {
		for _, o := range t.in.Customer.Orders {
			if strings.EqualFold(o.ID, id) {
				amt = max(amt, o.Amount)
			}
		}
	}
	return amt
}

// handoff hands the conversation to the owner or the pool.
func (b *Bot) handoff(t *turn, reason, intent, prefix string) {
	to := PoolHandoff
	owner := ""
	if c := t.in.Customer; c != nil && c.Contact.OwnerUserID != "" {
		to = c.Contact.OwnerUserID
		owner = c.Contact.OwnerName
	}
	msg := b.kb.Messages.Handoff
	if to != PoolHandoff {
		msg = strings.ReplaceAll(b.kb.Messages.HandoffOwner, "{owner}", owner)
	}
	if !b.hours.Contains(t.now) {
		reason = ReasonAfterHours
		msg = strings.ReplaceAll(b.kb.Messages.AfterHours, "{hours}", b.hoursText())
	}
	t.out.Handoff = &domain.Handoff{At: t.now, To: to, Reason: reason}
	if t.out.Intent == "" {
		t.out.Intent = intent
	}
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: prefix + msg})
	t.st.Flow = nil
}

// routeVIP routes a VIP customer's conversation to their owner once, after
// the bot has answered what it could. It waits while the bot is in the
// middle of something with the customer (a flow's question, a suggestion
// menu, the survey): handing over then would leave that question hanging.
func (b *Bot) routeVIP(t *turn) {
	c := t.in.Customer
	if c == nil || !c.Contact.VIP || t.st.VIPRouted || t.out.Handoff != nil || t.out.End {
		if t.out.Handoff != nil && c != nil && c.Contact.VIP {
			t.st.VIPRouted = true
		}
		return
	}
	if t.st.Flow != nil || len(t.st.Suggested) > 0 || t.st.Survey {
		return
	}
	if conv := t.in.Conversation; conv != nil && (conv.Handoff != nil || conv.HumanActive) {
		return
	}
	t.st.VIPRouted = true
	b.handoff(t, ReasonVIP, "", "")
}

func (b *Bot) hoursText() string {
	h := b.hours
	if h.Open == "" {
		return "全天"
	}
	days := "每天"
	if len(h.Days) > 0 && len(h.Days) < 7 {
		names := []string{"", "一", "二", "三", "四", "五", "六", "日"}
		var parts []string
		for _, d := range h.Days {
			parts = append(parts, names[d])
		}
		days = "周" + strings.Join(parts, "、")
	}
	return fmt.Sprintf("%s %s-%s", days, h.Open, h.Close)
}

// rules tries the keyword rules in priority order.
func (b *Bot) rules(ctx context.Context, t *turn) bool {
	lower := strings.ToLower(b.kb.norm.foldWidth(t.in.Text))
	padded := " " + t.norm + " "
	for i := range b.kb.Rules {
		r := &b.kb.Rules[i]
		if !inScope(r.Channels, t.in.Channel) || (r.BusinessHoursOnly && !b.hours.Contains(t.now)) {
			continue
		}
		hit := false
		switch r.Match {
		case MatchExact:
			for _, k := range r.keywords {
				hit = hit || t.norm == k
			}
		case MatchContains:
			for _, k := range r.keywords {
				if isHanWord(strings.ReplaceAll(k, " ", "")) {
					hit = hit || strings.Contains(t.norm, k)
				} else {
					hit = hit || strings.Contains(padded, " "+k+" ")
				}
			}
		case MatchRegex:
			hit = r.re.MatchString(lower)
		}
		if !hit {
			continue
		}
		switch {
		case r.Flow != "":
			b.startFlow(ctx, t, r.Flow)
		case r.Survey:
			t.st.Survey = true
			t.out.Intent = IntentSurvey
			t.out.Confidence = 1
			t.out.Answered = true
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: "不客气～"}, b.SurveyPrompt())
		default:
			t.out.Intent = r.ID
			t.out.Confidence = 1
			t.out.Answered = true
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: r.Answer})
		}
		t.st.Low = 0
		return true
	}
	return false
}

// faq answers from the knowledge base, suggests, clarifies or hands off.
func (b *Bot) faq(ctx context.Context, t *turn) {
	cands := b.kb.Search(t.in.Text, t.in.Channel, 3)
	var top Candidate
	if len(cands) > 0 {
		top = cands[0]
	}
	if top.Confidence >= b.th.Answer {
		b.answerFAQ(t, top.ID, top.Confidence)
		return
	}
	if b.orderID(t.in.Text) != "" {
		b.startFlow(ctx, t, FlowOrderStatus)
		return
	}
	if b.llm(ctx, t, cands) {
		return
	}
	if top.Confidence >= b.th.Suggest && t.st.Low == 0 {
		var menu []domain.MenuItem
		var ids []string
		for _, c := range cands {
			if c.Confidence < b.th.Suggest/2 {
				continue
			}
			menu = append(menu, domain.MenuItem{ID: "faq:" + c.ID, Text: c.Question})
			ids = append(ids, c.ID)
		}
		t.st.Suggested = ids
		reply := domain.Reply{Text: b.kb.Messages.Suggest, Menu: menu, MenuTail: b.kb.Messages.SuggestTail}
		b.lowTurn(t, IntentSuggest, top.Confidence, []domain.Reply{reply}, true)
		return
	}
	b.lowTurn(t, IntentUnknown, top.Confidence, []domain.Reply{{Text: b.kb.Messages.Clarify}}, true)
}

// lowTurn records a turn the bot could not answer: the first one clarifies,
// the second in a row hands off.
func (b *Bot) lowTurn(t *turn, intent string, conf float64, replies []domain.Reply, clarify bool) {
	t.out.Intent = intent
	t.out.Confidence = conf
	t.out.Answered = false
	t.st.Low++
	if t.st.Low >= 2 {
		t.st.Suggested = nil
		b.handoff(t, ReasonLowConfidence, intent, "抱歉，这个问题我暂时回答不好，")
		return
	}
	t.out.Clarified = clarify
	t.out.Replies = append(t.out.Replies, replies...)
}

// answerFAQ replies with one FAQ entry.
func (b *Bot) answerFAQ(t *turn, id string, conf float64) {
	f, _ := b.kb.Entry(id)
	t.out.Intent = f.ID
	t.out.Confidence = conf
	t.out.Answered = true
	t.st.Low = 0
	t.st.Suggested = nil
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: f.Answer})
}

// llm asks the optional LLM with the retrieved passages.
func (b *Bot) llm(ctx context.Context, t *turn, cands []Candidate) bool {
	if b.ports.LLM == nil || len(cands) == 0 || cands[0].Confidence < b.th.Suggest/2 {
		return false
	}
	var passages []string
	for _, c := range cands {
		f, _ := b.kb.Entry(c.ID)
		passages = append(passages, f.Question+"\n"+f.Answer)
	}
	ctx, cancel := context.WithTimeout(ctx, b.th.LLMTimeout)
	defer cancel()
	ans, err := b.ports.LLM.Answer(ctx, t.in.Text, passages, t.in.Customer)
	ans = strings.TrimSpace(ans)
	if err != nil || ans == "" {
		return false
	}
	t.out.Intent = IntentLLM
	t.out.Confidence = cands[0].Confidence
	t.out.Answered = true
	t.st.Low = 0
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: ans})
	return true
}

// Welcome greets a customer entering a session: by name when the CRM knows
// them, mentioning an open order or deal, with a menu of common tasks.
func (b *Bot) Welcome(in Input) []domain.Reply {
	m := b.kb.Messages
	name := ""
	if c := in.Customer; c != nil && c.Contact.Name != "" {
		name = c.Contact.Name
	} else if in.Conversation != nil && in.Conversation.CustomerName != "" {
		name = in.Conversation.CustomerName
	}
	text := strings.NewReplacer("{name}", name, "{business}", m.Business).Replace(m.Welcome)
	if c := in.Customer; c != nil {
		if o, ok := openOrder(c.Orders); ok {
			text += "\n" + b.orderSentence(o, "您的订单")
		} else if d, ok := openDeal(c.Deals); ok {
			who := "我们的顾问"
			if c.Contact.OwnerName != "" {
				who = "您的顾问" + c.Contact.OwnerName
			}
			text += fmt.Sprintf("\n关于「%s」，%s会继续为您跟进。", d.Name, who)
		}
	}
	return []domain.Reply{{
		Text: text,
		Menu: []domain.MenuItem{
			{ID: "flow:" + FlowOrderStatus, Text: "查询订单"},
			{ID: "flow:" + FlowAppointment, Text: "预约到店"},
			{ID: "faq:invoice_how", Text: "开发票"},
			{ID: MenuHuman, Text: "人工客服"},
		},
	}}
}

// closed order statuses (lower case).
var closedStatus = map[string]bool{"delivered": true, "completed": true, "done": true, "cancelled": true,
	"canceled": true, "refunded": true, "closed": true, "已签收": true, "已完成": true, "已取消": true}

func openOrder(orders []domain.Order) (domain.Order, bool) {
	var best domain.Order
	found := false
	for _, o := range orders {
		if closedStatus[strings.ToLower(o.Status)] {
			continue
		}
		if !found || o.Updated.After(best.Updated) {
			best, found = o, true
		}
	}
	return best, found
}

func openDeal(deals []domain.Deal) (domain.Deal, bool) {
	for _, d := range deals {
		s := strings.ToLower(d.Stage)
		if strings.Contains(s, "won") || strings.Contains(s, "lost") || strings.Contains(s, "closed") {
			continue
		}
		return d, true
	}
	return domain.Deal{}, false
}
