package wxcrypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// vector is one entry of testdata/vectors.json (wecom-protocol.md §1.8).
type vector struct {
	Name           string `json:"name"`
	Method         string `json:"method"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	CorpID         string `json:"corp_id"`
	MsgSignature   string `json:"msg_signature"`
	Timestamp      string `json:"timestamp"`
	Nonce          string `json:"nonce"`
	Encrypt        string `json:"encrypt"`
	Msg            string `json:"msg"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatal(err)
	}
	if len(vs) != 4 {
		tb.Fatalf("want 4 vectors, got %d", len(vs))
	}
	return vs
}

func mustNew(tb testing.TB, token, key, corp string) *wxcrypt.Crypter {
	tb.Helper()
	c, err := wxcrypt.New(token, key, corp)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// aesKey derives the 32-byte key the way §1.1 says, independently of the package.
func aesKey(tb testing.TB, encodingAESKey string) []byte {
	tb.Helper()
	k, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(k) != 32 {
		tb.Fatalf("bad test key: %v", err)
	}
	return k
}

// rawEncrypt AES-256-CBC-encrypts plain (a multiple of 16 bytes, padding
// already applied by the caller) with IV = key[:16] and returns base64.
func rawEncrypt(tb testing.TB, key, plain []byte) string {
	tb.Helper()
	if len(plain)%aes.BlockSize != 0 {
		tb.Fatalf("rawEncrypt: %d bytes", len(plain))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// layout builds random16|len|msg|receiveid without padding.
func layout(msg, receiveID string) []byte {
	b := make([]byte, 16, 64)
	copy(b, "0123456789abcdef")
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, msg...)
	return append(b, receiveID...)
}

func pad32(b []byte) []byte {
	n := 32 - len(b)%32
	return append(b, bytes.Repeat([]byte{byte(n)}, n)...)
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			c := mustNew(t, v.Token, v.EncodingAESKey, v.CorpID)
			if got := c.Signature(v.Timestamp, v.Nonce, v.Encrypt); got != v.MsgSignature {
				t.Errorf("Signature = %s, want %s", got, v.MsgSignature)
			}
			if !c.Verify(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt) {
				t.Error("Verify(vector) = false")
			}
			got, err := c.Decrypt(v.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != v.Msg {
				t.Errorf("Decrypt = %q, want %q", got, v.Msg)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v := loadVectors(t)[2]
	c := mustNew(t, v.Token, v.EncodingAESKey, v.CorpID)
	other := mustNew(t, v.Token+"x", v.EncodingAESKey, v.CorpID)
	tests := []struct {
		name                           string
		c                              *wxcrypt.Crypter
		sig, timestamp, nonce, encrypt string
	}{
		{"wrong token", other, v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt},
		{"upper-case signature", c, strings.ToUpper(v.MsgSignature), v.Timestamp, v.Nonce, v.Encrypt},
		{"short signature", c, v.MsgSignature[:39], v.Timestamp, v.Nonce, v.Encrypt},
		{"long signature", c, v.MsgSignature + "0", v.Timestamp, v.Nonce, v.Encrypt},
		{"empty signature", c, "", v.Timestamp, v.Nonce, v.Encrypt},
		{"other timestamp", c, v.MsgSignature, v.Timestamp + "1", v.Nonce, v.Encrypt},
		{"other nonce", c, v.MsgSignature, v.Timestamp, "x" + v.Nonce, v.Encrypt},
		{"truncated encrypt", c, v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt[:len(v.Encrypt)-4]},
		{"timestamp with extra digit", c, v.MsgSignature, v.Timestamp + "0", v.Nonce, v.Encrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.Verify(tc.sig, tc.timestamp, tc.nonce, tc.encrypt) {
				t.Error("Verify = true, want false")
			}
		})
	}
	t.Run("every signature char flipped", func(t *testing.T) {
		for i := range v.MsgSignature {
			s := []byte(v.MsgSignature)
			s[i] ^= 0x01
			if c.Verify(string(s), v.Timestamp, v.Nonce, v.Encrypt) {
				t.Fatalf("flipped char %d accepted", i)
			}
		}
	})
}

// TestBitFlips flips every bit of the ciphertext of each POST vector: the
// signature must catch every flip, and Decrypt must never panic.
func TestBitFlips(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			c := mustNew(t, v.Token, v.EncodingAESKey, v.CorpID)
			raw, err := base64.StdEncoding.DecodeString(v.Encrypt)
			if err != nil {
				t.Fatal(err)
			}
			rejected := 0
			for i := range len(raw) * 8 {
				b := slices.Clone(raw)
				b[i/8] ^= 1 << (i % 8)
				enc := base64.StdEncoding.EncodeToString(b)
				if c.Verify(v.MsgSignature, v.Timestamp, v.Nonce, enc) {
					t.Fatalf("bit %d: signature still verifies", i)
				}
				if msg, err := c.Decrypt(enc); err != nil {
					rejected++
				} else if string(msg) == v.Msg {
					t.Fatalf("bit %d: decrypts to the original message", i)
				}
			}
			if rejected == 0 {
				t.Error("no bit flip was rejected by Decrypt")
			}
		})
	}
}

func TestDecryptErrors(t *testing.T) {
	const (
		token  = "tok"
		encKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
		corp   = "wwcorp0000000001"
	)
	key := aesKey(t, encKey)
	c := mustNew(t, token, encKey, corp)
	good := layout("<xml>hi</xml>", corp)
	withPad := func(p []byte, n byte) []byte {
		// Pad to a multiple of 32 with n as the last byte, keeping the other
		// pad bytes consistent with the real length.
		real := 32 - len(p)%32
		out := append(slices.Clone(p), bytes.Repeat([]byte{byte(real)}, real)...)
		out[len(out)-1] = n
		return out
	}
	valid := rawEncrypt(t, key, pad32(good))
	tests := []struct {
		name    string
		encrypt string
		want    error
	}{
		{"empty", "", wxcrypt.ErrDecrypt},
		{"not base64", strings.Repeat("*", 64), wxcrypt.ErrDecrypt},
		{"base64 without padding", strings.TrimRight(rawEncrypt(t, key, pad32(layout("x", corp))), "="), wxcrypt.ErrDecrypt},
		{"truncated base64", valid[:len(valid)-1], wxcrypt.ErrDecrypt},
		{"truncated by one block", base64.StdEncoding.EncodeToString(mustDecode(t, valid)[:len(mustDecode(t, valid))-16]), wxcrypt.ErrDecrypt},
		{"one block only", base64.StdEncoding.EncodeToString(mustDecode(t, valid)[:16]), wxcrypt.ErrDecrypt},
		{"not a block multiple", base64.StdEncoding.EncodeToString(mustDecode(t, valid)[:40]), wxcrypt.ErrDecrypt},
		{"pad = 0", rawEncrypt(t, key, withPad(good, 0)), wxcrypt.ErrDecrypt},
		{"pad = 33", rawEncrypt(t, key, withPad(good, 33)), wxcrypt.ErrDecrypt},
		{"pad = 255", rawEncrypt(t, key, withPad(good, 255)), wxcrypt.ErrDecrypt},
		{"inconsistent pad bytes", func() string {
			p := pad32(good)
			p[len(p)-2] ^= 0xff
			return rawEncrypt(t, key, p)
		}(), wxcrypt.ErrDecrypt},
		{"pad = 32 (a whole pad block) accepted", rawEncrypt(t, key, pad32(layout(strings.Repeat("m", 28), corp)) /* 16+4+28+16 = 64 */), nil},
		{"msg_len beyond plaintext", func() string {
			p := layout("abc", corp)
			binary.BigEndian.PutUint32(p[16:20], 1000)
			return rawEncrypt(t, key, pad32(p))
		}(), wxcrypt.ErrDecrypt},
		{"msg_len 2^32-1", func() string {
			p := layout("abc", corp)
			binary.BigEndian.PutUint32(p[16:20], 0xffffffff)
			return rawEncrypt(t, key, pad32(p))
		}(), wxcrypt.ErrDecrypt},
		{"plaintext shorter than header", rawEncrypt(t, key, pad32([]byte("0123456789"))), wxcrypt.ErrDecrypt},
		{"wrong corp id", rawEncrypt(t, key, pad32(layout("<xml/>", "wwother"))), wxcrypt.ErrReceiveID},
		{"corp id prefix", rawEncrypt(t, key, pad32(layout("<xml/>", corp[:len(corp)-1]))), wxcrypt.ErrReceiveID},
		{"corp id with suffix", rawEncrypt(t, key, pad32(layout("<xml/>", corp+"x"))), wxcrypt.ErrReceiveID},
		{"empty corp id", rawEncrypt(t, key, pad32(layout("<xml/>", ""))), wxcrypt.ErrReceiveID},
		{"wrong key", rawEncrypt(t, aesKey(t, "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"), pad32(good)), wxcrypt.ErrDecrypt},
		{"valid", valid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := c.Decrypt(tc.encrypt)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				return
			}
			// A wrong key garbles everything; padding usually catches it,
			// but a receiveid mismatch is an equally correct rejection.
			if tc.name == "wrong key" && errors.Is(err, wxcrypt.ErrReceiveID) {
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = %q, %v; want %v", msg, err, tc.want)
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("%v does not wrap domain.ErrInvalid", err)
			}
		})
	}
}

func mustDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNew(t *testing.T) {
	const key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	tests := []struct {
		name, token, key, corp string
		ok                     bool
	}{
		{"ok", "t", key, "ww1", true},
		{"42 chars", "t", key[:42], "ww1", false},
		{"44 chars", "t", key + "A", "ww1", false},
		{"with =", "t", key[:42] + "=", "ww1", false},
		{"with +", "t", key[:42] + "+", "ww1", false},
		{"non-ASCII", "t", key[:41] + "é", "ww1", false},
		{"empty token", "", key, "ww1", false},
		{"empty receive id", "t", key, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := wxcrypt.New(tc.token, tc.key, tc.corp)
			if tc.ok {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v", c, err)
				}
				return
			}
			if !errors.Is(err, wxcrypt.ErrKey) || !errors.Is(err, domain.ErrConfig) {
				t.Fatalf("New error = %v, want ErrKey wrapping domain.ErrConfig", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	const corp = "ww6a112864f8022910"
	c := mustNew(t, "tok", "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP", corp)
	other := mustNew(t, "tok", "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP", "wwsomeoneelse")
	key := aesKey(t, "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP")
	pads := map[int]bool{}
	for n := range 80 {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("len %d: Decrypt(Encrypt) = %q, %v", n, got, err)
		}
		if _, err := other.Decrypt(enc); !errors.Is(err, wxcrypt.ErrReceiveID) {
			t.Fatalf("len %d: other corp: %v", n, err)
		}
		// Check the wire format independently: 32-byte PKCS#7 and layout.
		raw := mustDecode(t, enc)
		block, _ := aes.NewCipher(key)
		plain := make([]byte, len(raw))
		cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, raw)
		p := int(plain[len(plain)-1])
		pads[p] = true
		if len(plain)%32 != 0 || p < 1 || p > 32 {
			t.Fatalf("len %d: ciphertext %d bytes, pad %d", n, len(plain), p)
		}
		if want := string(layout(string(msg), corp)[16:]); string(plain[16:len(plain)-p]) != want {
			t.Fatalf("len %d: layout mismatch", n)
		}
	}
	if !pads[32] || !pads[1] {
		t.Errorf("round trips did not cover pad 1 and pad 32: %v", pads)
	}
	a, _ := c.Encrypt([]byte("same"))
	b, _ := c.Encrypt([]byte("same"))
	if a == b {
		t.Error("two encryptions of the same message are identical: random prefix not random")
	}
}

func TestSignatureIsSortedSHA1(t *testing.T) {
	c := mustNew(t, "tok", "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP", "ww1")
	long := strings.Repeat("Z", 3000) // larger than the stack buffer
	for _, in := range [][3]string{{"1", "2", "3"}, {"b", "a", "tok"}, {"", "", ""}, {"9", "nonce", long}} {
		parts := []string{"tok", in[0], in[1], in[2]}
		slices.Sort(parts)
		sum := sha1.Sum([]byte(strings.Join(parts, "")))
		want := hex.EncodeToString(sum[:])
		if got := c.Signature(in[0], in[1], in[2]); got != want {
			t.Errorf("Signature(%q) = %s, want %s", in, got, want)
		}
		if !c.Verify(want, in[0], in[1], in[2]) {
			t.Errorf("Verify(%q) = false", in)
		}
	}
}

func TestReplyEnvelope(t *testing.T) {
	v := loadVectors(t)[1]
	c := mustNew(t, v.Token, v.EncodingAESKey, v.CorpID)
	reply := []byte("<xml><ToUserName><![CDATA[mycreate]]></ToUserName><Content><![CDATA[hi]]></Content></xml>")
	out, err := c.ReplyEnvelope(reply, v.Timestamp, v.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		XMLName      xml.Name `xml:"xml"`
		Encrypt      string   `xml:"Encrypt"`
		MsgSignature string   `xml:"MsgSignature"`
		TimeStamp    string   `xml:"TimeStamp"`
		Nonce        string   `xml:"Nonce"`
	}
	if err := xml.Unmarshal(out, &env); err != nil {
		t.Fatalf("envelope is not XML: %v\n%s", err, out)
	}
	if env.TimeStamp != v.Timestamp || env.Nonce != v.Nonce {
		t.Errorf("TimeStamp/Nonce = %q/%q", env.TimeStamp, env.Nonce)
	}
	if !bytes.Contains(out, []byte("<TimeStamp>"+v.Timestamp+"</TimeStamp>")) {
		t.Errorf("no <TimeStamp> element: %s", out)
	}
	if !c.Verify(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt) {
		t.Error("envelope signature does not verify")
	}
	got, err := c.Decrypt(env.Encrypt)
	if err != nil || !bytes.Equal(got, reply) {
		t.Errorf("envelope decrypts to %q, %v", got, err)
	}
	for _, bad := range [][2]string{{"12a", "n"}, {"", "n"}, {"1", "x]]>y"}} {
		if _, err := c.ReplyEnvelope(reply, bad[0], bad[1]); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ReplyEnvelope(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}
