package app

import (
	"context"
	"fmt"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/scfq"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/redisstore"
)

// Openers of the engines a Tencent deployment uses (Redis store, SCF
// async-invoke queue).

func openRedis(ctx context.Context, rawURL string) (store.Store, error) {
	st, err := redisstore.Open(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("app: open redis: %w", err)
	}
	return st, nil
}

func openSCF(rawURL string, getenv func(string) string) (queue.Publisher, error) {
	p, err := scfq.Open(rawURL, getenv)
	if err != nil {
		return nil, fmt.Errorf("app: QUEUE: %w", err)
	}
	return p, nil
}
