package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/wecom"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/event"
	"wecom-crm-bot/shared/worker"
)

// fakeKf answers sync_msg with one new customer question per call, the
// way WeCom does after a kf_msg_or_event callback, and accepts every send.
type fakeKf struct{ n atomic.Int64 }

func (f *fakeKf) SyncMsg(ctx context.Context, req wecom.SyncMsgRequest) (wecom.SyncMsgResponse, error) {
	i := f.n.Add(1)
	return wecom.SyncMsgResponse{NextCursor: fmt.Sprint("c", i), MsgList: []wecom.KfMsg{{
		MsgID: fmt.Sprint("m", i), OpenKfID: "wkBENCH", ExternalUserID: fmt.Sprint("wmBENCH", i%50),
		SendTime: time.Now().Unix(), Origin: 3, MsgType: "text", Text: &wecom.KfText{Content: "发票怎么开"},
	}}}, nil
}
func (f *fakeKf) SendMsg(ctx context.Context, m wecom.KfMessage) (string, error) { return "sent", nil }
func (f *fakeKf) SendMsgOnEvent(ctx context.Context, code string, m wecom.KfMessage) (string, error) {
	return "sent", nil
}
func (f *fakeKf) TransServiceState(ctx context.Context, openKfID, ext string, state int, servicer string) (string, error) {
	return "", nil
}
func (f *fakeKf) BatchGetCustomers(ctx context.Context, ids []string) ([]wecom.Customer, error) {
	return nil, nil
}

// countingStore counts the writes (each one a bbolt transaction with an
// fsync) that the worker and the recorder make.
type countingStore struct {
	*boltstore.Store
	writes atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, value []byte, version int64, ttl time.Duration) (int64, error) {
	c.writes.Add(1)
	return c.Store.Put(ctx, key, value, version, ttl)
}
func (c *countingStore) Incr(ctx context.Context, series, member string, day time.Time, delta int64) error {
	c.writes.Add(1)
	return c.Store.Incr(ctx, series, member, day, delta)
}
func (c *countingStore) Add(ctx context.Context, item store.Item) error {
	c.writes.Add(1)
	return c.Store.Add(ctx, item)
}
func (c *countingStore) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	c.writes.Add(1)
	return c.Store.Acquire(ctx, name, owner, ttl)
}
func (c *countingStore) Renew(ctx context.Context, name, owner string, ttl time.Duration) error {
	c.writes.Add(1)
	return c.Store.Renew(ctx, name, owner, ttl)
}
func (c *countingStore) Release(ctx context.Context, name, owner string) error {
	c.writes.Add(1)
	return c.Store.Release(ctx, name, owner)
}

// BenchmarkWorkerMessage handles one kf customer message end to end in the
// worker (lease, sync_msg, conversation state, bot, send, done-marks) on
// bbolt, without and with the analytics Recorder, in the same run.
func BenchmarkWorkerMessage(b *testing.B) {
	for _, withRecorder := range []bool{false, true} {
		name := "without_recorder"
		if withRecorder {
			name = "with_recorder"
		}
		b.Run(name, func(b *testing.B) {
			st := &countingStore{Store: openStore(b)}
			var metrics worker.Metrics
			var rec *analytics.Recorder
			if withRecorder {
				rec = analytics.New(st, analytics.WithLogger(slog.New(slog.DiscardHandler)))
				metrics = rec
			}
			w, err := worker.New(worker.Config{
				Channels: []worker.Channel{{Name: "kf", CorpID: "wwBENCH", Kf: &fakeKf{}}},
				State:    st, Brain: bot.New(bot.DefaultKnowledge(), bot.Ports{}), Metrics: metrics,
				Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				env := callback.Envelope{Key: fmt.Sprint("cb:kf:", i), Channel: "kf", CorpID: "wwBENCH", Received: time.Now(),
					CorrelationID: "bench", Kind: "kf", Message: event.Message{MsgType: "event", Event: "kf_msg_or_event", Token: "t", OpenKfID: "wkBENCH"}}
				body, _ := json.Marshal(env)
				if err := w.Handle(ctx, queue.Message{ID: env.Key, Body: body}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if rec != nil {
				if err := rec.Close(); err != nil { // the last flush is part of the Recorder's cost, but off the hot path
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.writes.Load())/float64(b.N), "writes/op")
		})
	}
}

// BenchmarkRecord is the hot-path cost of one Record call.
func BenchmarkRecord(b *testing.B) {
	r := analytics.New(openStore(b), analytics.WithFlushInterval(0))
	ev := worker.Event{At: time.Now(), Channel: "kf", Kind: "message_in", Intent: "invoice_how", Answered: true}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Record(ctx, ev)
	}
}
