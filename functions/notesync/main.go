// Command notesync is the scheduled function that ends idle conversations
// and writes each finished conversation to the CRM as one note, retrying
// with backoff and keeping dead letters for replay. See docs/functions/notesync.md.
package main

import (
	"context"
	"time"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/platform"
)

func main() {
	app.Main("notesync", func(ctx context.Context, a *app.App) (platform.Handlers, func(context.Context) error, error) {
		s, err := a.NoteSyncer(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		pass := func(ctx context.Context, _ string) error {
			stats, err := s.Run(ctx)
			a.Logger.Info("notesync pass", "delivered", stats.Delivered, "retried", stats.Retried, "dead", stats.Buried, "ended", stats.IdleEnded)
			a.ReportNoteDeadLetters(stats.Buried)
			return err
		}
		return platform.Handlers{Schedule: pass}, app.Every(time.Minute, pass), nil
	})
}
