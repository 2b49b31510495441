package sqsq_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/enginetest"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/sqsq"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

func newClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("x", "y", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// client returns an SQS client for fauxqs and its endpoint.
func client(t *testing.T) (*sqs.Client, string) {
	t.Helper()
	endpoint := enginetest.SQS(t)
	return newClient(endpoint), endpoint
}

var queueSeq atomic.Int64

// createQueue creates a uniquely named queue and returns its URL.
func createQueue(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	name = fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), queueSeq.Add(1))
	if attrs[string(types.QueueAttributeNameFifoQueue)] == "true" {
		name += ".fifo"
	}
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func queueARN(t *testing.T, c *sqs.Client, url string) string {
	t.Helper()
	out, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// collect runs a Consumer until want messages arrived or wait passed.
func collect(t *testing.T, c *sqs.Client, url string, want int, wait time.Duration) []queue.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var (
		mu  sync.Mutex
		got []queue.Message
	)
	err := sqsq.NewConsumer(c, url, sqsq.WithWaitTime(time.Second)).Run(ctx, func(_ context.Context, m queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) == want {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

func TestPublishConsumeRoundTrip(t *testing.T) {
	c, _ := client(t)
	url := createQueue(t, c, "rt", nil)
	p := sqsq.NewPublisher(c, url)
	msgs := []queue.Message{
		{ID: "text", Body: []byte(`{"msgid":"你好"}`), Attributes: map[string]string{"correlation_id": "c-1"}},
		{ID: "binary", Body: []byte{0, 1, 2, 0xff}},
		{ID: "empty"},
		{ID: "attrs", Body: []byte("b"), Attributes: map[string]string{"a": "1", "b.c": "2", "group_id": "g"}},
	}
	for _, m := range msgs {
		if err := p.Publish(t.Context(), m); err != nil {
			t.Fatalf("Publish %s: %v", m.ID, err)
		}
	}
	got := collect(t, c, url, len(msgs), 10*time.Second)
	byID := map[string]queue.Message{}
	for _, m := range got {
		byID[m.ID] = m
	}
	for _, want := range msgs {
		t.Run(want.ID, func(t *testing.T) {
			m, ok := byID[want.ID]
			if !ok {
				t.Fatalf("message %s not received (got %d messages)", want.ID, len(got))
			}
			if !bytes.Equal(m.Body, want.Body) || !maps.Equal(m.Attributes, want.Attributes) {
				t.Fatalf("got %+v, want %+v", m, want)
			}
		})
	}
}

// TestRedriveExactlyOnceAndRestart is the worker's contract with SQS:
// successes are handled exactly once even when a consumer is cancelled in
// the middle of a batch and another takes over; permanent failures are
// received twice and then land in the dead-letter queue.
func TestRedriveExactlyOnceAndRestart(t *testing.T) {
	c, _ := client(t)
	dlq := createQueue(t, c, "dlq", nil)
	url := createQueue(t, c, "work", map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): "2",
		string(types.QueueAttributeNameRedrivePolicy):     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, queueARN(t, c, dlq)),
	})
	p := sqsq.NewPublisher(c, url)
	const total = 50
	failing := func(id string) bool { return strings.HasSuffix(id, "3") } // 5 of 50
	for i := range total {
		if err := p.Publish(t.Context(), queue.Message{ID: fmt.Sprintf("m%02d", i), Body: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	var (
		mu        sync.Mutex
		handled   = map[string]int{} // successful handler calls per ID
		failures  = map[string]int{}
		successes int
	)
	handler := func(onSuccess func(n int)) queue.Handler {
		return func(_ context.Context, m queue.Message) error {
			if string(m.Body) != strings.TrimPrefix(strings.TrimPrefix(m.ID, "m"), "0") && m.ID != "m00" {
				return fmt.Errorf("body %q does not match id %s: %w", m.Body, m.ID, domain.ErrInvalid)
			}
			mu.Lock()
			defer mu.Unlock()
			if failing(m.ID) {
				failures[m.ID]++
				return fmt.Errorf("permanent failure of %s", m.ID)
			}
			handled[m.ID]++
			successes++
			onSuccess(successes)
			return nil
		}
	}

	// The first consumer is killed in the middle of a batch: after its 5th
	// success, i.e. within its first batch of up to 10 messages.
	ctx1, kill := context.WithCancel(t.Context())
	done1 := make(chan error, 1)
	go func() {
		done1 <- sqsq.NewConsumer(c, url, sqsq.WithWaitTime(time.Second)).Run(ctx1, handler(func(n int) {
			if n == 5 {
				kill()
			}
		}))
	}()
	select {
	case err := <-done1:
		if err != nil {
			t.Fatalf("first consumer: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("first consumer was not killed within 15s")
	}

	// The second consumer runs until all successes are in and the DLQ holds
	// every failing message.
	ctx2, stop := context.WithTimeout(t.Context(), 25*time.Second)
	defer stop()
	done2 := make(chan error, 1)
	go func() {
		done2 <- sqsq.NewConsumer(c, url, sqsq.WithWaitTime(time.Second)).Run(ctx2, handler(func(int) {}))
	}()
	dead := map[string]int{}
	for ctx2.Err() == nil {
		out, err := c.ReceiveMessage(ctx2, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			break
		}
		for _, m := range out.Messages {
			attrs := map[string]string{}
			for k, v := range m.MessageAttributes {
				attrs[k] = aws.ToString(v.StringValue)
			}
			msg, err := sqsq.MessageFromRecord(aws.ToString(m.Body), attrs)
			if err != nil {
				t.Fatalf("dead letter: %v", err)
			}
			dead[msg.ID]++
			if _, err := c.DeleteMessage(ctx2, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
		mu.Lock()
		finished := successes == total-5 && len(dead) == 5
		mu.Unlock()
		if finished {
			stop()
		}
	}
	if err := <-done2; err != nil {
		t.Fatalf("second consumer: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	for i := range total {
		id := fmt.Sprintf("m%02d", i)
		switch {
		case failing(id):
			if dead[id] != 1 {
				t.Errorf("%s: in the DLQ %d times, want 1", id, dead[id])
			}
			if failures[id] < 1 || failures[id] > 2 {
				t.Errorf("%s: handled %d times before dead-lettering, want 1-2 (maxReceiveCount 2)", id, failures[id])
			}
		default:
			if handled[id] != 1 {
				t.Errorf("%s: handled successfully %d times, want exactly 1", id, handled[id])
			}
			if dead[id] != 0 {
				t.Errorf("%s: succeeded but is in the DLQ", id)
			}
		}
	}
}

func TestFIFODeduplicates(t *testing.T) {
	c, _ := client(t)
	url := createQueue(t, c, "fifo", map[string]string{string(types.QueueAttributeNameFifoQueue): "true"})
	p := sqsq.NewPublisher(c, url)
	for _, m := range []queue.Message{
		{ID: "wx-1", Body: []byte("first")},
		{ID: "wx-1", Body: []byte("duplicate")},
		{ID: "wx-2", Body: []byte("second"), Attributes: map[string]string{"group_id": "kf-1"}},
	} {
		if err := p.Publish(t.Context(), m); err != nil {
			t.Fatalf("Publish %s: %v", m.ID, err)
		}
	}
	got := collect(t, c, url, 3, 3*time.Second) // runs into its deadline if the duplicate is dropped
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, string(m.Body))
	}
	if len(got) != 2 || bodies[0] != "first" || bodies[1] != "second" {
		t.Fatalf("received %q, want [first second]", bodies)
	}
}

func TestOpen(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	c, endpoint := client(t)
	url := createQueue(t, c, "open", nil)
	p, err := sqsq.Open(t.Context(), "sqs://"+strings.TrimPrefix(url, "http://")+"?region=us-east-1&endpoint="+endpoint)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if p.QueueURL() != url {
		t.Fatalf("QueueURL %q, want %q", p.QueueURL(), url)
	}
	if err := p.Publish(t.Context(), queue.Message{ID: "o1", Body: []byte("x")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := collect(t, c, url, 1, 10*time.Second); len(got) != 1 || got[0].ID != "o1" {
		t.Fatalf("received %+v, want o1", got)
	}

	aws, err := sqsq.Open(t.Context(), "sqs://sqs.eu-west-1.amazonaws.com/123456789012/worker")
	if err != nil {
		t.Fatalf("Open of an AWS queue URL: %v", err)
	}
	if want := "https://sqs.eu-west-1.amazonaws.com/123456789012/worker"; aws.QueueURL() != want {
		t.Fatalf("QueueURL %q, want %q", aws.QueueURL(), want)
	}
	for _, bad := range []string{"http://x/1/q", "sqs://host-only", "sqs:///1/q", "sqs://%zz/1/q"} {
		if _, err := sqsq.Open(t.Context(), bad); !errors.Is(err, domain.ErrConfig) {
			t.Errorf("Open(%q): %v, want ErrConfig", bad, err)
		}
	}
}

func TestErrors(t *testing.T) {
	c, _ := client(t)
	url := createQueue(t, c, "gone", nil)
	missing := url + "-missing"
	if err := sqsq.NewPublisher(c, missing).Publish(t.Context(), queue.Message{ID: "x", Body: []byte("x")}); !errors.Is(err, domain.ErrConfig) {
		t.Errorf("Publish to a missing queue: %v, want ErrConfig", err)
	}
	if err := sqsq.NewConsumer(c, missing, sqsq.WithWaitTime(0)).Run(t.Context(), func(context.Context, queue.Message) error { return nil }); !errors.Is(err, domain.ErrConfig) {
		t.Errorf("Run on a missing queue: %v, want ErrConfig", err)
	}
	down := sqs.New(sqs.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "y", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"), RetryMaxAttempts: 1,
	})
	if err := sqsq.NewPublisher(down, url).Publish(t.Context(), queue.Message{ID: "x", Body: []byte("x")}); !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("Publish with SQS down: %v, want ErrUnavailable", err)
	}
}
