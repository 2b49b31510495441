package app

import (
	"context"
	"net/http"

	"wecom-crm-bot/shared/worker"
)

// Metrics returns the analytics recorder the worker reports to (nil: none yet).
func (a *App) Metrics(ctx context.Context) (worker.Metrics, error) { return nil, nil }

// Admin returns the admin function's HTTP handler (console, JSON API,
// sidebar page); nil when not available.
func (a *App) Admin(ctx context.Context) (http.Handler, error) { return nil, nil }
