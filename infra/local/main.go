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
	"path/filepath"
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
	fmt.Fprintf(os.Stderr, "\n  wecom-crm-bot is running\n"+
		"  chat (WeCom emulator): %[1]s/emulator/\n"+
		"  built-in CRM:          %[1]s/crm/\n"+
		"  admin console:         %[1]s/admin/  (token: $ADMIN_TOKEN, or the file %[2]s)\n"+
		"  WeCom callback URL:    %[1]s/wecom/default\n\n", s.URL, filepath.Join(s.App.Config.DataDir, "admin-token"))
	<-ctx.Done()
	if err := s.Close(); err != nil {
		slog.Error("shutdown", "err", err)
	}
}
