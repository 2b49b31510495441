package app

import (
	"context"
	"net/http"

	"wecom-crm-bot/shared/worker"
)

// Staff returns the staff command handler for self-built app messages (nil: none yet).
func (a *App) Staff(ctx context.Context) (worker.StaffHandler, error) { return nil, nil }

// Reminders returns one pass of the reminders function (nil: none yet).
func (a *App) Reminders(ctx context.Context) (func(ctx context.Context) error, error) {
	return nil, nil
}

// Sidebar returns the chat-toolbar sidebar page handler (nil: none yet).
func (a *App) Sidebar(ctx context.Context) (http.Handler, error) { return nil, nil }
