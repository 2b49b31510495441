package platform_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/queue"
)

// A function's main wires its handlers and lets Start pick the platform.
func ExampleStart() {
	ctx := context.Background()
	logger := platform.NewLogger(os.Getenv("LOG_LEVEL"), os.Stderr)
	getenv, err := platform.LoadSecrets(ctx, os.Getenv)
	if err != nil {
		logger.Error("load secrets", "err", err)
		os.Exit(1)
	}
	h := platform.Handlers{
		HTTP:     http.NotFoundHandler(),
		Queue:    func(ctx context.Context, m queue.Message) error { return nil },
		Schedule: func(ctx context.Context, name string) error { return nil },
	}
	if err := platform.Start(ctx, h, platform.WithGetenv(getenv), platform.WithLogger(logger)); err != nil {
		logger.Error("start", "err", err)
		os.Exit(1)
	}
}

func ExampleRedactText() {
	logContent := false // platform.ContentLogging(os.Getenv)
	slog.New(slog.DiscardHandler).Info("customer message", "text", platform.RedactText("call me on 13812345678", logContent))
	fmt.Println(platform.RedactText("call me on 13812345678", logContent))
	fmt.Println(platform.RedactText("call me on 13812345678", true))
	// Output:
	// [redacted 22 chars]
	// call me on 138****5678
}
