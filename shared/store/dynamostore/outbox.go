package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// Outbox row states, kept in the lookup row.
const (
	stateLive = "live"
	stateDead = "dead"
)

// maxRaces bounds how often one outbox call re-reads and retries after a
// concurrent writer moved the same item.
const maxRaces = 8

// isRace reports whether a transaction was cancelled because of a failed
// condition or a concurrent transaction (and not, say, a validation error).
func isRace(err error) bool {
	if isTxConflict(err) {
		return true
	}
	reasons, ok := canceledReasons(err)
	if !ok {
		return false
	}
	for _, r := range reasons {
		switch r {
		case "", "None", "ConditionalCheckFailed", "TransactionConflict":
		default:
			return false
		}
	}
	return true
}

// errRace means a transaction lost to a concurrent writer of the same item.
var errRace = errors.New("dynamostore: concurrent outbox update")

func livePK(topic string) string { return "ob#" + topic }
func deadPK(topic string) string { return "obdead#" + topic }
func lookupSK(id string) string  { return "id#" + id }

// pad20 formats ms as 20 zero-padded digits so that sort keys order by time.
func pad20(ms int64) string { return fmt.Sprintf("%020d", max(ms, 0)) }

// queueSK and deadSK end in a random nonce so that every write of an item's
// data row has a sort key of its own: a writer that loses a race can delete
// the row it wrote without touching the winner's.
func queueSK(due time.Time, id string) string {
	return "q#" + pad20(due.UnixMilli()) + "#" + id + "#" + nonce()
}
func deadSK(at time.Time, id string) string { return pad20(at.UnixMilli()) + "#" + id + "#" + nonce() }

func nonce() string { return fmt.Sprintf("%08x", rand.Uint32()) }

// staleGrace is how old a data row that no lookup row points at must be
// before a taker deletes it. Younger ones may belong to a Take that has
// written its row but not yet repointed the lookup.
const staleGrace = time.Minute

// loc is where an outbox item's data row currently is.
type loc struct {
	state string // stateLive or stateDead
	sk    string
}

func (l loc) pk(topic string) string {
	if l.state == stateDead {
		return deadPK(topic)
	}
	return livePK(topic)
}

// Add writes the lookup row and the queue row in one transaction; an
// existing lookup row (live or dead item) makes it a no-op.
func (s *Store) Add(ctx context.Context, item store.Item) error {
	now := s.opts.now()
	if item.Due.IsZero() {
		item.Due = now
	}
	if item.Created.IsZero() {
		item.Created = now
	}
	sk := queueSK(item.Due, item.ID)
	row := itemRow(item)
	row[attrWritten] = num(now.UnixMilli())
	row[attrPK], row[attrSK] = str(livePK(item.Topic)), str(sk)
	for range maxRaces {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName: s.table,
				Item: map[string]types.AttributeValue{
					attrPK: str(livePK(item.Topic)), attrSK: str(lookupSK(item.ID)),
					attrState: str(stateLive), attrAt: str(sk),
				},
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": attrPK},
			}},
			{Put: &types.Put{TableName: s.table, Item: row}},
		}})
		if err == nil {
			return nil
		}
		if isTxConflict(err) {
			continue
		}
		if reasons, ok := canceledReasons(err); ok && len(reasons) > 0 && reasons[0] == "ConditionalCheckFailed" {
			return nil // already live or dead
		}
		return translate("outbox add "+item.Topic+"/"+item.ID, err)
	}
	return translate("outbox add "+item.Topic+"/"+item.ID, errRace)
}

// Take queries the due end of the topic's queue and moves each row to a sort
// key due after visibility (at least 1 ms) as takeRows describes. A row
// another taker moved first is skipped.
func (s *Store) Take(ctx context.Context, topic string, n int, visibility time.Duration) ([]store.Item, error) {
	if n <= 0 {
		return nil, nil
	}
	now := s.opts.now()
	// At least 1 ms, so that the hidden copies sort after :hi and a later
	// page of this very Take cannot meet them again.
	hidden := now.Add(max(visibility, time.Millisecond))
	var (
		out   []store.Item
		start map[string]types.AttributeValue
	)
	for len(out) < n {
		q, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                s.table,
			ConsistentRead:           aws.Bool(true),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(livePK(topic)),
				":lo": str("q#"),
				":hi": str("q#" + pad20(now.UnixMilli()) + "$"), // '$' sorts right after '#'
			},
			Limit:             aws.Int32(int32(min(n-len(out), 100))),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return out, translate("outbox take "+topic, err)
		}
		taken, err := s.takeRows(ctx, topic, q.Items, now, hidden)
		out = append(out, taken...)
		if err != nil {
			return out, translate("outbox take "+topic, err)
		}
		if q.LastEvaluatedKey == nil {
			break
		}
		start = q.LastEvaluatedKey
	}
	return out, nil
}

// takeRows hides data rows without a transaction and returns the items it
// won; rows another taker moved first are skipped. For each row: (1) write a
// copy at its hidden sort key with attempts+1 (one batch for all rows), (2)
// repoint the lookup row from the old sort key to the copy, conditionally:
// the point where exactly one taker wins, (3) delete the old row (winners)
// or the copy (losers; plus the old row if it is older than staleGrace,
// i.e. left behind by a crashed writer), again in one batch. A crash between
// the steps leaves only unreferenced rows, never a lost item.
func (s *Store) takeRows(ctx context.Context, topic string, rows []map[string]types.AttributeValue, now, hidden time.Time) ([]store.Item, error) {
	pk := livePK(topic)
	copies := make([]map[string]types.AttributeValue, len(rows))
	puts := make([]types.WriteRequest, len(rows))
	for i, row := range rows {
		moved := maps.Clone(row)
		moved[attrSK] = str(queueSK(hidden, getS(row, attrID)))
		moved[attrAttempts] = num(getN(row, attrAttempts) + 1)
		moved[attrWritten] = num(now.UnixMilli())
		copies[i] = moved
		puts[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: moved}}
	}
	if err := s.batchWrite(ctx, puts); err != nil {
		return nil, err
	}
	won := make([]bool, len(rows))
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.takePar)
	for i, row := range rows {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                s.table,
				Key:                      key(pk, lookupSK(getS(row, attrID))),
				UpdateExpression:         aws.String("SET #at = :to"),
				ConditionExpression:      aws.String("#at = :from"),
				ExpressionAttributeNames: map[string]string{"#at": attrAt},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":to": copies[i][attrSK], ":from": row[attrSK],
				},
			})
			switch {
			case err == nil:
				won[i] = true
			case !isCondFailed(err):
				errs[i] = err
			}
		})
	}
	wg.Wait()
	var (
		out     []store.Item
		deletes []types.WriteRequest
	)
	del := func(row map[string]types.AttributeValue) {
		deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(pk, getS(row, attrSK))}})
	}
	for i, row := range rows {
		switch {
		case won[i]:
			out = append(out, rowItem(topic, copies[i]))
			del(row)
		case errs[i] == nil && now.UnixMilli()-getN(row, attrWritten) > staleGrace.Milliseconds():
			del(copies[i])
			del(row)
		default:
			del(copies[i])
		}
	}
	// Rows left behind by a failed delete are unreferenced: takers remove
	// them after staleGrace. The items won are returned regardless.
	_ = s.batchWrite(ctx, deletes) // best effort, see above
	return out, errors.Join(errs...)
}

// batchWrite runs BatchWriteItem in chunks of 25, resubmitting unprocessed
// requests a few times with a short backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		chunk := reqs[:min(len(reqs), 25)]
		reqs = reqs[len(chunk):]
		for attempt := 0; len(chunk) > 0; attempt++ {
			if attempt > 0 {
				if attempt == 5 {
					return fmt.Errorf("dynamostore: %d writes unprocessed: %w", len(chunk), domain.ErrRateLimited)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{*s.table: chunk},
			})
			if err != nil {
				return err
			}
			chunk = out.UnprocessedItems[*s.table]
		}
	}
	return nil
}

func (s *Store) deleteRow(ctx context.Context, pk, sk string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key(pk, sk)})
	return err
}

// Ack deletes the item's lookup row, then the data row it pointed at (a
// crash in between leaves an unreferenced row that takers remove). Acking an
// unknown ID is no error.
func (s *Store) Ack(ctx context.Context, topic, id string) error {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    s.table,
		Key:          key(livePK(topic), lookupSK(id)),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return translate("outbox ack "+topic+"/"+id, err)
	}
	if out.Attributes == nil {
		return nil
	}
	l := loc{state: getS(out.Attributes, attrState), sk: getS(out.Attributes, attrAt)}
	return translate("outbox ack "+topic+"/"+id, s.deleteRow(ctx, l.pk(topic), l.sk))
}

// Retry moves a live item to the queue position of due and records lastErr.
// It returns store.ErrNotFound if the item is not live.
func (s *Store) Retry(ctx context.Context, topic, id string, due time.Time, lastErr string) error {
	return s.move(ctx, topic, id, "retry", func(l loc, row map[string]types.AttributeValue) (loc, map[string]types.AttributeValue, bool) {
		if l.state != stateLive {
			return loc{}, nil, false
		}
		moved := maps.Clone(row)
		moved[attrSK] = str(queueSK(due, id))
		moved[attrDue] = num(due.UnixNano())
		setLastErr(moved, lastErr)
		return loc{stateLive, getS(moved, attrSK)}, moved, true
	})
}

// Bury moves a live item to the topic's dead-letter partition, ordered by
// burial time. It returns store.ErrNotFound if the item is not live.
func (s *Store) Bury(ctx context.Context, topic, id, lastErr string) error {
	now := s.opts.now()
	return s.move(ctx, topic, id, "bury", func(l loc, row map[string]types.AttributeValue) (loc, map[string]types.AttributeValue, bool) {
		if l.state != stateLive {
			return loc{}, nil, false
		}
		moved := maps.Clone(row)
		moved[attrPK], moved[attrSK] = str(deadPK(topic)), str(deadSK(now, id))
		setLastErr(moved, lastErr)
		return loc{stateDead, getS(moved, attrSK)}, moved, true
	})
}

// Revive moves a dead item back to the queue, due now with zero attempts.
// It returns store.ErrNotFound if the item is not dead.
func (s *Store) Revive(ctx context.Context, topic, id string) error {
	now := s.opts.now()
	return s.move(ctx, topic, id, "revive", func(l loc, row map[string]types.AttributeValue) (loc, map[string]types.AttributeValue, bool) {
		if l.state != stateDead {
			return loc{}, nil, false
		}
		moved := maps.Clone(row)
		moved[attrPK], moved[attrSK] = str(livePK(topic)), str(queueSK(now, id))
		moved[attrDue] = num(now.UnixNano())
		moved[attrAttempts] = num(0)
		return loc{stateLive, getS(moved, attrSK)}, moved, true
	})
}

// Dead lists up to n dead items of topic in burial order.
func (s *Store) Dead(ctx context.Context, topic string, n int) ([]store.Item, error) {
	if n <= 0 {
		return nil, nil
	}
	var (
		out   []store.Item
		start map[string]types.AttributeValue
	)
	for len(out) < n {
		q, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 s.table,
			ConsistentRead:            aws.Bool(true),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(deadPK(topic))},
			Limit:                     aws.Int32(int32(min(n-len(out), 1000))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return out, translate("outbox dead "+topic, err)
		}
		for _, row := range q.Items {
			out = append(out, rowItem(topic, row))
		}
		if q.LastEvaluatedKey == nil {
			break
		}
		start = q.LastEvaluatedKey
	}
	return out, nil
}

// move reads an item, asks plan where it goes next and relocates it,
// re-reading after races. plan returning false means the item is not in a
// state the operation applies to (store.ErrNotFound).
func (s *Store) move(ctx context.Context, topic, id, op string,
	plan func(loc, map[string]types.AttributeValue) (loc, map[string]types.AttributeValue, bool),
) error {
	for range maxRaces {
		l, row, err := s.locate(ctx, topic, id)
		if errors.Is(err, errRace) {
			continue
		}
		if err != nil {
			return fmt.Errorf("outbox %s %s/%s: %w", op, topic, id, err)
		}
		to, moved, ok := plan(l, row)
		if !ok {
			return fmt.Errorf("dynamostore: outbox %s %s/%s is %s: %w", op, topic, id, l.state, store.ErrNotFound)
		}
		err = s.relocate(ctx, topic, id, l, row, to, moved)
		if errors.Is(err, errRace) {
			continue
		}
		if err != nil {
			return translate("outbox "+op+" "+topic+"/"+id, err)
		}
		return nil
	}
	return translate("outbox "+op+" "+topic+"/"+id, errRace)
}

// locate reads the lookup row of id and the data row it points at, both
// strongly consistent. It returns store.ErrNotFound if either is missing.
func (s *Store) locate(ctx context.Context, topic, id string) (loc, map[string]types.AttributeValue, error) {
	l, err := s.lookup(ctx, topic, id)
	if err != nil {
		return loc{}, nil, err
	}
	row, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: key(l.pk(topic), l.sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return loc{}, nil, translate("read item", err)
	}
	if row.Item == nil {
		// Lookup and row are written in one transaction, so a missing row
		// means a transaction moved it between our two reads; callers retry.
		return l, nil, errRace
	}
	return l, row.Item, nil
}

// lookup reads the lookup row of id (strongly consistent); store.ErrNotFound
// if there is none.
func (s *Store) lookup(ctx context.Context, topic, id string) (loc, error) {
	lk, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.table, Key: key(livePK(topic), lookupSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return loc{}, translate("read lookup", err)
	}
	if lk.Item == nil {
		return loc{}, store.ErrNotFound
	}
	return loc{state: getS(lk.Item, attrState), sk: getS(lk.Item, attrAt)}, nil
}

// relocate atomically deletes the data row at from (unchanged since it was
// read: same attempts), writes moved at to and repoints the lookup row. It
// returns errRace if a concurrent writer changed any of them first.
func (s *Store) relocate(ctx context.Context, topic, id string, from loc, row map[string]types.AttributeValue, to loc, moved map[string]types.AttributeValue) error {
	moved[attrWritten] = num(s.opts.now().UnixMilli())
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 s.table,
			Key:                       key(from.pk(topic), from.sk),
			ConditionExpression:       aws.String("attribute_exists(#pk) AND #attempts = :attempts"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#attempts": attrAttempts},
			ExpressionAttributeValues: map[string]types.AttributeValue{":attempts": num(getN(row, attrAttempts))},
		}},
		{Put: &types.Put{TableName: s.table, Item: moved}},
		{Update: &types.Update{
			TableName:                s.table,
			Key:                      key(livePK(topic), lookupSK(id)),
			UpdateExpression:         aws.String("SET #state = :state, #at = :to"),
			ConditionExpression:      aws.String("#at = :from"),
			ExpressionAttributeNames: map[string]string{"#state": attrState, "#at": attrAt},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":state": str(to.state), ":to": str(to.sk), ":from": str(from.sk),
			},
		}},
	}})
	if err == nil {
		return nil
	}
	if isRace(err) {
		return errRace
	}
	return err
}

// itemRow encodes the data attributes of item (without keys).
func itemRow(item store.Item) map[string]types.AttributeValue {
	row := map[string]types.AttributeValue{
		attrID:       str(item.ID),
		attrDue:      num(item.Due.UnixNano()),
		attrCreated:  num(item.Created.UnixNano()),
		attrAttempts: num(int64(item.Attempts)),
	}
	if len(item.Payload) > 0 {
		row[attrPayload] = &types.AttributeValueMemberB{Value: item.Payload}
	}
	setLastErr(row, item.LastError)
	return row
}

func setLastErr(row map[string]types.AttributeValue, lastErr string) {
	if lastErr == "" {
		delete(row, attrLastErr)
		return
	}
	row[attrLastErr] = str(lastErr)
}

// rowItem decodes a data row.
func rowItem(topic string, row map[string]types.AttributeValue) store.Item {
	return store.Item{
		Topic:     topic,
		ID:        getS(row, attrID),
		Payload:   getB(row, attrPayload),
		Due:       time.Unix(0, getN(row, attrDue)).UTC(),
		Attempts:  int(getN(row, attrAttempts)),
		LastError: getS(row, attrLastErr),
		Created:   time.Unix(0, getN(row, attrCreated)).UTC(),
	}
}
