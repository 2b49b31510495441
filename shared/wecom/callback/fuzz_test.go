package callback_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzHandlerBody posts arbitrary bodies and query strings. The handler must
// never panic and, with a healthy queue and claim store, never answer 5xx.
func FuzzHandlerBody(f *testing.F) {
	vs := loadVectors(f)
	b := vs["B-go-workwx-POST"]
	f.Add([]byte(postBody(b.CorpID, b.Encrypt, b.AgentID)), query(b.MsgSignature, b.Timestamp, b.Nonce), uint8(1))
	f.Add([]byte(""), "", uint8(0))
	f.Add([]byte("<xml><Encrypt>AAAA</Encrypt></xml>"), "msg_signature=x&timestamp=1&nonce=2", uint8(1))
	a := vs["A-official-GET"]
	f.Add([]byte(nil), query(a.MsgSignature, a.Timestamp, a.Nonce)+"&echostr="+strings.ReplaceAll(a.Encrypt, "+", "%2B"), uint8(0))
	f.Add([]byte("\x00\xff"), "%zz&&==;", uint8(2))
	r := newRig(f, b.channel("default"), a.channel("a"))
	methods := []string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS"}
	f.Fuzz(func(t *testing.T, body []byte, rawQuery string, m uint8) {
		method := methods[int(m)%len(methods)]
		for _, path := range []string{"/wecom", "/wecom/a", "/wecom/zz"} {
			rec := do(t, r.h, method, path+"?"+sanitizeQuery(rawQuery), bytes.NewReader(body))
			if rec.Code >= 500 {
				t.Fatalf("%s %s: status %d", method, path, rec.Code)
			}
		}
		r.logs.Reset() // keep memory flat over long runs
	})
}

// FuzzHandlerPlaintext encrypts and signs arbitrary plaintext properly, so
// the fuzzer reaches the parser and the dedupe path: the answer must be 200
// (accepted or duplicate) or 400 (not a callback document), never 5xx.
func FuzzHandlerPlaintext(f *testing.F) {
	files, _ := filepath.Glob("../event/testdata/*.xml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<xml><MsgType>text</MsgType></xml>"))
	f.Add([]byte("garbage"))
	ch := loadVectors(f)["B-go-workwx-POST"].channel("default")
	r := newRig(f, ch)
	f.Fuzz(func(t *testing.T, plain []byte) {
		q, body := signedPost(t, ch, plain, "1700000000", "fuzz")
		rec := do(t, r.h, "POST", "/wecom?"+q, strings.NewReader(body))
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for plaintext %q", rec.Code, plain)
		}
		r.logs.Reset()
	})
}

// sanitizeQuery keeps the fuzzed query usable in a request target.
func sanitizeQuery(q string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '#' || r >= 0x7f {
			return -1
		}
		return r
	}, q)
}
