// Package callback is the http.Handler behind WeCom's callback URLs.
//
// For each configured Channel (one WeCom callback endpoint: CorpID, Token,
// EncodingAESKey) it answers URL verification (GET) and, for encrypted POSTs,
// verifies the signature, decrypts, parses, de-duplicates through a Claimer
// and publishes an Envelope to the queue, then acknowledges at once so that
// WeCom's 5-second deadline is never at risk. The worker does the slow part.
//
// Status codes: 200 "success" (accepted or duplicate), 400 (malformed or
// undecryptable), 401 (bad signature, no side effect), 404 (unknown channel),
// 405 (other methods), 413 (body over the limit), 503 (dedupe store or queue
// unavailable; WeCom retries).
package callback
