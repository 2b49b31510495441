package staff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// Pending is the part of the store's outbox Drain needs.
type Pending interface {
	Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error)
	Ack(ctx context.Context, topic, id string) error
	Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error
	Bury(ctx context.Context, topic, id, lastErr string) error
}

// maxPendingAttempts is how often a kept write is tried before it becomes a
// dead letter (replayable with the store's Revive).
const maxPendingAttempts = 50

// Drain replays the CRM writes kept during an outage (at most n per call)
// and reports how many were applied. It stops at the first outage error,
// leaving the rest for the next pass.
func Drain(ctx context.Context, p Pending, c crm.CRM, now time.Time, n int) (int, error) {
	items, err := p.Take(ctx, PendingTopic, n, 2*time.Minute)
	if err != nil {
		return 0, fmt.Errorf("staff: take pending: %w", err)
	}
	applied := 0
	var errs []error
	for _, it := range items {
		var op pendingOp
		if err := json.Unmarshal(it.Payload, &op); err != nil {
			errs = append(errs, p.Bury(ctx, PendingTopic, it.ID, "unreadable: "+err.Error()))
			continue
		}
		_, err := apply(ctx, c, op)
		switch {
		case err == nil:
			applied++
			errs = append(errs, p.Ack(ctx, PendingTopic, it.ID))
		case domain.Retryable(err) && it.Attempts < maxPendingAttempts:
			wait := time.Duration(min(it.Attempts, 10)) * time.Minute
			errs = append(errs, p.Retry(ctx, PendingTopic, it.ID, now.Add(wait), err.Error()))
		default:
			errs = append(errs, p.Bury(ctx, PendingTopic, it.ID, err.Error()))
		}
	}
	return applied, errors.Join(errs...)
}
