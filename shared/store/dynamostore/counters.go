package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

func counterPK(series, day string) string { return "ctr#" + series + "#" + day }

const memberPrefix = "m#"

// Incr adds delta to the row of member in the day partition of series with
// an atomic ADD.
func (s *Store) Incr(ctx context.Context, series, member string, day time.Time, delta int64) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       key(counterPK(series, store.DayKey(day)), memberPrefix+member),
		UpdateExpression:          aws.String("ADD #n :d"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)},
	})
	return translate("incr "+series+"/"+member, err)
}

// Counts queries one partition per day in [from, to] (at most the
// WithMaxDays limit, else domain.ErrInvalid), a few days in parallel. Days
// without counts are absent from the result.
func (s *Store) Counts(ctx context.Context, series string, from, to time.Time) (map[string]map[string]int64, error) {
	first := from.UTC().Truncate(24 * time.Hour)
	last := to.UTC().Truncate(24 * time.Hour)
	var days []string
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if len(days) == s.opts.maxDays {
			return nil, fmt.Errorf("dynamostore: counts %s: more than %d days: %w", series, s.opts.maxDays, domain.ErrInvalid)
		}
		days = append(days, store.DayKey(d))
	}
	var (
		mu       sync.Mutex
		out      = make(map[string]map[string]int64)
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, s.opts.countersPar)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, day := range days {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m, err := s.countDay(ctx, series, day)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			if len(m) > 0 {
				out[day] = m
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// countDay reads every member row of one day partition.
func (s *Store) countDay(ctx context.Context, series, day string) (map[string]int64, error) {
	m := make(map[string]int64)
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(counterPK(series, day))},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, translate("counts "+series+" "+day, err)
		}
		for _, row := range page.Items {
			m[strings.TrimPrefix(getS(row, attrSK), memberPrefix)] = getN(row, attrCount)
		}
	}
	return m, nil
}
