package callback_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"wecom-crm-bot/shared/queue"
	"wecom-crm-bot/shared/wecom/callback"
	"wecom-crm-bot/shared/wecom/event"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// All benchmarks use vector A's POST (the official sample's text message):
// go test -run '^$' -bench . -benchmem ./shared/wecom/callback/

// BenchmarkBareCrypto is the floor: sha1 over the pre-sorted signature
// input, base64 decode and AES-256-CBC decrypt into reused buffers.
func BenchmarkBareCrypto(b *testing.B) {
	v := loadVectors(b)["A-official-POST"]
	key, _ := base64.StdEncoding.DecodeString(v.EncodingAESKey + "=")
	block, _ := aes.NewCipher(key)
	in := []string{v.Timestamp, v.Nonce, v.Token, v.Encrypt}
	sort.Strings(in)
	sigIn := make([]byte, 0, 1024)
	ct := make([]byte, base64.StdEncoding.DecodedLen(len(v.Encrypt)))
	encBytes := []byte(v.Encrypt)
	b.ReportAllocs()
	for b.Loop() {
		sigIn = append(append(append(append(sigIn[:0], in[0]...), in[1]...), in[2]...), in[3]...)
		sum := sha1.Sum(sigIn)
		n, err := base64.StdEncoding.Decode(ct, encBytes)
		if err != nil || sum[0] == 0 && sum[1] == 0 {
			b.Fatal(err)
		}
		cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(ct[:n], ct[:n])
	}
}

// BenchmarkVerifyDecryptParse is this project's path from the POST body:
// extract <Encrypt>, verify, decrypt, parse.
func BenchmarkVerifyDecryptParse(b *testing.B) {
	v := loadVectors(b)["A-official-POST"]
	c, err := wxcrypt.New(v.Token, v.EncodingAESKey, v.CorpID)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(postBody(v.CorpID, v.Encrypt, ""))
	b.ReportAllocs()
	for b.Loop() {
		env, err := event.ParseEncrypted(body)
		if err != nil {
			b.Fatal(err)
		}
		if !c.Verify(v.MsgSignature, v.Timestamp, v.Nonce, env.Encrypt) {
			b.Fatal("signature")
		}
		plain, err := c.Decrypt(env.Encrypt)
		if err != nil {
			b.Fatal(err)
		}
		m, err := event.Parse(plain)
		if err != nil || m.Content != "hello" {
			b.Fatal(err)
		}
	}
}

// naiveCrypter is a straightforward port in the style of the official Go
// sample: encoding/xml, sort.Strings, a fresh cipher per message.
type naiveCrypter struct {
	token, corpID string
	key           []byte
}

type naiveEnvelope struct {
	Encrypt string `xml:"Encrypt"`
}

type naiveMessage struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	AgentID      string `xml:"AgentID"`
}

func (n *naiveCrypter) handle(sig, ts, nonce string, body []byte) (naiveMessage, error) {
	var env naiveEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return naiveMessage{}, err
	}
	parts := []string{n.token, ts, nonce, env.Encrypt}
	sort.Strings(parts)
	h := sha1.New()
	for _, p := range parts {
		io.WriteString(h, p)
	}
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(h.Sum(nil))), []byte(sig)) != 1 {
		return naiveMessage{}, errors.New("signature")
	}
	ct, err := base64.StdEncoding.DecodeString(env.Encrypt)
	if err != nil {
		return naiveMessage{}, err
	}
	block, err := aes.NewCipher(n.key)
	if err != nil {
		return naiveMessage{}, err
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, n.key[:16]).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 {
		return naiveMessage{}, errors.New("padding")
	}
	plain = plain[:len(plain)-pad]
	l := int(binary.BigEndian.Uint32(plain[16:20]))
	if string(plain[20+l:]) != n.corpID {
		return naiveMessage{}, errors.New("receiveid")
	}
	var m naiveMessage
	if err := xml.Unmarshal(plain[20:20+l], &m); err != nil {
		return naiveMessage{}, err
	}
	return m, nil
}

// BenchmarkNaiveStdlib is the same work done naively with encoding/xml.
func BenchmarkNaiveStdlib(b *testing.B) {
	v := loadVectors(b)["A-official-POST"]
	key, _ := base64.StdEncoding.DecodeString(v.EncodingAESKey + "=")
	n := &naiveCrypter{token: v.Token, corpID: v.CorpID, key: key}
	body := []byte(postBody(v.CorpID, v.Encrypt, ""))
	b.ReportAllocs()
	for b.Loop() {
		m, err := n.handle(v.MsgSignature, v.Timestamp, v.Nonce, body)
		if err != nil || m.Content != "hello" {
			b.Fatal(err)
		}
	}
}

type benchClaims struct{}

func (benchClaims) Claim(context.Context, string, time.Duration) (bool, error) { return true, nil }
func (benchClaims) Unclaim(context.Context, string) error                      { return nil }

type benchPublisher struct{ n int }

func (p *benchPublisher) Publish(_ context.Context, m queue.Message) error {
	p.n += len(m.Body)
	return nil
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkHandler is a full POST through the handler (routing, query
// parsing, body read, verify, decrypt, parse, claim, JSON envelope,
// publish, ack) with an always-winning in-memory claimer and a no-op
// publisher: the acknowledgement latency excluding network and store.
func BenchmarkHandler(b *testing.B) {
	v := loadVectors(b)["A-official-POST"]
	pub := &benchPublisher{}
	h, err := callback.NewHandler([]callback.Channel{v.channel("default")}, benchClaims{}, pub, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(postBody(v.CorpID, v.Encrypt, ""))
	req := httptest.NewRequest("POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), nil)
	rd := bytes.NewReader(body)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}
