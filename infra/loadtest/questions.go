package loadtest

import (
	"context"
	"fmt"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/domain"
)

// question is one customer message of the load and the FAQ answer the bot
// must give to it.
type question struct {
	Text, Answer string
}

// questionPool picks FAQ entries of the bundled demo knowledge that a fresh
// bot answers with the entry's own answer (no clarification, no handoff),
// so that "exactly one reply" has an exact expected text.
func questionPool(n int) ([]question, error) {
	kb := bot.DefaultKnowledge()
	b := bot.New(kb, bot.Ports{})
	var out []question
	for _, f := range kb.FAQ {
		out1, err := b.Respond(context.Background(), bot.Input{Now: time.Now(), Channel: "default", Text: f.Question,
			Conversation: &domain.Conversation{}})
		if err != nil || !out1.Answered || out1.Handoff != nil || len(out1.Replies) != 1 || out1.Replies[0].Text != f.Answer {
			continue
		}
		out = append(out, question{Text: f.Question, Answer: f.Answer})
		if len(out) == n {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loadtest: no FAQ entry of the demo knowledge is answered directly")
	}
	return out, nil
}
