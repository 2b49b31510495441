package bot

import (
	"context"

	"wecom-crm-bot/shared/domain"
)

// OrderLookup finds an order by its id. It returns an error wrapping
// domain.ErrNotFound for an unknown order.
type OrderLookup interface {
	Order(ctx context.Context, orderID string) (domain.Order, error)
}

// AppointmentBooker creates a CRM task or meeting for the owner rep.
// Task.Key is an idempotency key: booking the same key twice must not
// create two tasks.
type AppointmentBooker interface {
	Book(ctx context.Context, t domain.Task) error
}

// Answerer answers a question from the given passages only. It returns ""
// (or an error) when the passages do not contain the answer.
type Answerer interface {
	Answer(ctx context.Context, question string, passages []string, customer *domain.CustomerContext) (string, error)
}

// Ports are the bot's optional dependencies; a nil port switches its
// feature off (the bot then answers with a fallback text).
type Ports struct {
	Orders       OrderLookup
	Appointments AppointmentBooker
	LLM          Answerer
}
