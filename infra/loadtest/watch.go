package loadtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// sendWatch stands in front of the emulator's API and tells each customer
// when the bot sent them something (an accepted kf send_msg), so that a
// simulated customer, like a real one, waits for the answer before writing
// again. (WeCom allows 5 API messages per customer message; a customer who
// writes faster than the bot answers would use up the allowance of the
// latest message.)
type sendWatch struct {
	next http.Handler

	mu      sync.Mutex
	waiters map[string]chan struct{}
}

func newSendWatch(next http.Handler) *sendWatch {
	return &sendWatch{next: next, waiters: map[string]chan struct{}{}}
}

// ch returns the notification channel of externalUserID.
func (s *sendWatch) ch(externalUserID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.waiters[externalUserID]
	if c == nil {
		c = make(chan struct{}, 16)
		s.waiters[externalUserID] = c
	}
	return c
}

// drain forgets earlier notifications of externalUserID.
func (s *sendWatch) drain(externalUserID string) {
	c := s.ch(externalUserID)
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func (s *sendWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/cgi-bin/kf/send_msg" {
		s.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())

	var req struct {
		ToUser string `json:"touser"`
	}
	var resp struct {
		ErrCode int `json:"errcode"`
	}
	if json.Unmarshal(body, &req) == nil && json.Unmarshal(rec.Body.Bytes(), &resp) == nil && resp.ErrCode == 0 && req.ToUser != "" {
		select {
		case s.ch(req.ToUser) <- struct{}{}:
		default:
		}
	}
}
