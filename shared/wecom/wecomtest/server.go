package wecomtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is an injected answer for one call.
type Fault struct {
	Code   int           // errcode to answer with, if non-zero
	Status int           // HTTP status to answer with, if non-zero (body "upstream error")
	Delay  time.Duration // wait before answering (or until the client gives up)
}

// Errcode is a Fault answering with errcode code.
func Errcode(code int) Fault { return Fault{Code: code} }

// Request is a recorded request.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
}

// Server is a fake WeCom API. Its zero value is not usable; call New.
type Server struct {
	// URL is the base URL to pass to wecom.WithBaseURL.
	URL string
	// CorpID and Secret are the only credentials gettoken accepts.
	CorpID, Secret string
	// WebhookKey is the only robot key webhook/send accepts.
	WebhookKey string

	srv *httptest.Server

	mu        sync.Mutex
	ttl       int
	seq       int
	tokens    map[string]bool // issued token → still valid
	issued    []string
	faults    map[string][]Fault
	latency   map[string]time.Duration
	calls     map[string]int
	reqs      []Request
	responses map[string]json.RawMessage
	problems  []string
}

// New starts a fake WeCom for (corpID, secret) and closes it when the test
// ends. Malformed requests are answered with errcode 40058 and fail t at
// cleanup.
func New(t testing.TB, corpID, secret string) *Server {
	t.Helper()
	s := &Server{
		CorpID: corpID, Secret: secret, WebhookKey: "robot-key",
		ttl:       7200,
		tokens:    map[string]bool{},
		faults:    map[string][]Fault{},
		latency:   map[string]time.Duration{},
		calls:     map[string]int{},
		responses: map[string]json.RawMessage{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.srv.Close()
		for _, p := range s.Problems() {
			t.Errorf("wecomtest: malformed request: %s", p)
		}
	})
	return s
}

// SetTokenTTL sets expires_in (seconds) of tokens and tickets issued from now on.
func (s *Server) SetTokenTTL(seconds int) { s.mu.Lock(); s.ttl = seconds; s.mu.Unlock() }

// Fail queues faults for the next calls to path, one per call.
func (s *Server) Fail(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], faults...)
}

// SetLatency delays every answer on path by d.
func (s *Server) SetLatency(path string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[path] = d
}

// SetResponse replaces the success answer of path with v (a JSON object;
// errcode 0 is added).
func (s *Server) SetResponse(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses[path] = b
}

// ExpireTokens makes every issued access token answer 42001.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = false
	}
}

// Calls returns how many requests reached path.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// Requests returns the recorded requests to path, oldest first.
func (s *Server) Requests(path string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// IssuedTokens returns every access token and ticket handed out.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Problems returns the malformed requests seen so far.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

type endpoint struct {
	method string
	auth   bool                                           // needs a valid access_token
	check  func(q url.Values, body []byte) error          // validates the request
	answer func(s *Server, q url.Values, body []byte) any // default success body
}

var errMissing = errors.New("missing required field")

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	path, q := r.URL.Path, r.URL.Query()

	s.mu.Lock()
	s.calls[path]++
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: path, Query: q, Body: body})
	var fault Fault
	if fs := s.faults[path]; len(fs) > 0 {
		fault, s.faults[path] = fs[0], fs[1:]
	}
	delay := s.latency[path] + fault.Delay
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fault.Status != 0 {
		http.Error(w, "upstream error", fault.Status)
		return
	}
	if fault.Code != 0 {
		writeJSON(w, map[string]any{"errcode": fault.Code, "errmsg": "injected"})
		return
	}

	ep, ok := endpoints[path]
	if !ok {
		s.problem("unknown path %s", path)
		http.NotFound(w, r)
		return
	}
	if r.Method != ep.method {
		s.problem("%s %s: want method %s", r.Method, path, ep.method)
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "bad method"})
		return
	}
	if ep.method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.problem("%s: content-type %q", path, r.Header.Get("Content-Type"))
	}
	if code := s.checkToken(path, q, ep.auth); code != 0 {
		writeJSON(w, map[string]any{"errcode": code, "errmsg": "token"})
		return
	}
	if err := ep.check(q, body); err != nil {
		s.problem("%s: %v (body %s)", path, err, body)
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "invalid request: " + err.Error()})
		return
	}
	s.mu.Lock()
	override, has := s.responses[path]
	s.mu.Unlock()
	if has {
		var m map[string]any
		if err := json.Unmarshal(override, &m); err == nil {
			if _, ok := m["errcode"]; !ok {
				m["errcode"], m["errmsg"] = 0, "ok"
			}
			writeJSON(w, m)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(override) // a test's deliberately odd body
		return
	}
	resp := ep.answer(s, q, body)
	writeJSON(w, resp)
}

func (s *Server) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// checkToken returns the errcode for the request's credentials, or 0.
func (s *Server) checkToken(path string, q url.Values, auth bool) int {
	tok := q.Get("access_token")
	if !auth {
		if tok != "" {
			s.problem("%s: access_token sent to an endpoint that takes none", path)
		}
		return 0
	}
	if tok == "" {
		s.problem("%s: no access_token", path)
		return 41001
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	valid, known := s.tokens[tok]
	switch {
	case !known:
		return 40014
	case !valid:
		return 42001
	}
	return 0
}

func (s *Server) issue(prefix string) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	tok := prefix + "-" + strconv.Itoa(s.seq) + "-SECRETVALUE"
	if prefix == "token" {
		s.tokens[tok] = true
	}
	s.issued = append(s.issued, tok)
	return tok, s.ttl
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v) // the client hanging up is not our problem
}

// decodeStrict decodes body into v, rejecting unknown fields and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
