package sqsq

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// Consumer long-polls one SQS queue and hands each message to a
// queue.Handler, for runs outside Lambda (where the platform's SQS trigger
// does this) and for tests.
//
// A message is deleted after its handler returns nil. A failed message is
// left alone: it reappears after the queue's visibility timeout, and the
// queue's redrive policy moves it to the dead-letter queue after
// maxReceiveCount receives. Delivery is at least once; handlers dedupe on
// Message.ID. A handler that runs longer than the visibility timeout lets a
// second receiver see the same message.
type Consumer struct {
	client   *sqs.Client
	queueURL string
	opts     consumerOptions
}

type consumerOptions struct {
	wait       time.Duration
	max        int32
	visibility time.Duration
	logger     *slog.Logger
	deleteWait time.Duration
	maxBackoff time.Duration
}

func defaultConsumerOptions() consumerOptions {
	return consumerOptions{
		wait:       20 * time.Second,
		max:        10,
		logger:     slog.New(slog.DiscardHandler),
		deleteWait: 10 * time.Second,
		maxBackoff: 10 * time.Second,
	}
}

// ConsumerOption configures a Consumer.
type ConsumerOption func(*consumerOptions)

// WithWaitTime sets the long-poll wait of each receive (0-20 s, default 20 s).
func WithWaitTime(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) { o.wait = min(max(d, 0), 20*time.Second) }
}

// WithMaxMessages sets how many messages one receive asks for (1-10,
// default 10).
func WithMaxMessages(n int) ConsumerOption {
	return func(o *consumerOptions) { o.max = int32(min(max(n, 1), 10)) }
}

// WithVisibilityTimeout overrides the queue's visibility timeout for the
// messages this Consumer receives (whole seconds; 0 keeps the queue's).
func WithVisibilityTimeout(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) { o.visibility = max(d, 0) }
}

// WithLogger sets the logger for failed messages and receive errors (default:
// discard). Message bodies are never logged.
func WithLogger(l *slog.Logger) ConsumerOption {
	return func(o *consumerOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// NewConsumer returns a Consumer of the queue at queueURL.
func NewConsumer(client *sqs.Client, queueURL string, opts ...ConsumerOption) *Consumer {
	o := defaultConsumerOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Consumer{client: client, queueURL: queueURL, opts: o}
}

// Run receives and handles messages until ctx is done, then returns nil.
// Messages of a batch not yet handled when ctx ends are left to reappear
// after the visibility timeout; a message whose handler succeeded is still
// deleted. Transient receive errors are logged and retried with backoff; a
// configuration error (missing queue, denied access) ends Run with an error
// wrapping domain.ErrConfig.
func (c *Consumer) Run(ctx context.Context, h queue.Handler) error {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		in := &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.queueURL),
			MaxNumberOfMessages:         c.opts.max,
			WaitTimeSeconds:             int32(c.opts.wait / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		}
		if c.opts.visibility > 0 {
			in.VisibilityTimeout = int32(max(c.opts.visibility/time.Second, 1))
		}
		out, err := c.client.ReceiveMessage(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			err = translate("receive", err)
			if errors.Is(err, domain.ErrConfig) || errors.Is(err, domain.ErrInvalid) {
				return err
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), c.opts.maxBackoff)
			c.opts.logger.WarnContext(ctx, "sqs receive failed", "queue_url", c.queueURL, "retry_in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		for _, m := range out.Messages {
			if ctx.Err() != nil {
				break // the rest reappear after the visibility timeout
			}
			c.handle(ctx, h, m)
		}
	}
	return nil
}

// handle runs h on one received message and deletes it on success.
func (c *Consumer) handle(ctx context.Context, h queue.Handler, m types.Message) {
	log := c.opts.logger.With("message_id", aws.ToString(m.MessageId),
		"receive_count", receiveCount(m))
	msg, err := fromSQS(m)
	if err != nil {
		// Poison: never handled, so the redrive policy dead-letters it.
		log.WarnContext(ctx, "undecodable sqs message", "err", err)
		return
	}
	log = log.With("id", msg.ID)
	if err := h(ctx, msg); err != nil {
		log.WarnContext(ctx, "queue message failed", "retryable", domain.Retryable(err), "err", err)
		return
	}
	// Delete even if ctx ended meanwhile: the work is done, and a leftover
	// message would only be handled again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.deleteWait)
	defer cancel()
	if _, err := c.client.DeleteMessage(dctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(c.queueURL),
		ReceiptHandle: m.ReceiptHandle,
	}); err != nil {
		log.WarnContext(ctx, "sqs delete failed; message will be redelivered", "err", translate("delete", err))
	}
}

// fromSQS converts a received message with MessageFromRecord, falling back
// to the SQS message ID when dedupe_id is absent (messages from elsewhere).
func fromSQS(m types.Message) (queue.Message, error) {
	attrs := make(map[string]string, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			attrs[k] = *v.StringValue
		}
	}
	msg, err := MessageFromRecord(aws.ToString(m.Body), attrs)
	if err != nil {
		return queue.Message{}, err
	}
	if msg.ID == "" {
		msg.ID = aws.ToString(m.MessageId)
	}
	return msg, nil
}

func receiveCount(m types.Message) int {
	n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	return n // 0 when absent
}
