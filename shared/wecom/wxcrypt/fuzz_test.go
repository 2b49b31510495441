package wxcrypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"

	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// referenceDecrypt is a deliberately naive, independent implementation of
// §1.3 used as the oracle in FuzzDecrypt.
func referenceDecrypt(key []byte, receiveID, encrypt string) ([]byte, bool) {
	raw, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(raw) < 32 || len(raw)%16 != 0 {
		return nil, false
	}
	block, _ := aes.NewCipher(key)
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, false
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, false
	}
	n := uint64(binary.BigEndian.Uint32(plain[16:20]))
	if n > uint64(len(plain)-20) {
		return nil, false
	}
	if string(plain[20+n:]) != receiveID {
		return nil, false
	}
	return plain[20 : 20+n], true
}

// FuzzDecrypt feeds arbitrary strings to Decrypt. It must never panic and
// must agree with the naive reference implementation on every input. The
// second argument, when non-empty, is first encrypted properly so that the
// fuzzer also explores the inner layout (by mutating the ciphertext).
func FuzzDecrypt(f *testing.F) {
	const (
		encKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
		corp   = "wx5823bf96d3bd56c7"
	)
	for _, v := range loadVectors(f) {
		if v.EncodingAESKey == encKey {
			f.Add(v.Encrypt, []byte(nil), uint16(0))
		}
	}
	f.Add("", []byte("<xml/>"), uint16(7))
	f.Add("====", []byte(nil), uint16(0))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", []byte(nil), uint16(0))
	f.Add("", []byte("hello"), uint16(300))
	c := mustNew(f, "QDG6eK", encKey, corp)
	key := aesKey(f, encKey)
	f.Fuzz(func(t *testing.T, encrypt string, msg []byte, flip uint16) {
		if len(msg) > 0 {
			enc, err := c.Encrypt(msg)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(enc)
			if flip > 0 {
				i := int(flip) % (len(raw) * 8)
				raw[i/8] ^= 1 << (i % 8)
			}
			encrypt = base64.StdEncoding.EncodeToString(raw)
		}
		got, err := c.Decrypt(encrypt)
		want, ok := referenceDecrypt(key, corp, encrypt)
		if ok != (err == nil) {
			t.Fatalf("Decrypt err = %v, reference ok = %v", err, ok)
		}
		if err != nil {
			if !errors.Is(err, wxcrypt.ErrDecrypt) && !errors.Is(err, wxcrypt.ErrReceiveID) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Decrypt = %q, reference = %q", got, want)
		}
		if len(msg) > 0 && flip == 0 && !bytes.Equal(got, msg) {
			t.Fatalf("round trip = %q, want %q", got, msg)
		}
	})
}

// FuzzVerify checks Signature and Verify agree for arbitrary inputs.
func FuzzVerify(f *testing.F) {
	f.Add("1409659589", "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==", "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3")
	f.Add("", "", "", "")
	c := mustNew(f, "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	f.Fuzz(func(t *testing.T, ts, nonce, enc, sig string) {
		good := c.Signature(ts, nonce, enc)
		if !c.Verify(good, ts, nonce, enc) {
			t.Fatal("Verify(Signature) = false")
		}
		if c.Verify(sig, ts, nonce, enc) != (sig == good) {
			t.Fatalf("Verify(%q) disagrees with Signature %q", sig, good)
		}
	})
}
