// Command callback is the WeCom callback function: it verifies, decrypts and
// de-duplicates every callback, queues it for the worker and answers WeCom
// within milliseconds. See docs/functions/callback.md.
package main

import (
	"context"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/platform"
)

func main() {
	app.Main("callback", func(ctx context.Context, a *app.App) (platform.Handlers, func(context.Context) error, error) {
		pub, err := a.Publisher(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		h, err := a.Callback(ctx, pub)
		return platform.Handlers{HTTP: h}, nil, err
	})
}
