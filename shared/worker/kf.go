package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/wecom"
)

// kf send window (wecom-protocol.md §3.3).
const (
	kfMaxPerCustomerMsg = 5
	kfWindow            = 48 * time.Hour
	kfMaxPages          = 50 // bound one sync; the rest is pulled by the next event
)

// syncKf pulls everything new for one kf account, under a lease so that one
// worker syncs an account at a time, from the stored cursor.
func (w *Worker) syncKf(ctx context.Context, ch Channel, openKfID, token string, received time.Time) error {
	log := w.logger(ctx).With("open_kfid", openKfID)
	lease := "kf:" + ch.Name + ":" + openKfID
	owner := newOwner()
	if err := w.acquire(ctx, lease, owner); err != nil {
		return err
	}
	defer func() {
		// Release even when ctx is done; a failed release just lets the lease expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := w.cfg.State.Release(rctx, lease, owner); err != nil && !errors.Is(err, store.ErrNotOwner) {
			log.Warn("worker: release kf lease", "err", err)
		}
	}()

	cursorKey := "kfcursor:" + ch.Name + ":" + openKfID
	cursor, version, err := w.loadCursor(ctx, cursorKey)
	if err != nil {
		return err
	}
	for page := 0; page < kfMaxPages; page++ {
		resp, err := ch.Kf.SyncMsg(ctx, wecom.SyncMsgRequest{Cursor: cursor, Token: token, Limit: 1000, OpenKfID: openKfID})
		if errors.Is(err, wecom.ErrSyncTokenInvalid) && token != "" {
			log.Info("worker: sync token expired, pulling without it")
			token = ""
			page--
			continue
		}
		if err != nil {
			return fmt.Errorf("worker: sync_msg %s: %w", openKfID, err)
		}
		for _, m := range resp.MsgList {
			if err := w.processKf(ctx, ch, m, received); err != nil {
				return err
			}
		}
		if resp.NextCursor != "" && resp.NextCursor != cursor {
			version, err = w.saveCursor(ctx, cursorKey, resp.NextCursor, version)
			if err != nil {
				return err
			}
			cursor = resp.NextCursor
		}
		if err := w.cfg.State.Renew(ctx, lease, owner, w.cfg.LeaseTTL); err != nil {
			return fmt.Errorf("worker: lost kf lease mid-sync (another worker took over): %w", err)
		}
		if resp.HasMore != 1 {
			return nil
		}
	}
	log.Warn("worker: sync stopped after max pages; the next event continues from the cursor")
	return nil
}

// acquire takes the lease, waiting up to LeaseWait while another worker
// holds it. If it stays busy the error makes the queue retry this event
// later, so the event is not lost: the retry syncs whatever is new.
func (w *Worker) acquire(ctx context.Context, lease, owner string) error {
	deadline := time.Now().Add(w.cfg.LeaseWait)
	for {
		ok, err := w.cfg.State.Acquire(ctx, lease, owner, w.cfg.LeaseTTL)
		if err != nil {
			return fmt.Errorf("worker: acquire %s: %w", lease, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("worker: %s is busy; retry later: %w", lease, domain.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

type cursorValue struct {
	Cursor string `json:"cursor"`
}

func (w *Worker) loadCursor(ctx context.Context, key string) (string, int64, error) {
	rec, err := w.cfg.State.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("worker: load cursor: %w", err)
	}
	var v cursorValue
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return "", rec.Version, nil // unreadable: start over; processed messages are marked done
	}
	return v.Cursor, rec.Version, nil
}

func (w *Worker) saveCursor(ctx context.Context, key, cursor string, version int64) (int64, error) {
	b, _ := json.Marshal(cursorValue{Cursor: cursor}) // plain struct: cannot fail
	v, err := w.cfg.State.Put(ctx, key, b, version, 0)
	if err != nil {
		return version, fmt.Errorf("worker: save cursor: %w", err)
	}
	return v, nil
}

// processKf handles one pulled message exactly once.
func (w *Worker) processKf(ctx context.Context, ch Channel, m wecom.KfMsg, received time.Time) error {
	if m.MsgID == "" {
		return nil
	}
	doneKey := "done:kf:" + ch.Name + ":" + m.MsgID
	done, err := w.isDone(ctx, doneKey)
	if err != nil || done {
		return err
	}
	switch {
	case m.MsgType == "event" && m.Event != nil:
		err = w.kfEvent(ctx, ch, m)
	case m.Origin == wecom.OriginCustomer:
		err = w.customerMessage(ctx, ch, m, received)
	case m.Origin == wecom.OriginServicer && m.ServicerUserID != "":
		// A person wrote from the WeCom client. (Our own API sends can come
		// back with origin 5 too, but without a servicer: ignored.)
		err = w.servicerMessage(ctx, ch, m)
	default:
		// System messages and our own API sends come back here: nothing to do.
	}
	if err != nil {
		return err
	}
	return w.markDone(ctx, doneKey)
}

func kfPeer(openKfID, externalUserID string) string { return openKfID + "/" + externalUserID }

// customerText turns a pulled message into what the bot reads and the
// transcript shows.
func customerText(m wecom.KfMsg) (text, menuID string) {
	switch {
	case m.Text != nil:
		return strings.TrimSpace(m.Text.Content), m.Text.MenuID
	case m.Location != nil:
		return fmt.Sprintf("[位置] %s %s", m.Location.Name, m.Location.Address), ""
	case m.Link != nil:
		return "[链接] " + m.Link.Title, ""
	case m.MiniProgram != nil:
		return "[小程序] " + m.MiniProgram.Title, ""
	default:
		return "[" + m.MsgType + "]", ""
	}
}

func (w *Worker) customerMessage(ctx context.Context, ch Channel, m wecom.KfMsg, received time.Time) error {
	log := w.logger(ctx).With("external_userid", m.ExternalUserID, "msgid", m.MsgID)
	now := w.cfg.Now()
	sent := time.Unix(m.SendTime, 0)
	if m.SendTime == 0 {
		sent = now
	}
	text, menuID := customerText(m)
	peer := kfPeer(m.OpenKfID, m.ExternalUserID)

	var out bot.Output
	var replies []domain.Turn
	var alreadyRan, toHuman bool
	contactID, err := w.knownContactID(ctx, ch.Name, peer)
	if err != nil {
		return err
	}
	var id crm.Identity
	if contactID == "" {
		id = w.kfIdentity(ctx, ch, m.ExternalUserID)
	}
	customer := w.customerContext(ctx, id, contactID)
	conv, err := w.updateConv(ctx, ch.Name, peer, func(c *domain.Conversation) {
		c.CorpID, c.OpenKfID, c.ExternalUserID = ch.CorpID, m.OpenKfID, m.ExternalUserID
	}, func(c *domain.Conversation) error {
		replies, alreadyRan, toHuman = nil, false, false
		// Processed before a crash? Then only re-send its replies.
		for i, t := range c.Turns {
			if t.Role == domain.RoleCustomer && t.MsgID == m.MsgID {
				alreadyRan = true
				for _, r := range c.Turns[i+1:] {
					if r.Role == domain.RoleBot && strings.HasPrefix(r.MsgID, replyPrefix(m.MsgID)) {
						replies = append(replies, r)
					}
				}
				return nil
			}
		}
		if customer != nil {
			c.ContactID = customer.Contact.ID
			c.CustomerName = customer.Contact.Name
		}
		first := len(c.Turns) == 0
		c.LastActivity, c.LastCustomerAt, c.SentSinceCustomer = now, sent, 0
		turn := domain.Turn{At: sent, Role: domain.RoleCustomer, Name: c.CustomerName, MsgID: m.MsgID, Text: text}
		if c.HumanActive {
			toHuman = true
			c.Turns = append(c.Turns, turn)
			return nil // a person is handling it: the bot stays silent
		}
		in := bot.Input{Now: now, Channel: ch.Name, Text: text, MenuID: menuID, Conversation: c, Customer: customer}
		var err error
		out, err = w.cfg.Brain.Respond(ctx, in)
		if err != nil {
			return fmt.Errorf("worker: bot: %w", err)
		}
		turn.Intent, turn.Confidence, turn.Answered, turn.Sentiment = out.Intent, out.Confidence, out.Answered, out.Sentiment
		c.Turns = append(c.Turns, turn)
		c.BotState = out.State
		if out.Satisfaction > 0 {
			c.Satisfaction = out.Satisfaction
		}
		msgs := out.Replies
		if first && knownName(customer, m.ExternalUserID) && out.Handoff == nil {
			msgs = append(w.cfg.Brain.Welcome(in), msgs...)
		}
		for i, r := range msgs {
			if i >= kfMaxPerCustomerMsg-1 { // keep one slot for a handoff notice
				break
			}
			t := domain.Turn{At: now, Role: domain.RoleBot, MsgID: wecom.ReplyMsgID(m.MsgID, i), Text: r.Text,
				Menu: r.Menu, MenuTail: r.MenuTail}
			replies = append(replies, t)
			c.Turns = append(c.Turns, t)
		}
		if out.Handoff != nil {
			h := *out.Handoff
			if h.At.IsZero() {
				h.At = now
			}
			c.Handoff = &h
			c.HumanActive = true
		}
		if out.End {
			c.EndReason = "completed"
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Send (or re-send, idempotently by msgid) the replies.
	for _, t := range replies {
		if err := w.sendKf(ctx, ch, conv, t); err != nil {
			if errors.Is(err, wecom.ErrSendLimit) || errors.Is(err, wecom.ErrSessionState) {
				log.Warn("worker: kf send refused by WeCom; reply dropped", "err", err)
				break
			}
			return err
		}
	}
	if alreadyRan {
		return nil
	}
	log.Debug("worker: customer message handled", "text", w.redact(text), "intent", out.Intent,
		"confidence", out.Confidence, "replies", len(replies), "to_human", toHuman)
	// A message a person handles counts as answered; it is not the bot's miss.
	w.record(ctx, Event{Channel: ch.Name, Kind: "message_in", Intent: out.Intent, Confidence: out.Confidence,
		Answered: out.Answered || toHuman, Clarified: out.Clarified, Text: text, Sentiment: out.Sentiment})
	if len(replies) > 0 && !received.IsZero() {
		w.record(ctx, Event{Channel: ch.Name, Kind: "message_out", Latency: w.cfg.Now().Sub(received)})
	}
	if out.Satisfaction > 0 {
		w.record(ctx, Event{Channel: ch.Name, Kind: "csat", Score: out.Satisfaction})
	}
	if out.Handoff != nil {
		if err := w.handoff(ctx, ch, conv, customer); err != nil {
			return err
		}
	}
	if out.End {
		return w.endConversation(ctx, ch, peer, "completed")
	}
	return nil
}

func replyPrefix(inbound string) string {
	p := wecom.ReplyMsgID(inbound, 0)
	return p[:len(p)-1]
}

// sendKf sends one bot turn, within the kf send window.
func (w *Worker) sendKf(ctx context.Context, ch Channel, c domain.Conversation, t domain.Turn) error {
	if !c.LastCustomerAt.IsZero() && w.cfg.Now().Sub(c.LastCustomerAt) > kfWindow {
		return fmt.Errorf("worker: outside the 48 h window: %w", wecom.ErrSendLimit)
	}
	msg := wecom.ReplyToKf(domain.Reply{Text: t.Text, Menu: t.Menu, MenuTail: t.MenuTail})
	msg.ToUser, msg.OpenKfID, msg.MsgID = c.ExternalUserID, c.OpenKfID, t.MsgID
	if _, err := ch.Kf.SendMsg(ctx, msg); err != nil {
		return fmt.Errorf("worker: send_msg: %w", err)
	}
	return nil
}

// handoff moves the session to the owner rep (state 3) or the agent pool
// (state 2) and gives the human the context.
func (w *Worker) handoff(ctx context.Context, ch Channel, c domain.Conversation, customer *domain.CustomerContext) error {
	h := c.Handoff
	state, servicer := wecom.StatePool, ""
	if h.To != "" && h.To != "pool" {
		state, servicer = wecom.StateServicer, h.To
	}
	// The msg_code it returns is not needed: the handoff notice went out as a bot reply.
	_, err := ch.Kf.TransServiceState(ctx, c.OpenKfID, c.ExternalUserID, state, servicer)
	if err != nil && state == wecom.StateServicer {
		// The owner may not be a servicer of this account: fall back to the pool.
		w.logger(ctx).Warn("worker: handoff to owner failed, using the pool", "err", err)
		state, servicer = wecom.StatePool, ""
		_, err = ch.Kf.TransServiceState(ctx, c.OpenKfID, c.ExternalUserID, state, "")
	}
	if err != nil && !errors.Is(err, wecom.ErrSessionState) {
		return fmt.Errorf("worker: service_state/trans: %w", err)
	}
	w.record(ctx, Event{Channel: ch.Name, Kind: "handoff", Reason: h.Reason})
	if ch.App != nil && servicer != "" {
		card := handoffCard(c, customer, h.Reason)
		if _, err := ch.App.SendAppMessage(ctx, wecom.AppMessage{AgentID: ch.AgentID, ToUser: []string{servicer}, Markdown: card}); err != nil {
			w.logger(ctx).Warn("worker: handoff card not delivered", "err", err)
		}
	}
	return nil
}

func handoffCard(c domain.Conversation, customer *domain.CustomerContext, reason string) string {
	var b strings.Builder
	name := c.CustomerName
	if name == "" {
		name = c.ExternalUserID
	}
	fmt.Fprintf(&b, "### 转人工：%s\n> 原因：<font color=\"warning\">%s</font>\n", name, reason)
	if customer != nil {
		ct := customer.Contact
		fmt.Fprintf(&b, "> 公司：%s　阶段：%s\n", ct.Company, ct.Stage)
		for i, d := range customer.Deals {
			if i == 2 {
				break
			}
			fmt.Fprintf(&b, "> 商机：%s（%s，%.0f）\n", d.Name, d.Stage, d.Amount)
		}
		for i, o := range customer.Orders {
			if i == 2 {
				break
			}
			fmt.Fprintf(&b, "> 订单：%s %s\n", o.ID, o.Status)
		}
	}
	b.WriteString("\n最近的消息：\n")
	start := max(0, len(c.Turns)-5)
	for _, t := range c.Turns[start:] {
		who := "客户"
		if t.Role == domain.RoleBot {
			who = "机器人"
		}
		fmt.Fprintf(&b, "> %s：%s\n", who, truncate(t.Text, 80))
	}
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func (w *Worker) servicerMessage(ctx context.Context, ch Channel, m wecom.KfMsg) error {
	text, _ := customerText(m)
	_, err := w.updateConv(ctx, ch.Name, kfPeer(m.OpenKfID, m.ExternalUserID), func(c *domain.Conversation) {
		c.CorpID, c.OpenKfID, c.ExternalUserID = ch.CorpID, m.OpenKfID, m.ExternalUserID
	}, func(c *domain.Conversation) error {
		for _, t := range c.Turns {
			if t.MsgID == m.MsgID {
				return nil
			}
		}
		c.HumanActive, c.ServicerUserID = true, m.ServicerUserID
		c.LastActivity = w.cfg.Now()
		c.Turns = append(c.Turns, domain.Turn{At: time.Unix(m.SendTime, 0), Role: domain.RoleAgent, Name: m.ServicerUserID, MsgID: m.MsgID, Text: text})
		return nil
	})
	return err
}

// kfEvent handles kf system events.
func (w *Worker) kfEvent(ctx context.Context, ch Channel, m wecom.KfMsg) error {
	ev := m.Event
	log := w.logger(ctx).With("event_type", ev.EventType, "external_userid", ev.ExternalUserID)
	openKfID := ev.OpenKfID
	if openKfID == "" {
		openKfID = m.OpenKfID
	}
	peer := kfPeer(openKfID, ev.ExternalUserID)
	switch ev.EventType {
	case wecom.EventEnterSession:
		if ev.WelcomeCode == "" {
			return nil
		}
		customer := w.customerContext(ctx, w.kfIdentity(ctx, ch, ev.ExternalUserID), "")
		in := bot.Input{Now: w.cfg.Now(), Channel: ch.Name, Customer: customer}
		welcome := w.cfg.Brain.Welcome(in)
		if len(welcome) == 0 {
			return nil
		}
		msg := wecom.ReplyToKf(welcome[0])
		msg.MsgID = wecom.ReplyMsgID(m.MsgID, 0)
		if _, err := ch.Kf.SendMsgOnEvent(ctx, ev.WelcomeCode, msg); err != nil {
			if errors.Is(err, domain.ErrInvalid) {
				log.Warn("worker: welcome code no longer usable", "err", err)
				return nil
			}
			return fmt.Errorf("worker: send_msg_on_event: %w", err)
		}
		_, err := w.updateConv(ctx, ch.Name, peer, func(c *domain.Conversation) {
			c.CorpID, c.OpenKfID, c.ExternalUserID = ch.CorpID, openKfID, ev.ExternalUserID
		}, func(c *domain.Conversation) error {
			if customer != nil {
				c.ContactID, c.CustomerName = customer.Contact.ID, customer.Contact.Name
			}
			c.LastActivity = w.cfg.Now()
			c.Turns = append(c.Turns, domain.Turn{At: w.cfg.Now(), Role: domain.RoleBot, MsgID: msg.MsgID, Text: welcome[0].Text})
			return nil
		})
		return err
	case wecom.EventSessionStatusChange:
		switch ev.ChangeType {
		case 1, 2: // picked from the pool / transferred: a person is on it
			_, err := w.updateExisting(ctx, ch.Name, peer, func(c *domain.Conversation) {
				c.HumanActive, c.ServicerUserID = true, ev.NewServicerUserID
				c.Turns = append(c.Turns, domain.Turn{At: w.cfg.Now(), Role: domain.RoleSystem, Text: "接入人工：" + ev.NewServicerUserID})
			})
			return err
		case 3: // ended by the servicer: ask for satisfaction, then close
			if ev.MsgCode != "" {
				msg := wecom.ReplyToKf(w.cfg.Brain.SurveyPrompt())
				if _, err := ch.Kf.SendMsgOnEvent(ctx, ev.MsgCode, msg); err != nil && !errors.Is(err, domain.ErrInvalid) {
					return fmt.Errorf("worker: survey: %w", err)
				}
			}
			return w.endConversation(ctx, ch, peer, "session_ended")
		case 4: // re-opened
			_, err := w.updateExisting(ctx, ch.Name, peer, func(c *domain.Conversation) { c.HumanActive = false })
			return err
		}
	case wecom.EventMsgSendFail:
		log.Warn("worker: kf message could not be delivered", "fail_msgid", ev.FailMsgID, "fail_type", ev.FailType)
	default:
		log.Debug("worker: kf event ignored")
	}
	return nil
}

// updateExisting changes the peer's active conversation, if any.
func (w *Worker) updateExisting(ctx context.Context, channel, peer string, fn func(*domain.Conversation)) (bool, error) {
	key := StoreKey(channel, peer)
	for attempt := 0; attempt < 8; attempt++ {
		rec, err := w.cfg.State.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("worker: load conversation: %w", err)
		}
		var c domain.Conversation
		if err := json.Unmarshal(rec.Value, &c); err != nil || c.Ended {
			return false, nil
		}
		fn(&c)
		c.LastActivity = w.cfg.Now()
		b, err := json.Marshal(c)
		if err != nil {
			return false, err
		}
		if _, err := w.cfg.State.Put(ctx, key, b, rec.Version, w.cfg.NoteIdle+24*time.Hour); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return false, fmt.Errorf("worker: save conversation: %w", err)
		}
		return true, nil
	}
	return false, errRetryCAS
}

// endConversation ends the peer's active conversation and queues its note.
func (w *Worker) endConversation(ctx context.Context, ch Channel, peer, reason string) error {
	key := StoreKey(ch.Name, peer)
	for attempt := 0; attempt < 8; attempt++ {
		rec, err := w.cfg.State.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("worker: load conversation: %w", err)
		}
		var c domain.Conversation
		if err := json.Unmarshal(rec.Value, &c); err != nil || c.Ended {
			return nil
		}
		c.EndReason = reason
		if err := w.queueNote(ctx, &c, reason, w.cfg.Now()); err != nil {
			return err
		}
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := w.cfg.State.Put(ctx, key, b, rec.Version, w.cfg.NoteIdle+24*time.Hour); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return fmt.Errorf("worker: save conversation: %w", err)
		}
		w.record(ctx, Event{Channel: ch.Name, Kind: "conversation_end", Reason: reason})
		return nil
	}
	return errRetryCAS
}

// customerContext looks the customer up in the CRM; nil when unknown,
// unavailable or not configured (the bot then answers generically). With a
// known contactID only the (cached) context is read. Whether an unknown
// customer becomes a new CRM contact is the CRM cache's CreateContacts option.
func (w *Worker) customerContext(ctx context.Context, id crm.Identity, contactID string) *domain.CustomerContext {
	if w.cfg.Customers == nil || (id.ExternalUserID == "" && contactID == "") {
		return nil
	}
	log := w.logger(ctx)
	var contact domain.Contact
	if contactID == "" {
		var err error
		contact, err = w.cfg.Customers.FindContact(ctx, id)
		if err != nil {
			if !errors.Is(err, domain.ErrNotFound) {
				log.Warn("worker: CRM lookup failed; answering without personalisation", "err", err)
			}
			return nil
		}
		contactID = contact.ID
	}
	cc, err := w.cfg.Customers.Context(ctx, contactID)
	if err != nil {
		log.Warn("worker: CRM context failed; answering without personalisation", "err", err)
		if contact.ID == "" {
			return nil
		}
		return &domain.CustomerContext{Contact: contact}
	}
	return &cc
}

// kfIdentity is what WeCom tells about a kf customer, for the CRM look-up
// (and for creating the contact with a real name).
func (w *Worker) kfIdentity(ctx context.Context, ch Channel, externalUserID string) crm.Identity {
	id := crm.Identity{ExternalUserID: externalUserID}
	list, err := ch.Kf.BatchGetCustomers(ctx, []string{externalUserID})
	if err != nil {
		w.logger(ctx).Warn("worker: customer/batchget failed; looking up by id only", "err", err)
		return id
	}
	for _, c := range list {
		if c.ExternalUserID == externalUserID {
			id.Name, id.UnionID = c.Nickname, c.UnionID
		}
	}
	return id
}

// knownName reports whether the contact has a real name to greet.
func knownName(cc *domain.CustomerContext, externalUserID string) bool {
	return cc != nil && cc.Contact.Name != "" && cc.Contact.Name != externalUserID
}
