package callback_test

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/wecom/callback"
)

type memClaims struct{ seen map[string]bool }

func (m *memClaims) Claim(_ context.Context, key string, _ time.Duration) (bool, error) {
	if m.seen[key] {
		return false, nil
	}
	m.seen[key] = true
	return true, nil
}

func (m *memClaims) Unclaim(_ context.Context, key string) error {
	delete(m.seen, key)
	return nil
}

type logPublisher struct{ log *slog.Logger }

func (p logPublisher) Publish(ctx context.Context, msg queue.Message) error {
	p.log.InfoContext(ctx, "would enqueue", "id", msg.ID)
	return nil
}

// Wiring the handler: in a function, the claimer is a store.Claims and the
// publisher the platform's queue.
func ExampleNewHandler() {
	logger := slog.Default()
	h, err := callback.NewHandler([]callback.Channel{{
		Name:           "default", // served at /wecom and /wecom/default
		CorpID:         "ww6a112864f8022910",
		Token:          "kz7Yx62CH8SaLN",
		EncodingAESKey: "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP",
	}}, &memClaims{seen: map[string]bool{}}, logPublisher{logger}, logger, callback.WithClaimTTL(6*time.Hour))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wecom", h)
	mux.Handle("/wecom/", h)
	_ = mux // http.ListenAndServe(addr, mux)
}
