package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/store"
)

var _ store.Store = (*Store)(nil)

// Attribute names of the table. pk, sk and ttl are fixed by the deployment
// template; the others are private to this package.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrTTL      = "ttl" // epoch seconds, for DynamoDB's native (lazy) deletion
	attrExp      = "exp" // epoch milliseconds, for precise expiry checks
	attrOwner    = "owner"
	attrValue    = "val"
	attrVersion  = "ver"
	attrCount    = "n"
	attrID       = "id"
	attrPayload  = "payload"
	attrDue      = "due"     // unix nanoseconds
	attrCreated  = "created" // unix nanoseconds
	attrAttempts = "attempts"
	attrLastErr  = "lerr"
	attrState    = "state"
	attrAt       = "at" // sort key of the row an outbox lookup row points at
	attrWritten  = "w"  // when an outbox data row was written, epoch ms

	// skSingle is the sort key of single-row entities (claims, leases, records).
	skSingle = "-"
)

// Store implements store.Store on one DynamoDB table. It is safe for
// concurrent use; all state lives in the table.
type Store struct {
	db    *dynamodb.Client
	table *string
	opts  options
}

type options struct {
	now         func() time.Time
	countersPar int
	takePar     int
	maxDays     int
}

func defaultOptions() options {
	return options{now: time.Now, countersPar: 8, takePar: 4, maxDays: 400}
}

// Option configures a Store.
type Option func(*options)

// WithClock replaces time.Now as the source of the current time (for expiry
// and due checks). Use it in tests only; every process sharing a table must
// agree on the time.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxDays limits how many days one Counts call may span (default 400);
// wider ranges fail with domain.ErrInvalid. Every day costs one Query.
func WithMaxDays(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxDays = n
		}
	}
}

// New returns a Store on table, which must have the schema CreateTable makes.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return &Store{db: client, table: aws.String(table), opts: o}
}

// Open builds a Store from a URL of the form
//
//	dynamodb://TABLE?region=REGION&endpoint=http://127.0.0.1:8000
//
// Both parameters are optional: region defaults to the environment
// (AWS_REGION), endpoint to the regional AWS endpoint. Credentials come from
// the SDK's default chain (environment, shared config, the Lambda role).
// A malformed URL fails with domain.ErrConfig.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: parse url: %w: %w", errConfig, err)
	}
	if u.Scheme != "dynamodb" || u.Host == "" {
		return nil, fmt.Errorf("dynamostore: url must look like dynamodb://TABLE?region=…&endpoint=…: %w", errConfig)
	}
	q := u.Query()
	var loadOpts []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		loadOpts = append(loadOpts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: load aws config: %w: %w", errConfig, err)
	}
	endpoint := q.Get("endpoint")
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, u.Host), nil
}

// Close releases nothing: the client belongs to the caller. It exists to
// satisfy store.Store.
func (s *Store) Close() error { return nil }

// CreateTable creates table with the schema this package expects (pk S,
// sk S, on-demand billing, no indexes), waits until it is ACTIVE and enables
// TTL on the ttl attribute. An existing table is accepted as is (TTL is still
// switched on). It is meant for tests and local use; deployments create the
// table from the template.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return translate("create table "+table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return translate("wait for table "+table, err)
	}
	d, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return translate("describe ttl of "+table, err)
	}
	if d.TimeToLiveDescription != nil {
		switch d.TimeToLiveDescription.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			return nil
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return translate("enable ttl on "+table, err)
	}
	return nil
}

// key builds the primary key of a row.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func str(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// expiry returns the exp (ms) and ttl (s) attributes for a lifetime of d
// starting at now, or nil when d <= 0 (no expiry).
func expiry(now time.Time, d time.Duration) map[string]types.AttributeValue {
	if d <= 0 {
		return nil
	}
	exp := now.Add(d).UnixMilli()
	// Round the native TTL up so that DynamoDB never deletes early.
	return map[string]types.AttributeValue{attrExp: num(exp), attrTTL: num(exp/1000 + 1)}
}

// getS returns a string attribute, or "" if absent.
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns a number attribute, or 0 if absent or malformed.
func getN(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err == nil {
			return n
		}
	}
	return 0
}

// getB returns a binary attribute, or nil if absent.
func getB(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

// live reports whether item exists and has not expired at now.
func live(item map[string]types.AttributeValue, now time.Time) bool {
	if item == nil {
		return false
	}
	if _, ok := item[attrExp]; !ok {
		return true
	}
	return getN(item, attrExp) > now.UnixMilli()
}

// Condition expressions shared by the single-row entities. An item counts as
// absent when it does not exist or its exp is not after :now.
const (
	condAbsent = "attribute_not_exists(#pk) OR #exp <= :now"
	condLive   = "attribute_exists(#pk) AND (attribute_not_exists(#exp) OR #exp > :now)"
)

// names returns the expression attribute names used by condAbsent and
// condLive plus the given extra attribute names, each as "#"+name.
func names(extra ...string) map[string]string {
	m := map[string]string{"#pk": attrPK, "#exp": attrExp}
	for _, n := range extra {
		m["#"+n] = n
	}
	return m
}
