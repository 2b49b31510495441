package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/event"
)

// StaffHandler answers a staff member's message to the self-built app
// (commands such as client look-up and tasks). ok is false when the text is
// not a staff command, and the bot answers instead.
type StaffHandler interface {
	Handle(ctx context.Context, userID, text string, now time.Time) (reply domain.Reply, ok bool, err error)
}

// SetStaff installs the staff command handler.
func (w *Worker) SetStaff(h StaffHandler) { w.staff = h }

// appMessage answers a member's message to the self-built app through
// message/send to the same member.
func (w *Worker) appMessage(ctx context.Context, ch Channel, m event.Message, received time.Time) error {
	if ch.App == nil {
		w.logger(ctx).Warn("worker: app message but no app secret configured; dropped")
		return nil
	}
	if m.MsgType != "text" {
		return nil
	}
	doneKey := "done:app:" + ch.Name + ":" + m.DedupeKey()
	if done, err := w.isDone(ctx, doneKey); err != nil || done {
		return err
	}
	text := strings.TrimSpace(m.Content)
	now := w.cfg.Now()
	var reply domain.Reply
	handled := false
	if w.staff != nil {
		r, ok, err := w.staff.Handle(ctx, m.FromUserName, text, now)
		if err != nil {
			return fmt.Errorf("worker: staff command: %w", err)
		}
		reply, handled = r, ok
	}
	if !handled {
		_, err := w.updateConv(ctx, ch.Name, "app/"+m.FromUserName, func(c *domain.Conversation) {
			c.CorpID, c.UserID = ch.CorpID, m.FromUserName
		}, func(c *domain.Conversation) error {
			c.LastActivity = now
			in := bot.Input{Now: now, Channel: ch.Name, Text: text, Conversation: c}
			out, err := w.cfg.Brain.Respond(ctx, in)
			if err != nil {
				return fmt.Errorf("worker: bot: %w", err)
			}
			c.BotState = out.State
			c.Turns = append(c.Turns, domain.Turn{At: now, Role: domain.RoleCustomer, Name: m.FromUserName, MsgID: m.MsgID, Text: text,
				Intent: out.Intent, Confidence: out.Confidence, Answered: out.Answered, Sentiment: out.Sentiment})
			var parts []string
			for _, r := range out.Replies {
				parts = append(parts, menuAsText(r))
			}
			reply = domain.Reply{Text: strings.Join(parts, "\n\n")}
			c.Turns = append(c.Turns, domain.Turn{At: now, Role: domain.RoleBot, Text: reply.Text})
			return nil
		})
		if err != nil {
			return err
		}
	}
	if reply.Text == "" {
		return w.markDone(ctx, doneKey)
	}
	msg := wecom.AppMessage{AgentID: ch.AgentID, ToUser: []string{m.FromUserName}}
	if reply.Markdown {
		msg.Markdown = reply.Text
	} else {
		msg.Text = reply.Text
	}
	if agent, err := strconv.ParseInt(m.AgentID, 10, 64); err == nil && agent > 0 {
		msg.AgentID = agent
	}
	if _, err := ch.App.SendAppMessage(ctx, msg); err != nil {
		return fmt.Errorf("worker: message/send: %w", err)
	}
	if !received.IsZero() {
		w.record(ctx, Event{Channel: ch.Name, Kind: "message_out", Latency: w.cfg.Now().Sub(received)})
	}
	return w.markDone(ctx, doneKey)
}

// menuAsText renders a menu reply as numbered text for channels without msgmenu.
func menuAsText(r domain.Reply) string {
	if len(r.Menu) == 0 {
		return r.Text
	}
	var b strings.Builder
	b.WriteString(r.Text)
	for i, it := range r.Menu {
		fmt.Fprintf(&b, "\n%d. %s", i+1, it.Text)
	}
	if r.MenuTail != "" {
		b.WriteString("\n" + r.MenuTail)
	}
	return b.String()
}
