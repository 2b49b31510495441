package wxcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"wecom-crm-bot/shared/domain"
)

// Sentinel errors. ErrSignature, ErrDecrypt and ErrReceiveID wrap
// domain.ErrInvalid; ErrKey wraps domain.ErrConfig.
var (
	// ErrSignature means msg_signature does not match (WXBizMsgCrypt -40001).
	ErrSignature = fmt.Errorf("wxcrypt: signature mismatch: %w", domain.ErrInvalid)
	// ErrDecrypt means the ciphertext is not valid base64, not a whole
	// number of AES blocks, badly padded or has an impossible layout
	// (WXBizMsgCrypt -40007/-40010).
	ErrDecrypt = fmt.Errorf("wxcrypt: decrypt: %w", domain.ErrInvalid)
	// ErrReceiveID means the decrypted receiveid is not this endpoint's
	// CorpID (WXBizMsgCrypt -40005).
	ErrReceiveID = fmt.Errorf("wxcrypt: receiveid mismatch: %w", domain.ErrInvalid)
	// ErrKey means the EncodingAESKey (or another constructor argument) is
	// unusable (WXBizMsgCrypt -40004).
	ErrKey = fmt.Errorf("wxcrypt: bad EncodingAESKey or config: %w", domain.ErrConfig)
)

const (
	blockSize = 32 // WeCom pads to 32 bytes, not the AES block size
	randLen   = 16
	headerLen = randLen + 4
	sigLen    = 2 * sha1.Size
)

// Crypter signs, verifies, encrypts and decrypts for one callback endpoint.
// It is immutable and safe for concurrent use.
type Crypter struct {
	token     string
	receiveID string
	key       [32]byte
	block     cipher.Block
}

// New returns a Crypter for the endpoint configured with token,
// encodingAESKey (43 characters of [A-Za-z0-9]) and receiveID (the CorpID,
// or the suite id for third-party apps). It returns an error wrapping ErrKey
// when the key is malformed or token/receiveID are empty.
func New(token, encodingAESKey, receiveID string) (*Crypter, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrKey)
	}
	if receiveID == "" {
		return nil, fmt.Errorf("%w: empty receive id", ErrKey)
	}
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("%w: want 43 characters, got %d", ErrKey, len(encodingAESKey))
	}
	for i := 0; i < len(encodingAESKey); i++ {
		c := encodingAESKey[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return nil, fmt.Errorf("%w: character %d is not [A-Za-z0-9]", ErrKey, i)
		}
	}
	c := &Crypter{token: token, receiveID: receiveID}
	// Base64 of 32 bytes is 43 characters plus one '='. The last character
	// carries 4 unused bits; tolerate them as the official SDKs do.
	n, err := base64.StdEncoding.Decode(c.key[:], []byte(encodingAESKey+"="))
	if err != nil || n != len(c.key) {
		return nil, fmt.Errorf("%w: not base64", ErrKey)
	}
	block, err := aes.NewCipher(c.key[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	c.block = block
	return c, nil
}

// ReceiveID returns the receiveid (CorpID) this Crypter checks and encrypts for.
func (c *Crypter) ReceiveID() string { return c.receiveID }

// sum returns sha1 of the concatenation of the lexicographically sorted
// token, timestamp, nonce and encrypt.
func (c *Crypter) sum(timestamp, nonce, encrypt string) [sha1.Size]byte {
	s := [4]string{c.token, timestamp, nonce, encrypt}
	// Insertion sort: four elements, no allocation.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var stack [1024]byte
	buf := stack[:0]
	if n := len(s[0]) + len(s[1]) + len(s[2]) + len(s[3]); n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = append(append(append(append(buf, s[0]...), s[1]...), s[2]...), s[3]...)
	return sha1.Sum(buf)
}

// Signature returns the msg_signature for the given values: the lower-case
// hex SHA-1 of the sorted, concatenated token, timestamp, nonce and encrypt.
func (c *Crypter) Signature(timestamp, nonce, encrypt string) string {
	sum := c.sum(timestamp, nonce, encrypt)
	return hex.EncodeToString(sum[:])
}

// Verify reports whether signature is the msg_signature of timestamp, nonce
// and encrypt. The comparison takes constant time for 40-character input.
func (c *Crypter) Verify(signature, timestamp, nonce, encrypt string) bool {
	if len(signature) != sigLen {
		return false
	}
	sum := c.sum(timestamp, nonce, encrypt)
	var want [sigLen]byte
	hex.Encode(want[:], sum[:])
	var diff byte
	for i := range want {
		diff |= want[i] ^ signature[i]
	}
	return diff == 0
}

// Decrypt decodes and decrypts encrypt (the echostr or the <Encrypt> value)
// and returns the msg part. The returned slice is freshly allocated and owned
// by the caller. Errors wrap ErrDecrypt (bad base64, block size, padding or
// length) or ErrReceiveID (the trailing receiveid is not this endpoint's).
func (c *Crypter) Decrypt(encrypt string) ([]byte, error) {
	if len(encrypt) == 0 || len(encrypt)%4 != 0 {
		return nil, fmt.Errorf("%w: base64 length %d", ErrDecrypt, len(encrypt))
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := base64.StdEncoding.Decode(buf, unsafeBytes(encrypt))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrDecrypt, err)
	}
	ct := buf[:n]
	if len(ct) < blockSize || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext length %d", ErrDecrypt, len(ct))
	}
	c.cbcDecrypt(ct)
	pad := int(ct[len(ct)-1])
	if pad < 1 || pad > blockSize || pad > len(ct) {
		return nil, fmt.Errorf("%w: padding", ErrDecrypt)
	}
	var bad byte
	for _, b := range ct[len(ct)-pad:] {
		bad |= b ^ byte(pad)
	}
	if bad != 0 {
		return nil, fmt.Errorf("%w: padding", ErrDecrypt)
	}
	plain := ct[:len(ct)-pad]
	if len(plain) < headerLen {
		return nil, fmt.Errorf("%w: plaintext too short", ErrDecrypt)
	}
	msgLen := binary.BigEndian.Uint32(plain[randLen:headerLen])
	if uint64(msgLen) > uint64(len(plain)-headerLen) {
		return nil, fmt.Errorf("%w: message length %d exceeds plaintext", ErrDecrypt, msgLen)
	}
	end := headerLen + int(msgLen)
	if string(plain[end:]) != c.receiveID {
		return nil, ErrReceiveID
	}
	return plain[headerLen:end:end], nil
}

// cbcDecrypt decrypts ct in place with IV = key[:16]. It walks backwards so
// that each previous ciphertext block is still intact when it is needed.
func (c *Crypter) cbcDecrypt(ct []byte) {
	const bs = aes.BlockSize
	for i := len(ct) - bs; i >= 0; i -= bs {
		blk := ct[i : i+bs]
		c.block.Decrypt(blk, blk)
		prev := c.key[:bs]
		if i > 0 {
			prev = ct[i-bs : i]
		}
		subtleXOR(blk, prev)
	}
}

func subtleXOR(dst, src []byte) {
	_ = src[15]
	_ = dst[15]
	a := binary.LittleEndian.Uint64(dst[0:8]) ^ binary.LittleEndian.Uint64(src[0:8])
	b := binary.LittleEndian.Uint64(dst[8:16]) ^ binary.LittleEndian.Uint64(src[8:16])
	binary.LittleEndian.PutUint64(dst[0:8], a)
	binary.LittleEndian.PutUint64(dst[8:16], b)
}

// Encrypt encrypts msg for this endpoint's receiveid with 16 random bytes
// from crypto/rand and returns the base64 ciphertext.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	var random [randLen]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("wxcrypt: random: %w", err)
	}
	return c.encrypt(random, msg)
}

func (c *Crypter) encrypt(random [randLen]byte, msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("wxcrypt: message too long: %w", domain.ErrInvalid)
	}
	n := headerLen + len(msg) + len(c.receiveID)
	pad := blockSize - n%blockSize
	plain := make([]byte, 0, n+pad)
	plain = append(plain, random[:]...)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, c.receiveID...)
	for range pad {
		plain = append(plain, byte(pad))
	}
	cipher.NewCBCEncrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// ReplyEnvelope encrypts msg (a passive-reply XML document) and returns the
// signed envelope of wecom-protocol §1.6, with the <TimeStamp> element.
// timestamp must be decimal digits and nonce must not contain "]]>";
// otherwise the error wraps domain.ErrInvalid.
func (c *Crypter) ReplyEnvelope(msg []byte, timestamp, nonce string) ([]byte, error) {
	if _, err := strconv.ParseUint(timestamp, 10, 64); err != nil {
		return nil, fmt.Errorf("wxcrypt: reply timestamp %q: %w", timestamp, domain.ErrInvalid)
	}
	if containsCDATAEnd(nonce) {
		return nil, fmt.Errorf("wxcrypt: reply nonce: %w", domain.ErrInvalid)
	}
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, err
	}
	sig := c.Signature(timestamp, nonce, enc)
	out := make([]byte, 0, len(enc)+len(sig)+len(timestamp)+len(nonce)+128)
	out = append(out, "<xml><Encrypt><![CDATA["...)
	out = append(out, enc...)
	out = append(out, "]]></Encrypt><MsgSignature><![CDATA["...)
	out = append(out, sig...)
	out = append(out, "]]></MsgSignature><TimeStamp>"...)
	out = append(out, timestamp...)
	out = append(out, "</TimeStamp><Nonce><![CDATA["...)
	out = append(out, nonce...)
	out = append(out, "]]></Nonce></xml>"...)
	return out, nil
}

func containsCDATAEnd(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == ']' && s[i+1] == ']' && s[i+2] == '>' {
			return true
		}
	}
	return false
}

// unsafeBytes views s as a byte slice without copying. The result must only
// be read (base64 decoding reads its source and never retains it).
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
