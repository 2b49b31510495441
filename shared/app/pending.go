package app

import (
	"context"
	"fmt"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

func openSQS(ctx context.Context, q string) (queue.Publisher, error) {
	return nil, fmt.Errorf("app: QUEUE=%s is not wired yet: %w", q, domain.ErrConfig)
}

func (a *App) remoteConsumer(ctx context.Context) (func(context.Context, queue.Handler) error, error) {
	return nil, nil
}
