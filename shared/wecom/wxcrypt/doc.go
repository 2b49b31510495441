// Package wxcrypt implements WeCom's callback crypto (WXBizMsgCrypt): the
// msg_signature over (token, timestamp, nonce, encrypt), AES-256-CBC with
// 32-byte PKCS#7 padding and the random16|len|msg|receiveid layout, and the
// encrypted passive-reply envelope.
//
// A Crypter is built once per callback endpoint and is safe for concurrent
// use. The verify and decrypt paths avoid allocations beyond the returned
// plaintext, so the per-callback cost stays close to the bare SHA-1 and AES.
package wxcrypt
