// Command reminders is the scheduled function (every 5 minutes) that
// reminds sales reps of tasks due soon, sends each rep one morning digest of
// overdue tasks, posts the daily team summary to the group robot, and
// replays staff task changes kept during a CRM outage. See
// docs/functions/reminders.md.
package main

import (
	"context"
	"time"

	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/platform"
)

func main() {
	app.Main("reminders", func(ctx context.Context, a *app.App) (platform.Handlers, func(context.Context) error, error) {
		run, err := a.Reminders(ctx)
		if err != nil {
			return platform.Handlers{}, nil, err
		}
		pass := func(ctx context.Context, _ string) error {
			err := run(ctx)
			if err != nil {
				a.Logger.Error("reminders pass failed", "err", err)
			}
			return err
		}
		return platform.Handlers{Schedule: pass}, app.Every(5*time.Minute, pass), nil
	})
}
