package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/sqsq"
)

// sqsURL accepts both the queue URL CloudFormation gives (https://sqs.…)
// and the sqs:// form, and returns the sqs:// form sqsq.Open takes.
func sqsURL(q string) string {
	if rest, ok := strings.CutPrefix(q, "https://"); ok {
		return "sqs://" + rest
	}
	return q
}

func openSQS(ctx context.Context, q string) (queue.Publisher, error) {
	p, err := sqsq.Open(ctx, sqsURL(q))
	if err != nil {
		return nil, fmt.Errorf("app: QUEUE: %w", err)
	}
	return p, nil
}

// remoteConsumer long-polls SQS when a worker runs as a local server
// against a real queue; other queues have no local consumer.
func (a *App) remoteConsumer(ctx context.Context) (func(context.Context, queue.Handler) error, error) {
	q := sqsURL(a.Config.Queue)
	if !strings.HasPrefix(q, "sqs://") {
		return nil, nil
	}
	u, err := url.Parse(q)
	if err != nil {
		return nil, fmt.Errorf("app: QUEUE: %w", err)
	}
	var opts []func(*awsconfig.LoadOptions) error
	if r := u.Query().Get("region"); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("app: aws config: %w", err)
	}
	endpoint := u.Query().Get("endpoint")
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	scheme := "https"
	if strings.HasPrefix(endpoint, "http://") {
		scheme = "http"
	}
	c := sqsq.NewConsumer(client, scheme+"://"+u.Host+u.EscapedPath(), sqsq.WithLogger(a.Logger))
	return c.Run, nil
}
