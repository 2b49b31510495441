package dynamostore_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/enginetest"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/dynamostore"
	"wecom-crm-bot/shared/store/storetest"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

// client returns a DynamoDB client for DynamoDB Local with dummy credentials.
func client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	endpoint := enginetest.DynamoDB(tb)
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		Credentials:                     credentials.NewStaticCredentialsProvider("x", "y", ""),
		BaseEndpoint:                    aws.String(endpoint),
		DisableValidateResponseChecksum: true, // DynamoDB Local sends none on some errors
	})
}

var tableSeq atomic.Int64

// newTable creates a fresh table and returns its name.
func newTable(tb testing.TB, c *dynamodb.Client) string {
	tb.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	if err := dynamostore.CreateTable(enginetest.Context(tb, time.Minute), c, name); err != nil {
		tb.Fatalf("CreateTable: %v", err)
	}
	return name
}

// open returns a Store on a fresh table plus its raw client and table name.
func open(tb testing.TB, opts ...dynamostore.Option) (*dynamostore.Store, *dynamodb.Client, string) {
	tb.Helper()
	c := client(tb)
	table := newTable(tb, c)
	return dynamostore.New(c, table, opts...), c, table
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _, _ := open(t)
		return s
	})
}

// rawGet reads one row directly.
func rawGet(t *testing.T, c *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		t.Fatalf("GetItem(%s, %s): %v", pk, sk, err)
	}
	return out.Item
}

func rawPut(t *testing.T, c *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

func n(t *testing.T, item map[string]types.AttributeValue, name string) int64 {
	t.Helper()
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %s: got %#v, want a number", name, item[name])
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		t.Fatalf("attribute %s: %v", name, err)
	}
	return i
}

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// TestItemLayout checks the rows documented in doc.go, which the SAM
// template and operators rely on (ttl in seconds for native deletion).
func TestItemLayout(t *testing.T) {
	st, c, table := open(t)
	ctx := t.Context()
	before := time.Now()
	if _, err := st.Claim(ctx, "cb:1", time.Hour); err != nil {
		t.Fatal(err)
	}
	row := rawGet(t, c, table, "claim#cb:1", "-")
	if row == nil {
		t.Fatal("claim row claim#cb:1 / - not found")
	}
	exp, ttl := n(t, row, "exp"), n(t, row, "ttl")
	if lo, hi := before.Add(time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli(); exp < lo || exp > hi {
		t.Errorf("exp %d, want epoch ms in [%d, %d]", exp, lo, hi)
	}
	if ttl*1000 < exp || ttl*1000 > exp+1000 {
		t.Errorf("ttl %d, want epoch seconds just at or after exp %d ms", ttl, exp)
	}

	if _, err := st.Put(ctx, "conv:1", []byte("v"), 0, 0); err != nil {
		t.Fatal(err)
	}
	row = rawGet(t, c, table, "rec#conv:1", "-")
	if row == nil || n(t, row, "ver") != 1 || row["ttl"] != nil || row["exp"] != nil {
		t.Errorf("record row: %#v, want ver 1 and no ttl/exp", row)
	}

	due := time.UnixMilli(1_700_000_000_123)
	if err := st.Add(ctx, store.Item{Topic: "notes", ID: "n#1", Due: due}); err != nil {
		t.Fatal(err)
	}
	lk := rawGet(t, c, table, "ob#notes", "id#n#1")
	if lk == nil {
		t.Fatal("lookup row ob#notes / id#n#1 not found")
	}
	qsk := lk["at"].(*types.AttributeValueMemberS).Value
	if prefix := "q#00000001700000000123#n#1#"; !strings.HasPrefix(qsk, prefix) || len(qsk) != len(prefix)+8 {
		t.Errorf("lookup row points at %q, want %s + 8 hex digits", qsk, prefix)
	}
	if row := rawGet(t, c, table, "ob#notes", qsk); row == nil || row["id"].(*types.AttributeValueMemberS).Value != "n#1" {
		t.Errorf("queue row ob#notes / %s: %#v, want id n#1", qsk, row)
	}
	if err := st.Bury(ctx, "notes", "n#1", "x"); err != nil {
		t.Fatal(err)
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("obdead#notes")},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("dead partition: %d rows, %v; want 1", len(out.Items), err)
	}

	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Incr(ctx, "intent", "price", day, 3); err != nil {
		t.Fatal(err)
	}
	if row := rawGet(t, c, table, "ctr#intent#2026-03-01", "m#price"); row == nil || n(t, row, "n") != 3 {
		t.Errorf("counter row: %#v, want n=3", row)
	}
}

// TestExpiredRowsAreAbsent writes rows whose exp is past but which DynamoDB
// has not deleted yet (its TTL deletion is lazy) and checks that every path
// treats them as absent.
func TestExpiredRowsAreAbsent(t *testing.T) {
	st, c, table := open(t)
	ctx := t.Context()
	past := time.Now().Add(-time.Second)
	expired := func(pk string, extra map[string]types.AttributeValue) {
		item := map[string]types.AttributeValue{"pk": s(pk), "sk": s("-"), "exp": num(past.UnixMilli()), "ttl": num(past.Unix())}
		for k, v := range extra {
			item[k] = v
		}
		rawPut(t, c, table, item)
	}
	expired("claim#k", nil)
	expired("lease#l", map[string]types.AttributeValue{"owner": s("a")})
	expired("rec#r", map[string]types.AttributeValue{"ver": num(7), "val": &types.AttributeValueMemberB{Value: []byte("old")}})

	if won, err := st.Claim(ctx, "k", time.Minute); err != nil || !won {
		t.Errorf("Claim over expired row: %v, %v; want true", won, err)
	}
	if err := st.Renew(ctx, "l", "a", time.Minute); !errors.Is(err, store.ErrNotOwner) {
		t.Errorf("Renew of expired lease: %v, want ErrNotOwner", err)
	}
	if ok, err := st.Acquire(ctx, "l", "b", time.Minute); err != nil || !ok {
		t.Errorf("Acquire over expired lease: %v, %v; want true", ok, err)
	}
	if _, err := st.Get(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of expired record: %v, want ErrNotFound", err)
	}
	if _, err := st.Put(ctx, "r", []byte("x"), 7, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Put at the expired record's version: %v, want ErrConflict", err)
	}
	if v, err := st.Put(ctx, "r", []byte("x"), 0, 0); err != nil || v != 1 {
		t.Errorf("Put version 0 over expired record: %d, %v; want 1", v, err)
	}
}

func TestClock(t *testing.T) {
	now := time.Now()
	st, _, _ := open(t, dynamostore.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	if won, err := st.Claim(ctx, "k", time.Hour); err != nil || !won {
		t.Fatalf("Claim: %v, %v", won, err)
	}
	now = now.Add(time.Hour + time.Millisecond)
	if won, err := st.Claim(ctx, "k", time.Hour); err != nil || !won {
		t.Fatalf("Claim an hour later on the injected clock: %v, %v; want true", won, err)
	}
}

func TestCountsRangeLimit(t *testing.T) {
	st, _, _ := open(t, dynamostore.WithMaxDays(7))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := st.Counts(t.Context(), "s", from, from.AddDate(0, 0, 6)); err != nil {
		t.Errorf("Counts over 7 days: %v", err)
	}
	if _, err := st.Counts(t.Context(), "s", from, from.AddDate(0, 0, 7)); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("Counts over 8 days: %v, want ErrInvalid", err)
	}
}

func TestDeadPaging(t *testing.T) {
	st, _, _ := open(t)
	ctx := t.Context()
	var want []string
	for i := range 12 {
		id := fmt.Sprintf("i%02d", i)
		want = append(want, id)
		if err := st.Add(ctx, store.Item{Topic: "t", ID: id}); err != nil {
			t.Fatal(err)
		}
		if err := st.Bury(ctx, "t", id, "e"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct burial times
	}
	for _, tc := range []struct{ n, want int }{{5, 5}, {12, 12}, {100, 12}} {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			dead, err := st.Dead(ctx, "t", tc.n)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range dead {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, want[:tc.want]) {
				t.Fatalf("Dead(%d) = %q, want %q", tc.n, got, want[:tc.want])
			}
		})
	}
	if err := st.Retry(ctx, "t", "i00", time.Now(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Retry of a dead item: %v, want ErrNotFound", err)
	}
	if err := st.Revive(ctx, "t", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Revive of an unknown item: %v, want ErrNotFound", err)
	}
}

func TestErrors(t *testing.T) {
	c := client(t)
	st := dynamostore.New(c, "no-such-table")
	ctx := t.Context()
	if _, err := st.Claim(ctx, "k", time.Minute); !errors.Is(err, domain.ErrConfig) {
		t.Errorf("Claim on a missing table: %v, want ErrConfig", err)
	}
	dead := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("x", "y", ""),
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1,
	})
	if _, err := dynamostore.New(dead, "t").Get(ctx, "k"); !errors.Is(err, domain.ErrUnavailable) {
		t.Errorf("Get with the engine down: %v, want ErrUnavailable", err)
	}
}

func TestOpen(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	c := client(t)
	table := newTable(t, c)
	endpoint := enginetest.DynamoDB(t)
	st, err := dynamostore.Open(t.Context(), "dynamodb://"+table+"?region=us-east-1&endpoint="+endpoint)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if won, err := st.Claim(t.Context(), "k", time.Minute); err != nil || !won {
		t.Fatalf("Claim through an opened store: %v, %v", won, err)
	}
	for _, bad := range []string{"redis://x", "dynamodb:///", "dynamodb://%zz"} {
		if _, err := dynamostore.Open(t.Context(), bad); !errors.Is(err, domain.ErrConfig) {
			t.Errorf("Open(%q): %v, want ErrConfig", bad, err)
		}
	}
}

func TestCreateTableTwice(t *testing.T) {
	c := client(t)
	table := newTable(t, c)
	if err := dynamostore.CreateTable(t.Context(), c, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	d, err := c.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.TimeToLiveDescription.AttributeName) != "ttl" {
		t.Errorf("TTL: %+v, want enabled on ttl", d.TimeToLiveDescription)
	}
}

// TestUnreferencedRows simulates writers that crashed between their
// non-transactional steps (an Ack after deleting the lookup row, a Take after
// writing its copy): such data rows are never delivered, old ones are
// removed by Take, and young ones (possibly a Take in progress) are kept.
func TestUnreferencedRows(t *testing.T) {
	st, c, table := open(t)
	ctx := t.Context()
	now := time.Now()
	due := fmt.Sprintf("q#%020d#", now.Add(-time.Second).UnixMilli())
	orphan := func(id string, written time.Time) string {
		sk := due + id + "#0000abcd"
		rawPut(t, c, table, map[string]types.AttributeValue{
			"pk": s("ob#t"), "sk": s(sk), "id": s(id), "attempts": num(1),
			"due": num(now.UnixNano()), "created": num(now.UnixNano()), "w": num(written.UnixMilli()),
		})
		return sk
	}
	oldSK := orphan("old", now.Add(-2*time.Minute))
	youngSK := orphan("young", now)
	if err := st.Add(ctx, store.Item{Topic: "t", ID: "real"}); err != nil {
		t.Fatal(err)
	}
	items, err := st.Take(ctx, "t", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].ID != "real" {
		t.Fatalf("Take returned %+v, want only the real item", items)
	}
	if rawGet(t, c, table, "ob#t", oldSK) != nil {
		t.Error("old unreferenced row was not deleted")
	}
	if rawGet(t, c, table, "ob#t", youngSK) == nil {
		t.Error("young unreferenced row was deleted")
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ob#t")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Left: the young orphan, the real item's lookup row and its hidden copy.
	if len(out.Items) != 3 {
		t.Errorf("%d rows in ob#t after Take, want 3 (young orphan, lookup, hidden copy)", len(out.Items))
	}
}
