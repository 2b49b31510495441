package bot

import (
	"context"

	"wecom-crm-bot/shared/domain"
)

// OrderLookup finds orders. The bot never shows a customer an order that
// is not theirs: Order is only called for an id already in the known
// customer's own order list (to refresh its status), and an unknown
// customer must prove ownership through VerifyOrder.
type OrderLookup interface {
	// Order returns the order with id; an error wrapping
	// domain.ErrNotFound for an unknown order.
	Order(ctx context.Context, orderID string) (domain.Order, error)
	// VerifyOrder returns the order with id only when phone (E.164) is a
	// phone number of the contact who placed it. A wrong phone and an
	// unknown order both give an error wrapping domain.ErrNotFound, so
	// the answer never reveals whether an order exists.
	VerifyOrder(ctx context.Context, orderID, phone string) (domain.Order, error)
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
