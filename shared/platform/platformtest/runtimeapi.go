package platformtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Result is what the function posted for one invocation.
type Result struct {
	OK          bool   // posted to /response; false for /error
	Body        []byte // the response, or the error document
	ContentType string
}

// RuntimeOptions shape the invocations the fake hands out.
type RuntimeOptions struct {
	FunctionName string        // in the invoked function ARN; default "testfn"
	Deadline     time.Duration // each invocation's deadline from when it is handed out; default 30 s
}

// RuntimeAPI is a fake Lambda Runtime API (2018-06-01) on loopback: GET
// invocation/next hands out queued events one at a time (and blocks while
// there is none), POST invocation/{id}/response and /error complete them,
// POST init/error is recorded; everything else is 404/405.
type RuntimeAPI struct {
	srv     *httptest.Server
	opts    RuntimeOptions
	pending chan [2]string // id, event
	initErr chan []byte
	mu      sync.Mutex
	waiting map[string]chan Result
	seq     int
}

// NewRuntimeAPI starts the fake; it is closed at the test's cleanup.
func NewRuntimeAPI(t testing.TB, o RuntimeOptions) *RuntimeAPI {
	t.Helper()
	if o.FunctionName == "" {
		o.FunctionName = "testfn"
	}
	if o.Deadline == 0 {
		o.Deadline = 30 * time.Second
	}
	a := &RuntimeAPI{opts: o, pending: make(chan [2]string, 16), waiting: map[string]chan Result{}, initErr: make(chan []byte, 1)}
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-a.pending:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv[0])
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(a.opts.Deadline).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-east-1:123456789012:function:"+a.opts.FunctionName)
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=1;Sampled=0")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, inv[1])
		case <-r.Context().Done():
		case <-done:
			w.WriteHeader(http.StatusGone)
		}
	})
	complete := func(ok bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			a.mu.Lock()
			ch, known := a.waiting[id]
			delete(a.waiting, id)
			a.mu.Unlock()
			if !known {
				http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
				return
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read", http.StatusBadRequest)
				return
			}
			ch <- Result{OK: ok, Body: b, ContentType: r.Header.Get("Content-Type")}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", complete(true))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", complete(false))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case a.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(done)
		a.srv.Close()
	})
	return a
}

// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (a *RuntimeAPI) Addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

// Enqueue hands event to the next invocation/next call and returns the
// channel its result arrives on.
func (a *RuntimeAPI) Enqueue(event []byte) <-chan Result {
	a.mu.Lock()
	a.seq++
	id := fmt.Sprintf("8476a536-e9f4-11e8-9739-2dfe598c3fc%d", a.seq)
	ch := make(chan Result, 1)
	a.waiting[id] = ch
	a.mu.Unlock()
	a.pending <- [2]string{id, string(event)}
	return ch
}

// ErrNoResult is returned by Await when no result arrived in time.
var ErrNoResult = errors.New("platformtest: no invocation result")

// Await returns the result from ch, an error naming the body of an init
// error the function posted first, or ErrNoResult after timeout.
func (a *RuntimeAPI) Await(ch <-chan Result, timeout time.Duration) (Result, error) {
	select {
	case r := <-ch:
		return r, nil
	case b := <-a.initErr:
		return Result{}, fmt.Errorf("init error: %s", b)
	case <-time.After(timeout):
		return Result{}, fmt.Errorf("%w within %v", ErrNoResult, timeout)
	}
}

// Wait is Await that fails the test on an init error or a timeout.
func (a *RuntimeAPI) Wait(t testing.TB, ch <-chan Result, timeout time.Duration) Result {
	t.Helper()
	r, err := a.Await(ch, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
