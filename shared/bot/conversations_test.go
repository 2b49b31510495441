package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/bot/bottest"
	"wecom-crm-bot/shared/domain"
)

// fakeOrders serves the script's orders with the phone of their contact;
// "ZZ…" ids fail as unavailable.
type fakeOrders map[string]phoneOrder

type phoneOrder struct {
	phone string
	order domain.Order
}

func (f fakeOrders) Order(ctx context.Context, id string) (domain.Order, error) {
	if strings.HasPrefix(id, "ZZ") {
		return domain.Order{}, fmt.Errorf("fake orders: %w", domain.ErrUnavailable)
	}
	o, ok := f[id]
	if !ok {
		return domain.Order{}, fmt.Errorf("fake orders: %s: %w", id, domain.ErrNotFound)
	}
	return o.order, nil
}

func (f fakeOrders) VerifyOrder(ctx context.Context, id, phone string) (domain.Order, error) {
	if !strings.HasPrefix(phone, "+861") || len(phone) != 14 {
		return domain.Order{}, fmt.Errorf("fake orders: phone %q not E.164: %w", phone, domain.ErrInvalid)
	}
	o, err := f.Order(ctx, id)
	if err != nil {
		return o, err
	}
	if f[id].phone != phone {
		return domain.Order{}, fmt.Errorf("fake orders: %s: %w", id, domain.ErrNotFound)
	}
	return o, nil
}

type fakeBooker struct{ tasks []domain.Task }

func (f *fakeBooker) Book(ctx context.Context, t domain.Task) error {
	if t.Due.IsZero() || t.Key == "" || t.Subject == "" {
		return fmt.Errorf("fake booker: incomplete task: %w", domain.ErrInvalid)
	}
	f.tasks = append(f.tasks, t)
	return nil
}

func TestConversations(t *testing.T) {
	scripts := bottest.Load(t, "testdata/conversations")
	if len(scripts) < 30 {
		t.Errorf("only %d scripted conversations, want ≥ 30", len(scripts))
	}
	kb := bot.DefaultKnowledge()
	for file, s := range scripts {
		t.Run(file, func(t *testing.T) {
			runScript(t, kb, s)
		})
	}
}

func runScript(t *testing.T, kb *bot.Knowledge, s bottest.Script) {
	t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2025, 11, 26, 10, 0, 0, 0, loc)
	if s.Start != "" {
		var err error
		if now, err = time.Parse(time.RFC3339, s.Start); err != nil {
			t.Fatal(err)
		}
	}
	orders := fakeOrders{}
	booker := &fakeBooker{}
	var cust *domain.CustomerContext
	if c := s.Customer; c != nil {
		cust = &domain.CustomerContext{Contact: domain.Contact{ID: "c1", Name: c.Name, VIP: c.VIP,
			OwnerUserID: c.OwnerUserID, OwnerName: c.OwnerName, OwnerID: "o1"}, Orders: c.Orders}
		for _, o := range c.Orders {
			orders[o.ID] = phoneOrder{"+8613000000001", o}
		}
	}
	for _, so := range s.ShopOrders {
		orders[so.Order.ID] = phoneOrder{so.Phone, so.Order}
	}
	b := bot.New(kb, bot.Ports{Orders: orders, Appointments: booker}, bot.WithLocation(loc))
	conv := &domain.Conversation{Key: "kf:wm1:1", Channel: s.Channel, StartedAt: now}
	for i, turn := range s.Turns {
		if turn.After != 0 {
			now = now.Add(turn.After)
		} else {
			now = now.Add(time.Minute)
		}
		out, err := b.Respond(t.Context(), bot.Input{Now: now, Channel: s.Channel, Text: turn.Say,
			MenuID: turn.MenuID, Conversation: conv, Customer: cust})
		if err != nil {
			t.Fatalf("turn %d: %v", i+1, err)
		}
		var texts []string
		menus := map[string]bool{}
		for _, r := range out.Replies {
			texts = append(texts, r.Text)
			for _, m := range r.Menu {
				menus[m.ID] = true
			}
		}
		all := strings.Join(texts, "\n")
		where := fmt.Sprintf("turn %d %q → intent %s conf %.2f handoff %v replies %q", i+1, turn.Say+turn.MenuID,
			out.Intent, out.Confidence, out.Handoff, all)
		e := turn.Expect
		if e.Intent != "" && out.Intent != e.Intent {
			t.Errorf("%s: intent %q, want %q", where, out.Intent, e.Intent)
		}
		if e.Contains != "" && !strings.Contains(all, e.Contains) {
			t.Errorf("%s: replies lack %q", where, e.Contains)
		}
		if e.Lacks != "" && strings.Contains(all, e.Lacks) {
			t.Errorf("%s: replies contain %q", where, e.Lacks)
		}
		switch {
		case e.Handoff == "none" && out.Handoff != nil:
			t.Errorf("%s: unexpected handoff", where)
		case e.Handoff != "" && e.Handoff != "none" && (out.Handoff == nil || out.Handoff.Reason != e.Handoff):
			t.Errorf("%s: handoff %v, want %s", where, out.Handoff, e.Handoff)
		}
		for _, m := range e.Menu {
			if (m == "*" && len(menus) == 0) || (m != "*" && !menus[m]) {
				t.Errorf("%s: menu %v lacks %s", where, menus, m)
			}
		}
		if e.Flow != nil && bot.StateFlow(out.State) != *e.Flow {
			t.Errorf("%s: flow %q, want %q", where, bot.StateFlow(out.State), *e.Flow)
		}
		if e.Answered != nil && out.Answered != *e.Answered {
			t.Errorf("%s: answered %v, want %v", where, out.Answered, *e.Answered)
		}
		if e.Satisfaction != 0 && out.Satisfaction != e.Satisfaction {
			t.Errorf("%s: satisfaction %d, want %d", where, out.Satisfaction, e.Satisfaction)
		}
		if e.End && !out.End {
			t.Errorf("%s: conversation not ended", where)
		}
		if e.Booked != 0 && len(booker.tasks) != e.Booked {
			t.Errorf("%s: %d bookings, want %d", where, len(booker.tasks), e.Booked)
		}
		if len(out.Replies) == 0 || len(out.Replies) > 5 {
			t.Errorf("%s: %d replies", where, len(out.Replies))
		}
		// carry state as the worker would
		conv.BotState = out.State
		conv.Turns = append(conv.Turns, domain.Turn{At: now, Role: domain.RoleCustomer, Text: turn.Say, Intent: out.Intent})
		if out.Handoff != nil {
			conv.Handoff = out.Handoff
		}
	}
}
