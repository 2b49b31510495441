package queue

import "context"

// Message is one unit of work. ID is the de-duplication key of the work it
// carries (SQS message group / dedupe id where supported).
type Message struct {
	ID         string            `json:"id"`
	Body       []byte            `json:"body"`
	Attributes map[string]string `json:"attributes,omitempty"` // e.g. "correlation_id"
}

// Publisher sends a message to the worker. A nil error means the message is
// durably accepted by the queue.
type Publisher interface {
	Publish(ctx context.Context, msg Message) error
}

// Handler processes one message. A non-nil error means "not done": the queue
// redelivers it later, and after its retry budget moves it to a dead-letter place.
type Handler func(ctx context.Context, msg Message) error

// Envelope is how a Message travels inside a direct function invocation
// (Tencent SCF async Invoke, or a Lambda invoked with a single message): the
// event JSON is {"queueMessage": Message}.
type Envelope struct {
	QueueMessage *Message `json:"queueMessage"`
}
