// Command worker consumes the callback queue: it pulls 微信客服 messages, runs
// the bot, replies through WeCom, greets new contacts and hands conversations
// to people. See docs/functions/worker.md.
package main

import (
	"context"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/platform"
)

func main() {
	app.Main("worker", func(ctx context.Context, a *app.App) (platform.Handlers, func(context.Context) error, error) {
		w, err := a.Worker(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		consume, err := a.Consumer(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		return platform.Handlers{Queue: w.Handle}, func(ctx context.Context) error { return consume(ctx, w.Handle) }, nil
	})
}
