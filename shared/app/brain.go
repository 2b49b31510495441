package app

import (
	"context"
	"sync"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/bot/llm"
	"wecom-crm-bot/shared/domain"
)

// liveBrain answers with the knowledge version currently published in the
// store, rebuilding the bot (and its FAQ index) only when the version
// changes, so an edit in the admin console reaches every function instance
// within the source's refresh interval, without a redeploy.
type liveBrain struct {
	src   *bot.KnowledgeSource
	build func(*bot.Knowledge) *bot.Bot

	mu      sync.Mutex
	version int64
	bot     *bot.Bot
}

func (l *liveBrain) current(ctx context.Context) (*bot.Bot, error) {
	kb, v, err := l.src.Current(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bot == nil || v != l.version {
		l.bot, l.version = l.build(kb), v
	}
	return l.bot, nil
}

// Respond implements worker.Brain.
func (l *liveBrain) Respond(ctx context.Context, in bot.Input) (bot.Output, error) {
	b, err := l.current(ctx)
	if err != nil {
		return bot.Output{}, err
	}
	return b.Respond(ctx, in)
}

// Welcome implements worker.Brain.
func (l *liveBrain) Welcome(in bot.Input) []domain.Reply {
	b, err := l.current(context.Background())
	if err != nil {
		return nil
	}
	return b.Welcome(in)
}

// SurveyPrompt implements worker.Brain.
func (l *liveBrain) SurveyPrompt() domain.Reply {
	b, err := l.current(context.Background())
	if err != nil {
		return domain.Reply{Text: "请问您对本次服务满意吗？"}
	}
	return b.SurveyPrompt()
}

// llm builds the optional OpenAI-compatible fallback; nil when misconfigured.
func (a *App) llm() bot.Answerer {
	c, err := llm.New(llm.Config{BaseURL: a.Config.LLMBaseURL, Model: a.Config.LLMModel, APIKey: a.Config.LLMAPIKey})
	if err != nil {
		a.Logger.Warn("LLM fallback disabled", "err", err)
		return nil
	}
	return c
}
