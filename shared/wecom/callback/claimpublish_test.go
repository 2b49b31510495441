package callback_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/wecom/callback"
)

// unusedClaims and unusedPublisher fail the test if the handler falls back
// to the two-step path while a ClaimPublisher is configured.
type unusedClaims struct{ t *testing.T }

func (u unusedClaims) Claim(context.Context, string, time.Duration) (bool, error) {
	u.t.Error("Claim called although a ClaimPublisher is configured")
	return false, errors.New("unused")
}

func (u unusedClaims) Unclaim(context.Context, string) error {
	u.t.Error("Unclaim called although a ClaimPublisher is configured")
	return nil
}

type unusedPublisher struct{ t *testing.T }

func (u unusedPublisher) Publish(context.Context, queue.Message) error {
	u.t.Error("Publish called although a ClaimPublisher is configured")
	return errors.New("unused")
}

// With the local queue over bbolt, the claim and the queue entry are one
// write: four parallel deliveries queue one message, and a store failure
// answers 503 without leaving a claim behind.
func TestClaimPublisherOneWrite(t *testing.T) {
	v := loadVectors(t)["A-official-POST"]
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	q := localq.New(st, localq.Config{})
	if !q.CanClaimAndPublish() {
		t.Fatal("bbolt should support claim-and-add")
	}
	h, err := callback.NewHandler([]callback.Channel{v.channel("default")}, unusedClaims{t}, unusedPublisher{t}, nil,
		callback.WithClaimPublisher(q))
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		return do(t, h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, ""))).Code
	}
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() { codes[i] = post() })
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("delivery %d: %d", i, c)
		}
	}
	var got []queue.Message
	n, err := q.Drain(t.Context(), func(ctx context.Context, m queue.Message) error { got = append(got, m); return nil })
	if err != nil || n != 1 || len(got) != 1 {
		t.Fatalf("queued %d (%v), want exactly 1", n, err)
	}
	if env := decodeEnvelope(t, got[0]); env.Message.MsgID != "4561255354251345929" || env.Key != got[0].ID {
		t.Fatalf("envelope %+v", env)
	}
	if won, err := st.Claim(t.Context(), got[0].ID, time.Hour); err != nil || won {
		t.Fatalf("the claim was not written with the queue entry: won=%v err=%v", won, err)
	}

	// Store down: 503, and WeCom's retry is not swallowed.
	st.Close()
	if code := post(); code != 503 {
		t.Fatalf("store down: %d, want 503", code)
	}
}
