// Command local runs the whole product in one process on embedded defaults:
// callback, worker and note sync on 127.0.0.1:$PORT (default 8080), state in
// $DATA_DIR (default ./data), the built-in CRM at /crm/ and the WeCom
// emulator's chat page at /emulator/.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"wecom-crm-bot/infra/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		slog.Error("local stack failed to start", "err", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "\n  wecom-crm-bot is running\n  chat (WeCom emulator): %s/emulator/\n  built-in CRM:          %s/crm/\n  WeCom callback URL:    %s/wecom/default\n\n", s.URL, s.URL, s.URL)
	<-ctx.Done()
	if err := s.Close(); err != nil {
		slog.Error("shutdown", "err", err)
	}
}
