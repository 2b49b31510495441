package callback_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// vector is one entry of testdata/vectors.json (wecom-protocol.md §1.8).
type vector struct {
	Name           string `json:"name"`
	Method         string `json:"method"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	CorpID         string `json:"corp_id"`
	AgentID        string `json:"agent_id"`
	MsgSignature   string `json:"msg_signature"`
	Timestamp      string `json:"timestamp"`
	Nonce          string `json:"nonce"`
	Encrypt        string `json:"encrypt"`
	Msg            string `json:"msg"`
}

func loadVectors(tb testing.TB) map[string]vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	m := map[string]vector{}
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

func (v vector) channel(name string) callback.Channel {
	return callback.Channel{Name: name, CorpID: v.CorpID, Token: v.Token, EncodingAESKey: v.EncodingAESKey}
}

// fakeClaims is an in-memory Claimer. Expiry is not modelled: the real
// engines are tested by the store package.
type fakeClaims struct {
	mu       sync.Mutex
	keys     map[string]time.Duration
	claimErr error
	calls    int
}

func newFakeClaims() *fakeClaims { return &fakeClaims{keys: map[string]time.Duration{}} }

func (c *fakeClaims) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.claimErr != nil {
		return false, c.claimErr
	}
	if _, ok := c.keys[key]; ok {
		return false, nil
	}
	c.keys[key] = ttl
	return true, nil
}

func (c *fakeClaims) Unclaim(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, key)
	return nil
}

func (c *fakeClaims) snapshot() (map[string]time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Duration, len(c.keys))
	for k, v := range c.keys {
		out[k] = v
	}
	return out, c.calls
}

// fakePublisher records published messages; fail, when set, decides per call.
type fakePublisher struct {
	mu   sync.Mutex
	msgs []queue.Message
	fail func(n int) error
	n    int
}

func (p *fakePublisher) Publish(ctx context.Context, msg queue.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.fail != nil {
		if err := p.fail(p.n); err != nil {
			return err
		}
	}
	p.msgs = append(p.msgs, msg)
	return nil
}

func (p *fakePublisher) published() []queue.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]queue.Message(nil), p.msgs...)
}

var errQueueDown = errors.New("queue down")

var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type rig struct {
	h      *callback.Handler
	claims *fakeClaims
	pub    *fakePublisher
	logs   *strings.Builder
}

func newRig(tb testing.TB, channels ...callback.Channel) *rig {
	tb.Helper()
	r := &rig{claims: newFakeClaims(), pub: &fakePublisher{}, logs: &strings.Builder{}}
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: r.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := callback.NewHandler(channels, r.claims, r.pub, logger,
		callback.WithClock(func() time.Time { return fixedNow }), callback.WithClaimTTL(time.Hour), callback.WithMaxBody(64<<10))
	if err != nil {
		tb.Fatal(err)
	}
	r.h = h
	return r
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// postBody is the encrypted callback body of §1.5.
func postBody(corpID, encrypt, agentID string) string {
	return "<xml><ToUserName><![CDATA[" + corpID + "]]></ToUserName><Encrypt><![CDATA[" + encrypt +
		"]]></Encrypt><AgentID><![CDATA[" + agentID + "]]></AgentID></xml>"
}

func query(sig, ts, nonce string) string {
	return url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}.Encode()
}

func do(tb testing.TB, h http.Handler, method, target string, body io.Reader) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequestWithContext(tb.Context(), method, target, body)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signedPost encrypts plain for the channel with our own Crypter and returns
// the query string and body of a valid POST callback.
func signedPost(tb testing.TB, ch callback.Channel, plain []byte, ts, nonce string) (string, string) {
	tb.Helper()
	c, err := wxcrypt.New(ch.Token, ch.EncodingAESKey, ch.CorpID)
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := c.Encrypt(plain)
	if err != nil {
		tb.Fatal(err)
	}
	return query(c.Signature(ts, nonce, enc), ts, nonce), postBody(ch.CorpID, enc, "1000002")
}

func decodeEnvelope(tb testing.TB, m queue.Message) callback.Envelope {
	tb.Helper()
	var e callback.Envelope
	if err := json.Unmarshal(m.Body, &e); err != nil {
		tb.Fatalf("envelope JSON: %v", err)
	}
	return e
}

// sign computes a msg_signature for an arbitrary Encrypt value.
func sign(tb testing.TB, ch callback.Channel, ts, nonce, enc string) string {
	tb.Helper()
	c, err := wxcrypt.New(ch.Token, ch.EncodingAESKey, ch.CorpID)
	if err != nil {
		tb.Fatal(err)
	}
	return c.Signature(ts, nonce, enc)
}
