package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot/zhdate"
	"wecom-crm-bot/shared/domain"
)

// Flow steps.
const (
	stepAwaitID    = "await_id"
	stepAwaitPhone = "await_phone"
	slotOrder      = "order"
	stepAwaitTime  = "await_time"
	stepConfirm    = "confirm"
)

// defaultStatuses translates common order statuses into Chinese.
var defaultStatuses = map[string]string{
	"pending": "待付款", "unpaid": "待付款", "paid": "已付款，等待发货", "processing": "备货中",
	"packed": "已打包，等待揽收", "shipped": "已发货", "in_transit": "运输中", "out_for_delivery": "派送中",
	"delivered": "已签收", "completed": "已完成", "cancelled": "已取消", "canceled": "已取消",
	"refunded": "已退款", "returned": "已退货",
}

var weekdayZh = [...]string{"日", "一", "二", "三", "四", "五", "六"}

// orderID finds an order number in text ("" if none).
func (b *Bot) orderID(text string) string {
	m := b.kb.Flows.OrderStatus.re.FindStringSubmatch(b.kb.norm.foldWidth(text))
	if m == nil {
		return ""
	}
	id := m[0]
	if len(m) > 1 && m[1] != "" {
		id = m[1]
	}
	return strings.ToUpper(strings.TrimSpace(id))
}

// startFlow begins flow name, using anything useful already in the message.
func (b *Bot) startFlow(ctx context.Context, t *turn, name string) {
	t.out.Intent = name
	t.out.Confidence = 1
	t.out.Answered = true
	t.st.Low = 0
	t.st.Suggested = nil
	t.st.Flow = &flowState{Name: name, Updated: t.now}
	switch name {
	case FlowOrderStatus:
		t.st.Flow.Step = stepAwaitID
		if id := b.orderID(t.in.Text); id != "" {
			b.lookupOrder(ctx, t, id)
			return
		}
		of := b.kb.Flows.OrderStatus
		if c := t.in.Customer; c != nil && len(c.Orders) > 0 {
			var menu []domain.MenuItem
			for _, o := range c.Orders {
				if len(menu) == 5 {
					break
				}
				label := o.ID
				if o.Item != "" {
					label += " " + o.Item
				}
				menu = append(menu, domain.MenuItem{ID: "order:" + o.ID, Text: label})
			}
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: of.Pick, Menu: menu, MenuTail: "也可以直接发送其他订单号。"})
			return
		}
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: of.Ask})
	case FlowAppointment:
		af := b.kb.Flows.Appointment
		if b.ports.Appointments == nil {
			t.st.Flow = nil
			t.out.Answered = false
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: af.Unavailable})
			return
		}
		t.st.Flow.Step = stepAwaitTime
		if when, ok := zhdate.Parse(t.in.Text, t.now, b.loc); ok {
			b.proposeTime(t, when)
			return
		}
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: af.Ask})
	}
}

// flowControl handles cancel and restart words while a flow runs.
func (b *Bot) flowControl(ctx context.Context, t *turn) bool {
	f := b.kb.Flows
	switch {
	case b.saysAny(t.norm, f.CancelWords, 8):
		t.st.Flow = nil
		t.out.Intent = IntentCancel
		t.out.Confidence = 1
		t.out.Answered = true
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.kb.Messages.Cancelled})
		return true
	case b.saysAny(t.norm, f.RestartWords, 8):
		name := t.st.Flow.Name
		t.st.Flow = nil
		t.in.Text = ""
		b.startFlow(ctx, t, name)
		return true
	}
	return false
}

// saysAny reports whether s is one of words, or a short message (≤ maxRunes)
// containing one of the multi-character Han words.
func (b *Bot) saysAny(s string, words []string, maxRunes int) bool {
	short := len([]rune(s)) <= maxRunes
	padded := " " + s + " "
	for _, w := range words {
		w = b.kb.norm.fold(w)
		if w == "" {
			continue
		}
		if s == w {
			return true
		}
		if !short {
			continue
		}
		if isHanWord(w) {
			if len([]rune(w)) >= 2 && strings.Contains(s, w) {
				return true
			}
		} else if strings.Contains(padded, " "+w+" ") {
			return true
		}
	}
	return false
}

// continueFlow feeds the message to the flow step in progress.
func (b *Bot) continueFlow(ctx context.Context, t *turn) bool {
	fl := t.st.Flow
	fl.Updated = t.now
	t.out.Intent = fl.Name
	switch fl.Name + "/" + fl.Step {
	case FlowOrderStatus + "/" + stepAwaitID:
		id := strings.TrimPrefix(t.in.MenuID, "order:")
		if id == t.in.MenuID {
			id = b.orderID(t.in.Text)
		}
		if id != "" {
			b.lookupOrder(ctx, t, id)
			return true
		}
		return b.unusable(ctx, t, b.kb.Flows.OrderStatus.Retry)
	case FlowOrderStatus + "/" + stepAwaitPhone:
		id := fl.Slots[slotOrder]
		phone, ok := mobileE164(t.in.Text)
		if !ok || id == "" {
			return b.unusable(ctx, t, strings.ReplaceAll(b.kb.Flows.OrderStatus.Verify, "{order}", id))
		}
		b.verifyOrder(ctx, t, id, phone)
		return true
	case FlowAppointment + "/" + stepAwaitTime:
		if when, ok := zhdate.Parse(t.in.Text, t.now, b.loc); ok {
			b.proposeTime(t, when)
			return true
		}
		return b.unusable(ctx, t, b.kb.Flows.Appointment.Retry)
	case FlowAppointment + "/" + stepConfirm:
		fw := b.kb.Flows
		switch {
		case t.in.MenuID == MenuNo || b.saysAny(t.norm, fw.NoWords, 6):
			fl.Step = stepAwaitTime
			fl.Retries = 0
			t.out.Answered = true
			t.out.Confidence = 1
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: fw.Appointment.AskAgain})
			return true
		case t.in.MenuID == MenuYes || b.saysAny(t.norm, fw.YesWords, 6):
			b.book(ctx, t)
			return true
		}
		if when, ok := zhdate.Parse(t.in.Text, t.now, b.loc); ok {
			b.proposeTime(t, when)
			return true
		}
		return b.unusable(ctx, t, "请回复“确认”或“换个时间”。")
	}
	t.st.Flow = nil // unknown step (older state format): drop it
	return false
}

// unusable handles a message a flow step cannot use: answer a confident FAQ
// question or a rule and keep (or leave) the flow, else ask again; too many
// tries hand off.
func (b *Bot) unusable(ctx context.Context, t *turn, again string) bool {
	if t.in.Text != "" {
		if c := b.kb.Search(t.in.Text, t.in.Channel, 1); len(c) > 0 && c[0].Confidence >= b.th.Answer {
			b.answerFAQ(t, c[0].ID, c[0].Confidence)
			t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.kb.Messages.FlowInterrupt})
			return true
		}
		saved := t.st.Flow
		t.st.Flow = nil
		if b.rules(ctx, t) {
			return true
		}
		t.st.Flow = saved
	}
	fl := t.st.Flow
	fl.Retries++
	t.out.Intent = fl.Name
	t.out.Answered = false
	if fl.Retries >= b.kb.Flows.MaxRetries {
		b.handoff(t, ReasonLowConfidence, fl.Name, "抱歉，我没能帮您办好，")
		return true
	}
	t.out.Clarified = true
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: again})
	return true
}

// lookupOrder answers the status of order id, scoped to the customer: a
// known customer only ever sees their own orders (Customer.Orders, with
// the status refreshed through the port); an unknown customer is asked
// for the phone number on the order, or handed to a person when the bot
// cannot verify it.
func (b *Bot) lookupOrder(ctx context.Context, t *turn, id string) {
	c := t.in.Customer
	if c == nil || c.Contact.ID == "" {
		b.askVerification(t, id)
		return
	}
	var (
		o   domain.Order
		err = domain.ErrNotFound
	)
	for _, co := range c.Orders {
		if strings.EqualFold(co.ID, id) {
			o, err = co, nil
		}
	}
	if err == nil && b.ports.Orders != nil {
		// fresher status; the context's copy stands when the look-up fails
		if fresh, ferr := b.ports.Orders.Order(ctx, o.ID); ferr == nil && strings.EqualFold(fresh.ID, o.ID) {
			o = fresh
		}
	}
	b.orderResult(t, id, o, err)
}

// askVerification starts verifying an unknown customer for order id.
func (b *Bot) askVerification(t *turn, id string) {
	of := b.kb.Flows.OrderStatus
	t.out.Intent = FlowOrderStatus
	t.out.Answered = false
	if b.ports.Orders == nil {
		t.st.Flow = nil
		b.handoff(t, ReasonVerify, FlowOrderStatus, of.VerifyHandoff)
		return
	}
	t.st.Flow = &flowState{Name: FlowOrderStatus, Step: stepAwaitPhone, Slots: map[string]string{slotOrder: id}, Updated: t.now}
	t.out.Clarified = true
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: strings.ReplaceAll(of.Verify, "{order}", id)})
}

// verifyOrder answers order id for an unknown customer who gave phone.
func (b *Bot) verifyOrder(ctx context.Context, t *turn, id, phone string) {
	o, err := b.ports.Orders.VerifyOrder(ctx, id, phone)
	if errors.Is(err, domain.ErrNotFound) {
		fl := t.st.Flow
		fl.Retries++
		t.out.Intent = FlowOrderStatus
		t.out.Answered = false
		if fl.Retries >= b.kb.Flows.MaxRetries {
			t.st.Flow = nil
			b.handoff(t, ReasonVerify, FlowOrderStatus, b.kb.Flows.OrderStatus.VerifyHandoff)
			return
		}
		t.out.Clarified = true
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: strings.ReplaceAll(b.kb.Flows.OrderStatus.VerifyFailed, "{order}", id)})
		return
	}
	b.orderResult(t, id, o, err)
}

// orderResult answers a look-up of order id that gave o or err.
func (b *Bot) orderResult(t *turn, id string, o domain.Order, err error) {
	of := b.kb.Flows.OrderStatus
	t.out.Intent = FlowOrderStatus
	switch {
	case err == nil:
		t.st.Flow = nil
		t.out.Answered = true
		t.out.Confidence = 1
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.orderSentence(o, "订单")})
	case errors.Is(err, domain.ErrNotFound):
		if t.st.Flow == nil {
			t.st.Flow = &flowState{Name: FlowOrderStatus, Step: stepAwaitID, Updated: t.now}
		}
		fl := t.st.Flow
		fl.Step = stepAwaitID
		fl.Retries++
		t.out.Answered = false
		if fl.Retries >= b.kb.Flows.MaxRetries {
			b.handoff(t, ReasonLowConfidence, FlowOrderStatus, "抱歉，没有查到这个订单，")
			return
		}
		t.out.Clarified = true
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: strings.ReplaceAll(of.NotFound, "{order}", id)})
	default:
		t.st.Flow = nil
		t.out.Answered = false
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.kb.Messages.Unavailable})
	}
}

// mobileE164 finds a mainland mobile number (11 digits starting with 1,
// optionally +86/86) in text and returns it in E.164.
func mobileE164(text string) (string, bool) {
	var digits []byte
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r >= '０' && r <= '９':
			digits = append(digits, byte('0'+r-'０'))
		case r == ' ' || r == '-' || r == '+' || r == '　':
		default:
			if len(digits) > 0 && len(digits) < 11 {
				digits = digits[:0] // digits of something else (a date, a price)
			}
		}
	}
	d := string(digits)
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' {
		return "", false
	}
	return "+86" + d, true
}

// orderSentence describes an order in one sentence.
func (b *Bot) orderSentence(o domain.Order, prefix string) string {
	status := o.Status
	if s, ok := b.kb.Flows.OrderStatus.Statuses[strings.ToLower(status)]; ok {
		status = s
	} else if s, ok := defaultStatuses[strings.ToLower(status)]; ok {
		status = s
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s", prefix, o.ID)
	if o.Item != "" {
		fmt.Fprintf(&sb, "（%s）", o.Item)
	}
	fmt.Fprintf(&sb, "当前状态：%s", status)
	if !o.ETA.IsZero() && !closedStatus[strings.ToLower(o.Status)] {
		fmt.Fprintf(&sb, "，预计 %s 送达", b.dateText(o.ETA))
	}
	sb.WriteString("。")
	return sb.String()
}

func (b *Bot) dateText(t time.Time) string {
	t = t.In(b.loc)
	return fmt.Sprintf("%d月%d日（周%s）", t.Month(), t.Day(), weekdayZh[t.Weekday()])
}

func (b *Bot) timeText(t time.Time) string {
	t = t.In(b.loc)
	return fmt.Sprintf("%s %02d:%02d", b.dateText(t), t.Hour(), t.Minute())
}

// proposeTime validates an appointment time and asks for confirmation.
func (b *Bot) proposeTime(t *turn, when time.Time) {
	fl := t.st.Flow
	af := b.kb.Flows.Appointment
	t.out.Intent = FlowAppointment
	if !when.After(t.now) {
		fl.Step = stepAwaitTime
		b.retryStep(t, af.Past)
		return
	}
	if !b.hours.Contains(when) {
		fl.Step = stepAwaitTime
		b.retryStep(t, strings.ReplaceAll(af.Closed, "{hours}", b.hoursText()))
		return
	}
	fl.Step = stepConfirm
	fl.Retries = 0
	if fl.Slots == nil {
		fl.Slots = map[string]string{}
	}
	fl.Slots["time"] = when.Format(time.RFC3339)
	t.out.Answered = true
	t.out.Confidence = 1
	t.out.Replies = append(t.out.Replies, domain.Reply{
		Text: strings.ReplaceAll(af.Confirm, "{time}", b.timeText(when)),
		Menu: []domain.MenuItem{{ID: MenuYes, Text: "确认"}, {ID: MenuNo, Text: "换个时间"}},
	})
}

// retryStep re-asks a step, handing off after too many tries.
func (b *Bot) retryStep(t *turn, again string) {
	fl := t.st.Flow
	fl.Retries++
	t.out.Answered = false
	if fl.Retries >= b.kb.Flows.MaxRetries+1 {
		b.handoff(t, ReasonLowConfidence, fl.Name, "抱歉，我没能帮您约好时间，")
		return
	}
	t.out.Clarified = true
	t.out.Replies = append(t.out.Replies, domain.Reply{Text: again})
}

// book creates the appointment through the port.
func (b *Bot) book(ctx context.Context, t *turn) {
	af := b.kb.Flows.Appointment
	when, err := time.Parse(time.RFC3339, t.st.Flow.Slots["time"])
	if err != nil {
		t.st.Flow.Step = stepAwaitTime
		b.retryStep(t, af.Ask)
		return
	}
	task := domain.Task{Subject: af.Subject, Due: when}
	owner := "我们的顾问"
	if c := t.in.Customer; c != nil {
		task.ContactID = c.Contact.ID
		task.OwnerID = c.Contact.OwnerID
		task.OwnerUserID = c.Contact.OwnerUserID
		if c.Contact.Name != "" {
			task.Subject += "：" + c.Contact.Name
		}
		if c.Contact.OwnerName != "" {
			owner = "您的顾问" + c.Contact.OwnerName
		}
	}
	key := "appointment"
	if conv := t.in.Conversation; conv != nil {
		key = conv.Key + ":" + key
		if task.ContactID == "" {
			task.Body = "客户：" + conv.CustomerName + "（" + conv.ExternalUserID + "）\n"
		}
	}
	task.Key = fmt.Sprintf("%s:%d", key, when.Unix())
	task.Body += fmt.Sprintf("渠道 %s 的客户通过智能助手预约了 %s。", t.in.Channel, b.timeText(when))
	t.st.Flow = nil
	t.out.Intent = FlowAppointment
	if err := b.ports.Appointments.Book(ctx, task); err != nil {
		t.out.Answered = false
		t.out.Replies = append(t.out.Replies, domain.Reply{Text: b.kb.Messages.Unavailable})
		return
	}
	t.out.Answered = true
	t.out.Confidence = 1
	t.out.Replies = append(t.out.Replies, domain.Reply{
		Text: strings.NewReplacer("{time}", b.timeText(when), "{owner}", owner).Replace(af.Booked),
	})
}
