package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/event"
)

// contactChange handles change_external_contact: a rep added a client. The
// welcome message must go out within 20 s of the event, so the CRM lookup
// is bounded by the CRM adapter's timeout and falls back to a default text.
func (w *Worker) contactChange(ctx context.Context, ch Channel, m event.Message) error {
	log := w.logger(ctx).With("change_type", m.ChangeType, "userid", m.UserID, "external_userid", m.ExternalUserID)
	switch m.ChangeType {
	case "add_external_contact", "add_half_external_contact":
	default:
		log.Info("worker: external contact change recorded")
		return nil
	}
	if m.WelcomeCode == "" || ch.Contacts == nil {
		log.Info("worker: no welcome code (or no contact secret); nothing to send")
		return nil
	}
	id := crm.Identity{ExternalUserID: m.ExternalUserID, FollowUserID: m.UserID}
	if ec, err := ch.Contacts.GetExternalContact(ctx, m.ExternalUserID); err != nil {
		log.Warn("worker: externalcontact/get failed; welcoming without details", "err", err)
	} else {
		id.Name, id.UnionID, id.Company = ec.Name, ec.UnionID, ec.CorpName
		for _, f := range ec.FollowUsers {
			if f.UserID == m.UserID {
				id.Phones = f.RemarkMobiles
				if f.RemarkCorpName != "" {
					id.Company = f.RemarkCorpName
				}
			}
		}
	}
	customer := w.customerContext(ctx, id, "")
	in := bot.Input{Now: w.cfg.Now(), Channel: ch.Name, Customer: customer}
	var texts []string
	for _, r := range w.cfg.Brain.Welcome(in) {
		texts = append(texts, r.Text)
	}
	text := strings.Join(texts, "\n")
	if text == "" {
		text = "您好，很高兴为您服务！有任何问题都可以直接留言给我。"
	}
	err := ch.Contacts.SendWelcomeMsg(ctx, m.WelcomeCode, text)
	switch {
	case errors.Is(err, wecom.ErrChatStarted):
		log.Info("worker: welcome skipped, the chat already started")
		return nil
	case errors.Is(err, domain.ErrInvalid):
		log.Warn("worker: welcome code rejected (expired?)", "err", err)
		return nil
	case err != nil:
		return fmt.Errorf("worker: send_welcome_msg: %w", err)
	}
	known := customer != nil
	log.Info("worker: welcome sent", "known_customer", known)
	w.record(ctx, Event{Channel: ch.Name, Kind: "welcome", Reason: map[bool]string{true: "known", false: "new"}[known]})
	return nil
}
