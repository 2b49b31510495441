package wxcrypt_test

import "testing"

func BenchmarkVerify(b *testing.B) {
	v := loadVectors(b)[1]
	c := mustNew(b, v.Token, v.EncodingAESKey, v.CorpID)
	b.ReportAllocs()
	for b.Loop() {
		if !c.Verify(v.MsgSignature, v.Timestamp, v.Nonce, v.Encrypt) {
			b.Fatal("verify")
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	v := loadVectors(b)[1]
	c := mustNew(b, v.Token, v.EncodingAESKey, v.CorpID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(v.Encrypt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	v := loadVectors(b)[1]
	c := mustNew(b, v.Token, v.EncodingAESKey, v.CorpID)
	msg := []byte(v.Msg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encrypt(msg); err != nil {
			b.Fatal(err)
		}
	}
}
