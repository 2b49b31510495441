package emulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// sealer signs and encrypts callback bodies (wecom-protocol.md §1.2–1.3).
// *wxcrypt.Crypter satisfies it.
type sealer interface {
	Encrypt(msg []byte) (string, error)
	Signature(timestamp, nonce, encrypt string) string
}

// cdata wraps s in a CDATA section, splitting any "]]>" inside it.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

// notifyKfLocked mints a fresh sync_msg Token (valid 10 min) and posts a
// kf_msg_or_event callback to CallbackURL in the background. Callers hold e.mu.
func (e *Emulator) notifyKfLocked(now time.Time) {
	if e.cfg.CallbackURL == "" {
		return
	}
	tok := "ENC" + randomString(44)
	e.cbTokens[tok] = now.Add(cbTokenTTL)
	msg := "<xml><ToUserName>" + cdata(e.cfg.CorpID) + "</ToUserName>" +
		"<CreateTime>" + strconv.FormatInt(now.Unix(), 10) + "</CreateTime>" +
		"<MsgType>" + cdata("event") + "</MsgType>" +
		"<Event>" + cdata("kf_msg_or_event") + "</Event>" +
		"<Token>" + cdata(tok) + "</Token>" +
		"<OpenKfId>" + cdata(e.cfg.OpenKfID) + "</OpenKfId></xml>"
	e.postLocked(e.cfg.CallbackURL, msg, "", now)
}

// postLocked seals msg and starts its delivery to target. Callers hold e.mu.
func (e *Emulator) postLocked(target, msg, agentID string, now time.Time) {
	enc, err := e.crypt.Encrypt([]byte(msg))
	if err != nil {
		e.log.Error("emulator: encrypt callback", "err", err)
		return
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := randomString(16)
	q := url.Values{}
	q.Set("msg_signature", e.crypt.Signature(ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	full := target + sep + q.Encode()
	body := "<xml><ToUserName>" + cdata(e.cfg.CorpID) + "</ToUserName><Encrypt>" + cdata(enc) +
		"</Encrypt><AgentID>" + cdata(agentID) + "</AgentID></xml>"
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.deliver(full, []byte(body))
	}()
}

// deliver posts one callback, re-sending it up to Retries times on
// RetryInterval until an attempt gets HTTP 200 within CallbackTimeout.
func (e *Emulator) deliver(target string, body []byte) {
	for attempt := 0; attempt <= e.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(e.cfg.RetryInterval)
			select {
			case <-e.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		e.mu.Lock()
		if attempt == 0 {
			e.stats.CallbacksSent++
		} else {
			e.stats.CallbacksRetried++
		}
		e.mu.Unlock()
		status, err := e.attempt(target, body)
		if err == nil && status == http.StatusOK {
			return
		}
		if e.ctx.Err() != nil {
			return
		}
		e.log.Warn("emulator: callback not acknowledged", "attempt", attempt+1, "status", status, "err", err)
	}
	e.mu.Lock()
	e.stats.CallbacksFailed++
	e.mu.Unlock()
	e.log.Error("emulator: callback given up", "attempts", e.cfg.Retries+1)
}

// attempt makes one POST and returns the HTTP status.
func (e *Emulator) attempt(target string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Reading the body is part of the answer: a receiver that sends headers
	// and then stalls past the timeout has not answered in time.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// newSealer builds the callback crypto of the emulated corp.
func newSealer(token, encodingAESKey, corpID string) (sealer, error) {
	return wxcrypt.New(token, encodingAESKey, corpID)
}
