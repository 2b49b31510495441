package dynamostore

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/store"
)

// Claim creates the claim row "claim#"+key unless an unexpired one exists.
// A ttl <= 0 makes a claim that never expires.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	now := s.opts.now()
	item := map[string]types.AttributeValue{attrPK: str("claim#" + key), attrSK: str(skSingle)}
	maps.Copy(item, expiry(now, ttl))
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      item,
		ConditionExpression:       aws.String(condAbsent),
		ExpressionAttributeNames:  names(),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
	})
	switch {
	case err == nil:
		return true, nil
	case isCondFailed(err):
		return false, nil
	default:
		return false, translate("claim "+key, err)
	}
}

// Unclaim deletes the claim row; an absent key is no error.
func (s *Store) Unclaim(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key1("claim#" + key)})
	return translate("unclaim "+key, err)
}

func key1(pk string) map[string]types.AttributeValue { return key(pk, skSingle) }

// Acquire writes the lease row "lease#"+name for owner when it is absent,
// expired, or already held by owner.
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	now := s.opts.now()
	item := map[string]types.AttributeValue{attrPK: str("lease#" + name), attrSK: str(skSingle), attrOwner: str(owner)}
	maps.Copy(item, expiry(now, ttl))
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      item,
		ConditionExpression:       aws.String(condAbsent + " OR #owner = :owner"),
		ExpressionAttributeNames:  names(attrOwner),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":owner": str(owner)},
	})
	switch {
	case err == nil:
		return true, nil
	case isCondFailed(err):
		return false, nil
	default:
		return false, translate("acquire lease "+name, err)
	}
}

// Renew extends a lease that owner holds and that has not expired; otherwise
// it returns store.ErrNotOwner.
func (s *Store) Renew(ctx context.Context, name, owner string, ttl time.Duration) error {
	now := s.opts.now()
	item := map[string]types.AttributeValue{attrPK: str("lease#" + name), attrSK: str(skSingle), attrOwner: str(owner)}
	maps.Copy(item, expiry(now, ttl))
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      item,
		ConditionExpression:       aws.String("(" + condLive + ") AND #owner = :owner"),
		ExpressionAttributeNames:  names(attrOwner),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli()), ":owner": str(owner)},
	})
	if isCondFailed(err) {
		return fmt.Errorf("dynamostore: renew lease %s: %w", name, store.ErrNotOwner)
	}
	return translate("renew lease "+name, err)
}

// Release deletes a lease that owner holds and that has not expired;
// otherwise it returns store.ErrNotOwner.
func (s *Store) Release(ctx context.Context, name, owner string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 s.table,
		Key:                       key1("lease#" + name),
		ConditionExpression:       aws.String("(" + condLive + ") AND #owner = :owner"),
		ExpressionAttributeNames:  names(attrOwner),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.opts.now().UnixMilli()), ":owner": str(owner)},
	})
	if isCondFailed(err) {
		return fmt.Errorf("dynamostore: release lease %s: %w", name, store.ErrNotOwner)
	}
	return translate("release lease "+name, err)
}

// Get reads the record row "rec#"+key with a strongly consistent read.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      s.table,
		Key:            key1("rec#" + key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Record{}, translate("get "+key, err)
	}
	if !live(out.Item, s.opts.now()) {
		return store.Record{}, fmt.Errorf("dynamostore: get %s: %w", key, store.ErrNotFound)
	}
	return store.Record{Value: getB(out.Item, attrValue), Version: getN(out.Item, attrVersion)}, nil
}

// Put replaces the record row when its version matches (0: absent or
// expired) and returns the new version.
func (s *Store) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	if version < 0 {
		return 0, fmt.Errorf("dynamostore: put %s: negative version %d: %w", key, version, store.ErrConflict)
	}
	now := s.opts.now()
	item := map[string]types.AttributeValue{
		attrPK:      str("rec#" + key),
		attrSK:      str(skSingle),
		attrVersion: num(version + 1),
	}
	if len(value) > 0 {
		item[attrValue] = &types.AttributeValueMemberB{Value: value}
	}
	maps.Copy(item, expiry(now, ttl))
	in := &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      item,
		ExpressionAttributeNames:  names(),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
	}
	if version == 0 {
		in.ConditionExpression = aws.String(condAbsent)
	} else {
		in.ConditionExpression = aws.String("(" + condLive + ") AND #ver = :ver")
		in.ExpressionAttributeNames["#ver"] = attrVersion
		in.ExpressionAttributeValues[":ver"] = num(version)
	}
	_, err := s.db.PutItem(ctx, in)
	switch {
	case err == nil:
		return version + 1, nil
	case isCondFailed(err):
		return 0, fmt.Errorf("dynamostore: put %s at version %d: %w", key, version, store.ErrConflict)
	default:
		return 0, translate("put "+key, err)
	}
}

// Delete removes the record row; an absent key is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.table, Key: key1("rec#" + key)})
	return translate("delete "+key, err)
}
