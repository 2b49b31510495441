package app

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"wecom-crm-bot/shared/platform"
)

// Build wires one function's handlers from the app. Background, if set, runs
// beside the handlers when the function runs as a local server (e.g. a queue
// consumer); on Lambda and SCF the platform delivers events instead.
type Build func(ctx context.Context, a *App) (h platform.Handlers, background func(context.Context) error, err error)

// Main is the whole body of a function's main: load configuration, build the
// handlers once per cold start, and hand them to the platform. It exits the
// process with status 1 on a start-up failure, logging why (never secrets).
func Main(name string, build Build) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, name, build); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("start failed", "function", name, "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, build Build) error {
	a, err := Load(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	a.Logger = a.Logger.With("function", name)
	h, background, err := build(ctx, a)
	if err != nil {
		return err
	}
	if background != nil && platform.Detect(a.Getenv) == platform.Local {
		go func() {
			if err := background(ctx); err != nil {
				a.Logger.Error("background task stopped", "err", err)
			}
		}()
	}
	return platform.Start(ctx, h, platform.WithLogger(a.Logger), platform.WithGetenv(a.Getenv))
}
