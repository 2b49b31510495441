package app

import (
	"context"
	"fmt"

	"wecom-crm-bot/shared/config"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

func openSalesforce(c config.Config) (crm.CRM, error) {
	return nil, fmt.Errorf("app: CRM=salesforce is not wired yet: %w", domain.ErrConfig)
}

func openSQS(ctx context.Context, q string) (queue.Publisher, error) {
	return nil, fmt.Errorf("app: QUEUE=%s is not wired yet: %w", q, domain.ErrConfig)
}

func (a *App) remoteConsumer(ctx context.Context) (func(context.Context, queue.Handler) error, error) {
	return nil, nil
}
