package callback_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom/callback"
)

// TestVectorsThroughHandler feeds the envelopes of wecom-protocol.md §1.8,
// produced by Tencent's official sample and by go-workwx (SDKs independent
// of this project), through the handler.
func TestVectorsThroughHandler(t *testing.T) {
	vs := loadVectors(t)
	tests := []struct {
		vector      string
		wantContent string
		wantKey     string
	}{
		{"A-official-GET", "", ""},
		{"C-go-workwx-GET", "", ""},
		{"A-official-POST", "hello", "cb:default:msg:4561255354251345929"},
		{"B-go-workwx-POST", "x123", "cb:default:msg:2018405441"},
	}
	for _, tc := range tests {
		t.Run(tc.vector, func(t *testing.T) {
			v := vs[tc.vector]
			r := newRig(t, v.channel("default"))
			if v.Method == "GET" {
				q := url.Values{"msg_signature": {v.MsgSignature}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "echostr": {v.Encrypt}}
				rec := do(t, r.h, "GET", "/wecom?"+q.Encode(), nil)
				if rec.Code != 200 || rec.Body.String() != v.Msg {
					t.Fatalf("GET = %d %q, want 200 %q", rec.Code, rec.Body.String(), v.Msg)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/plain" {
					t.Errorf("Content-Type = %q", ct)
				}
				if _, calls := r.claims.snapshot(); calls != 0 || len(r.pub.published()) != 0 {
					t.Error("GET verification had side effects")
				}
				return
			}
			rec := do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce),
				strings.NewReader(postBody(v.CorpID, v.Encrypt, v.AgentID)))
			if rec.Code != 200 || rec.Body.String() != "success" {
				t.Fatalf("POST = %d %q", rec.Code, rec.Body.String())
			}
			pub := r.pub.published()
			if len(pub) != 1 {
				t.Fatalf("published %d messages, want 1", len(pub))
			}
			m := pub[0]
			e := decodeEnvelope(t, m)
			if m.ID != tc.wantKey || e.Key != tc.wantKey {
				t.Errorf("ID/Key = %q/%q, want %q", m.ID, e.Key, tc.wantKey)
			}
			if e.Message.Content != tc.wantContent || e.Kind != "app_message" || e.Channel != "default" || e.CorpID != v.CorpID {
				t.Errorf("envelope = %+v", e)
			}
			if !e.Received.Equal(fixedNow) || e.Raw != "" {
				t.Errorf("Received/Raw = %v/%q", e.Received, e.Raw)
			}
			if e.CorrelationID == "" || m.Attributes["correlation_id"] != e.CorrelationID || rec.Header().Get("X-Correlation-ID") != e.CorrelationID {
				t.Errorf("correlation id: envelope %q, attribute %q, header %q", e.CorrelationID, m.Attributes["correlation_id"], rec.Header().Get("X-Correlation-ID"))
			}
			claims, _ := r.claims.snapshot()
			if ttl, ok := claims[tc.wantKey]; !ok || ttl != time.Hour {
				t.Errorf("claims = %v, want %s with 1h TTL", claims, tc.wantKey)
			}
			if !strings.Contains(r.logs.String(), e.CorrelationID) {
				t.Error("correlation id not logged")
			}
		})
	}
}

// TestNoSecretsInLogs checks that neither keys nor message content reach the log.
func TestNoSecretsInLogs(t *testing.T) {
	v := loadVectors(t)["A-official-POST"]
	r := newRig(t, v.channel("default"))
	do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
	do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
	do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature[1:]+"0", v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
	logs := r.logs.String()
	if !strings.Contains(logs, "enqueued") || !strings.Contains(logs, "duplicate") || !strings.Contains(logs, "bad signature") {
		t.Fatalf("expected log lines missing:\n%s", logs)
	}
	for _, secret := range []string{v.Token, v.EncodingAESKey, v.Encrypt[:20], "hello", "mycreate", v.MsgSignature} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
}

func TestTamperedRejectedWithoutSideEffects(t *testing.T) {
	v := loadVectors(t)["B-go-workwx-POST"]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	wrongToken := v.channel("default")
	wrongToken.Token += "x"
	tests := []struct {
		name           string
		ch             callback.Channel
		sig, ts, nonce string
		encrypt        string
		want           int
	}{
		{"flipped signature", v.channel("default"), flip(v.MsgSignature, 0), v.Timestamp, v.Nonce, v.Encrypt, 401},
		{"missing signature", v.channel("default"), "", v.Timestamp, v.Nonce, v.Encrypt, 401},
		{"other timestamp", v.channel("default"), v.MsgSignature, "1583995626", v.Nonce, v.Encrypt, 401},
		{"other nonce", v.channel("default"), v.MsgSignature, v.Timestamp, "1584392383", v.Encrypt, 401},
		{"flipped ciphertext start", v.channel("default"), v.MsgSignature, v.Timestamp, v.Nonce, flip(v.Encrypt, 3), 401},
		{"flipped ciphertext end", v.channel("default"), v.MsgSignature, v.Timestamp, v.Nonce, flip(v.Encrypt, len(v.Encrypt)-6), 401},
		{"wrong token configured", wrongToken, v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.ch)
			rec := do(t, r.h, "POST", "/wecom?"+query(tc.sig, tc.ts, tc.nonce), strings.NewReader(postBody(v.CorpID, tc.encrypt, "1000002")))
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if keys, calls := r.claims.snapshot(); calls != 0 || len(keys) != 0 {
				t.Errorf("claims touched: %d calls, %v", calls, keys)
			}
			if n := len(r.pub.published()); n != 0 {
				t.Errorf("published %d", n)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	v := loadVectors(t)["B-go-workwx-POST"]
	ch := v.channel("default")
	wrongCorp := ch
	wrongCorp.CorpID = "wwsomeoneelse"
	validQ, validBody := signedPost(t, ch, []byte("not xml at all"), "1700000000", "n1")
	noTypeQ, noTypeBody := signedPost(t, ch, []byte("<xml><Content>hi</Content></xml>"), "1700000000", "n2")
	tests := []struct {
		name  string
		ch    callback.Channel
		query string
		body  string
		want  int
	}{
		{"empty body", ch, query(v.MsgSignature, v.Timestamp, v.Nonce), "", 400},
		{"garbage body", ch, query(v.MsgSignature, v.Timestamp, v.Nonce), "\x00\xffgarbage", 400},
		{"JSON body", ch, query(v.MsgSignature, v.Timestamp, v.Nonce), `{"Encrypt":"x"}`, 400},
		{"XML without Encrypt", ch, query(v.MsgSignature, v.Timestamp, v.Nonce), "<xml><ToUserName>x</ToUserName></xml>", 400},
		{"receiveid mismatch (valid signature)", wrongCorp, query(v.MsgSignature, v.Timestamp, v.Nonce), postBody(v.CorpID, v.Encrypt, ""), 400},
		{"plaintext not XML (valid signature)", ch, validQ, validBody, 400},
		{"plaintext without MsgType (valid signature)", ch, noTypeQ, noTypeBody, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.ch)
			rec := do(t, r.h, "POST", "/wecom?"+tc.query, strings.NewReader(tc.body))
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if keys, calls := r.claims.snapshot(); calls != 0 || len(keys) != 0 || len(r.pub.published()) != 0 {
				t.Error("side effects on a bad request")
			}
		})
	}
	t.Run("bad base64 with valid signature", func(t *testing.T) {
		r := newRig(t, ch)
		// Sign an Encrypt value that is not base64, as a buggy sender would.
		enc := "!!!!not-base64!!!!"
		sig := sign(t, ch, "1", "2", enc)
		rec := do(t, r.h, "POST", "/wecom?"+query(sig, "1", "2"), strings.NewReader(postBody(ch.CorpID, enc, "")))
		if rec.Code != 400 {
			t.Fatalf("status = %d, want 400", rec.Code)
		}
	})
}

func TestRoutingAndMethods(t *testing.T) {
	vs := loadVectors(t)
	a, c := vs["A-official-GET"], vs["C-go-workwx-GET"]
	r := newRig(t, a.channel("default"), c.channel("sales"))
	getQ := func(v vector) string {
		return url.Values{"msg_signature": {v.MsgSignature}, "timestamp": {v.Timestamp}, "nonce": {v.Nonce}, "echostr": {v.Encrypt}}.Encode()
	}
	tests := []struct {
		name, method, target string
		want                 int
		body                 string
	}{
		{"default at /wecom", "GET", "/wecom?" + getQ(a), 200, a.Msg},
		{"default at /wecom/default", "GET", "/wecom/default?" + getQ(a), 200, a.Msg},
		{"trailing slash", "GET", "/wecom/?" + getQ(a), 200, a.Msg},
		{"named channel", "GET", "/wecom/sales?" + getQ(c), 200, c.Msg},
		{"other channel's signature", "GET", "/wecom/sales?" + getQ(a), 401, ""},
		{"unknown channel", "GET", "/wecom/nope?" + getQ(a), 404, ""},
		{"nested path", "GET", "/wecom/sales/x?" + getQ(c), 404, ""},
		{"other prefix", "GET", "/wecomx?" + getQ(a), 404, ""},
		{"root", "GET", "/", 404, ""},
		{"PUT", "PUT", "/wecom", 405, ""},
		{"DELETE", "DELETE", "/wecom/sales", 405, ""},
		{"GET without echostr", "GET", "/wecom?msg_signature=x&timestamp=1&nonce=2", 400, ""},
		{"GET with bad signature", "GET", "/wecom?" + strings.Replace(getQ(a), "msg_signature=5", "msg_signature=6", 1), 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, r.h, tc.method, tc.target, nil)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if tc.want == 200 && rec.Body.String() != tc.body {
				t.Errorf("body = %q, want %q", rec.Body.String(), tc.body)
			}
		})
	}
}

// TestEchostrQueryEncoding: echostr holds '+', '/' and '='. Properly
// percent-encoded it verifies; sent raw, '+' decodes to a space (as a real
// query parser must do), so the signature no longer matches.
func TestEchostrQueryEncoding(t *testing.T) {
	v := loadVectors(t)["A-official-GET"]
	if !strings.ContainsAny(v.Encrypt, "+") || !strings.Contains(v.Encrypt, "/") || !strings.HasSuffix(v.Encrypt, "=") {
		t.Fatal("vector does not exercise + / =")
	}
	r := newRig(t, v.channel("default"))
	base := "/wecom?msg_signature=" + v.MsgSignature + "&timestamp=" + v.Timestamp + "&nonce=" + v.Nonce + "&echostr="
	tests := []struct {
		name, echostr string
		want          int
	}{
		{"percent-encoded", url.QueryEscape(v.Encrypt), 200},
		{"as in the doc (%2F %2B %3D)", "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", 200},
		{"only + encoded", strings.ReplaceAll(v.Encrypt, "+", "%2B"), 200},
		{"raw + becomes space", v.Encrypt, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, r.h, "GET", base+tc.echostr, nil)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if tc.want == 200 && rec.Body.String() != v.Msg {
				t.Errorf("body = %q, want exactly %q", rec.Body.String(), v.Msg)
			}
		})
	}
}

func TestDuplicatesPublishOnce(t *testing.T) {
	v := loadVectors(t)["A-official-POST"]
	t.Run("sequential", func(t *testing.T) {
		r := newRig(t, v.channel("default"))
		for i := range 4 {
			rec := do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
			if rec.Code != 200 || rec.Body.String() != "success" {
				t.Fatalf("delivery %d: %d %q", i, rec.Code, rec.Body.String())
			}
		}
		if n := len(r.pub.published()); n != 1 {
			t.Fatalf("published %d, want 1", n)
		}
	})
	t.Run("re-encrypted by WeCom on retry", func(t *testing.T) {
		// A retry carries the same message under a fresh random prefix and nonce.
		r := newRig(t, v.channel("default"))
		for i := range 4 {
			q, body := signedPost(t, v.channel("default"), []byte(v.Msg), "1409659813", fmt.Sprint("nonce", i))
			if rec := do(t, r.h, "POST", "/wecom?"+q, strings.NewReader(body)); rec.Code != 200 {
				t.Fatalf("delivery %d: %d", i, rec.Code)
			}
		}
		if n := len(r.pub.published()); n != 1 {
			t.Fatalf("published %d, want 1", n)
		}
	})
	t.Run("parallel", func(t *testing.T) {
		r := newRig(t, v.channel("default"))
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Go(func() {
				rec := do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
				codes[i] = rec.Code
			})
		}
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Errorf("delivery %d: %d", i, c)
			}
		}
		if n := len(r.pub.published()); n != 1 {
			t.Fatalf("published %d, want 1", n)
		}
	})
	t.Run("same message on two channels is two callbacks", func(t *testing.T) {
		r := newRig(t, v.channel("default"), v.channel("second"))
		for _, p := range []string{"/wecom", "/wecom/second"} {
			if rec := do(t, r.h, "POST", p+"?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, ""))); rec.Code != 200 {
				t.Fatalf("%s: %d", p, rec.Code)
			}
		}
		if n := len(r.pub.published()); n != 2 {
			t.Fatalf("published %d, want 2", n)
		}
	})
}

func TestPublishFailureReleasesClaim(t *testing.T) {
	v := loadVectors(t)["B-go-workwx-POST"]
	r := newRig(t, v.channel("default"))
	r.pub.fail = func(n int) error {
		if n == 1 {
			return errQueueDown
		}
		return nil
	}
	post := func() int {
		return do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, ""))).Code
	}
	if code := post(); code != 503 {
		t.Fatalf("first delivery = %d, want 503", code)
	}
	if keys, _ := r.claims.snapshot(); len(keys) != 0 {
		t.Fatalf("claim not released: %v", keys)
	}
	if code := post(); code != 200 {
		t.Fatalf("retry = %d, want 200", code)
	}
	if code := post(); code != 200 {
		t.Fatalf("duplicate after success = %d, want 200", code)
	}
	if n := len(r.pub.published()); n != 1 {
		t.Fatalf("published %d, want 1", n)
	}
}

func TestClaimFailure(t *testing.T) {
	v := loadVectors(t)["B-go-workwx-POST"]
	r := newRig(t, v.channel("default"))
	r.claims.claimErr = fmt.Errorf("redis: %w", domain.ErrUnavailable)
	rec := do(t, r.h, "POST", "/wecom?"+query(v.MsgSignature, v.Timestamp, v.Nonce), strings.NewReader(postBody(v.CorpID, v.Encrypt, "")))
	if rec.Code != 503 || len(r.pub.published()) != 0 {
		t.Fatalf("status = %d, published %d; want 503 and nothing", rec.Code, len(r.pub.published()))
	}
}

func TestOversizedBody(t *testing.T) {
	v := loadVectors(t)["B-go-workwx-POST"]
	r := newRig(t, v.channel("default")) // WithMaxBody(64 KiB)
	big := postBody(v.CorpID, v.Encrypt, strings.Repeat("9", 64<<10))
	q := "/wecom?" + query(v.MsgSignature, v.Timestamp, v.Nonce)
	t.Run("Content-Length", func(t *testing.T) {
		if rec := do(t, r.h, "POST", q, strings.NewReader(big)); rec.Code != 413 {
			t.Fatalf("status = %d, want 413", rec.Code)
		}
	})
	t.Run("unknown length", func(t *testing.T) {
		// io.MultiReader hides the length: httptest sets ContentLength -1.
		if rec := do(t, r.h, "POST", q, io.MultiReader(strings.NewReader(big))); rec.Code != 413 {
			t.Fatalf("status = %d, want 413", rec.Code)
		}
	})
	t.Run("just under the limit is read", func(t *testing.T) {
		ok := postBody(v.CorpID, v.Encrypt, "")
		pad := strings.Repeat(" ", 64<<10-len(ok))
		body := strings.Replace(ok, "</xml>", pad+"</xml>", 1)
		if len(body) != 64<<10 {
			t.Fatalf("len %d", len(body))
		}
		if rec := do(t, r.h, "POST", q, io.MultiReader(strings.NewReader(body))); rec.Code != 200 {
			t.Fatalf("status = %d, want 200", rec.Code)
		}
	})
	if keys, _ := r.claims.snapshot(); len(keys) != 1 {
		t.Errorf("claims = %v", keys)
	}
}

func TestKindsAndUnknownEvents(t *testing.T) {
	ch := loadVectors(t)["B-go-workwx-POST"].channel("default")
	tests := []struct {
		name, xml string
		kind      string
		keepRaw   bool
	}{
		{"kf", "<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[T1]]></Token><OpenKfId><![CDATA[wk1]]></OpenKfId></xml>", "kf", false},
		{"contact", "<xml><FromUserName>sys</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType><ExternalUserID>wm1</ExternalUserID></xml>", "contact", false},
		{"app event", "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>enter_agent</Event></xml>", "app_event", false},
		{"unknown event", "<xml><FromUserName>sys</FromUserName><CreateTime>2</CreateTime><MsgType>event</MsgType><Event>brand_new_event</Event><Foo>bar</Foo></xml>", "unknown", true},
		{"unknown msgtype", "<xml><FromUserName>u</FromUserName><CreateTime>3</CreateTime><MsgType>hologram</MsgType><MsgId>77</MsgId></xml>", "unknown", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, ch)
			q, body := signedPost(t, ch, []byte(tc.xml), "1700000000", "abc")
			if rec := do(t, r.h, "POST", "/wecom?"+q, strings.NewReader(body)); rec.Code != 200 || rec.Body.String() != "success" {
				t.Fatalf("status = %d %q", rec.Code, rec.Body.String())
			}
			pub := r.pub.published()
			if len(pub) != 1 {
				t.Fatalf("published %d", len(pub))
			}
			e := decodeEnvelope(t, pub[0])
			if e.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q", e.Kind, tc.kind)
			}
			if tc.keepRaw != (e.Raw == tc.xml) || (!tc.keepRaw && e.Raw != "") {
				t.Errorf("Raw = %q (keep %v)", e.Raw, tc.keepRaw)
			}
			if !strings.HasPrefix(e.Key, "cb:default:") || e.Key != pub[0].ID {
				t.Errorf("Key = %q, ID = %q", e.Key, pub[0].ID)
			}
		})
	}
}

func TestNewHandlerErrors(t *testing.T) {
	good := loadVectors(t)["B-go-workwx-POST"].channel("default")
	badKey := good
	badKey.EncodingAESKey = "short"
	unnamed := good
	unnamed.Name = ""
	slashed := good
	slashed.Name = "a/b"
	tests := []struct {
		name     string
		channels []callback.Channel
		nilDeps  bool
		opts     []callback.Option
	}{
		{"no channels", nil, false, nil},
		{"duplicate", []callback.Channel{good, good}, false, nil},
		{"bad key", []callback.Channel{badKey}, false, nil},
		{"empty name", []callback.Channel{unnamed}, false, nil},
		{"slash in name", []callback.Channel{slashed}, false, nil},
		{"nil deps", []callback.Channel{good}, true, nil},
		{"zero TTL", []callback.Channel{good}, false, []callback.Option{callback.WithClaimTTL(0)}},
		{"zero max body", []callback.Channel{good}, false, []callback.Option{callback.WithMaxBody(0)}},
		{"nil clock", []callback.Channel{good}, false, []callback.Option{callback.WithClock(nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				cl  callback.Claimer = newFakeClaims()
				pub                  = &fakePublisher{}
				err error
			)
			if tc.nilDeps {
				_, err = callback.NewHandler(tc.channels, nil, nil, nil, tc.opts...)
			} else {
				_, err = callback.NewHandler(tc.channels, cl, pub, nil, tc.opts...)
			}
			if !errors.Is(err, domain.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := callback.NewHandler([]callback.Channel{good}, newFakeClaims(), &fakePublisher{}, nil); err != nil {
		t.Fatalf("nil logger should be allowed: %v", err)
	}
}

var _ http.Handler = (*callback.Handler)(nil)
