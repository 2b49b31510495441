package app

import (
	"context"
	"time"

	"wecom-crm-bot/shared/queue"
)

// Consumer returns how a locally running worker consumes the configured
// queue: the in-process queue for QUEUE=memory, long polling for SQS. On
// Lambda and SCF the platform delivers messages instead and this is unused.
func (a *App) Consumer(ctx context.Context) (func(context.Context, queue.Handler) error, error) {
	if a.Config.Queue == "memory" {
		q, err := a.LocalQueue(ctx)
		if err != nil {
			return nil, err
		}
		return q.Run, nil
	}
	return a.remoteConsumer(ctx)
}

// Every runs fn every interval until ctx ends (a local stand-in for a
// schedule trigger). Errors are logged by fn's caller and do not stop it.
func Every(interval time.Duration, fn func(ctx context.Context, name string) error) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			_ = fn(ctx, "local-timer") // fn logs its own errors; the next tick retries
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
