package platform

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"wecom-crm-bot/shared/domain"
)

// bufferedResponse is an in-memory http.ResponseWriter for event triggers,
// where the whole response goes back as one JSON document.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: make(http.Header)}
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *bufferedResponse) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// encodedBody returns the body as a string, base64-encoded only when it is
// not valid UTF-8 (binary).
func (w *bufferedResponse) encodedBody() (string, bool) {
	b := w.body.Bytes()
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// flatHeaders folds headers into one value per key (comma-joined), skipping
// the keys in skip (canonical form).
func (w *bufferedResponse) flatHeaders(skip ...string) map[string]string {
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	out := make(map[string]string, len(w.header))
	for k, vs := range w.header {
		if len(vs) == 0 || contains(skip, k) {
			continue
		}
		out[k] = strings.Join(vs, ",")
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// serveBuffered runs h on r and returns the buffered response. A panic in h
// propagates to the runtime library, which reports it as an invocation error.
func serveBuffered(ctx context.Context, h http.Handler, r *http.Request) (*bufferedResponse, error) {
	if h == nil {
		return nil, fmt.Errorf("platform: HTTP event but no HTTP handler: %w", domain.ErrConfig)
	}
	w := newBufferedResponse()
	h.ServeHTTP(w, r.WithContext(ctx))
	return w, nil
}

// decodeBody returns the request body bytes of an event.
func decodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("platform: base64 body: %v: %w", err, domain.ErrInvalid)
	}
	return b, nil
}
