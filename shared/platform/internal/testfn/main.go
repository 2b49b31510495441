// Command testfn is a tiny function binary for platform's end-to-end tests:
// it wires echo handlers into platform.Start so a test can drive the built
// binary exactly like the Lambda Runtime API, the SCF runtime or an HTTP
// client would. Its handlers log what they receive (ids and names only) as
// JSON lines on stderr.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/queue"
)

func main() {
	ctx := context.Background()
	logger := platform.NewLogger(os.Getenv("LOG_LEVEL"), os.Stderr)
	getenv, err := platform.LoadSecrets(ctx, os.Getenv)
	if err != nil {
		logger.Error("load secrets", "err", err)
		os.Exit(1)
	}
	if err := platform.Start(ctx, handlers(logger), platform.WithGetenv(getenv), platform.WithLogger(logger)); err != nil {
		logger.Error("start", "err", err)
		os.Exit(1)
	}
}

func handlers(logger *slog.Logger) platform.Handlers {
	return platform.Handlers{
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read body", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Echo-Method", r.Method)
			_, _ = fmt.Fprintf(w, "%s %s host=%s cookie=%s body=%s", r.Method, r.URL.RequestURI(), r.Host,
				r.Header.Get("Cookie"), b)
		}),
		Queue: func(ctx context.Context, m queue.Message) error {
			logger.InfoContext(ctx, "queue", "id", m.ID, "body_len", len(m.Body))
			if strings.HasPrefix(m.ID, "fail") {
				return fmt.Errorf("testfn: refusing %s", m.ID)
			}
			return nil
		},
		Schedule: func(ctx context.Context, name string) error {
			logger.InfoContext(ctx, "schedule", "name", name)
			if name == "fail" {
				return fmt.Errorf("testfn: schedule %s failed", name)
			}
			return nil
		},
	}
}
