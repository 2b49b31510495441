package loadtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// redeliverer is the emulator's HTTP transport: every callback the emulator
// posts is sent to the current stack Deliveries times, the first at once and
// the others on WeCom's retry cadence (Interval apart, scaled down from
// ~5 s), as WeCom does when it does not hear back in time. The answer of the
// first attempt is what the emulator sees (it retries on its own when that
// is not 200). Every attempt's latency is recorded.
type redeliverer struct {
	deliveries int
	interval   time.Duration
	target     atomic.Pointer[url.URL] // scheme://host of the current stack
	client     *http.Client
	ctx        context.Context // bounds the background re-deliveries

	wg        sync.WaitGroup
	mu        sync.Mutex
	latencies []time.Duration
	status    map[int]int // HTTP status → count (0: transport error)
}

func newRedeliverer(ctx context.Context, deliveries int, interval time.Duration) *redeliverer {
	return &redeliverer{
		deliveries: max(1, deliveries), interval: interval, ctx: ctx,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
		}},
		status: map[int]int{},
	}
}

// setTarget points deliveries at the stack listening on rawURL.
func (r *redeliverer) setTarget(rawURL string) {
	u, err := url.Parse(rawURL)
	if err == nil {
		r.target.Store(u)
	}
}

// RoundTrip implements http.RoundTripper.
func (r *redeliverer) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	u := *req.URL
	if t := r.target.Load(); t != nil {
		u.Scheme, u.Host = t.Scheme, t.Host
	}
	for i := 1; i < r.deliveries; i++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			t := time.NewTimer(time.Duration(i) * r.interval)
			defer t.Stop()
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
			}
			resp, err := r.post(r.ctx, u.String(), body)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	return r.post(req.Context(), u.String(), body)
}

// post makes one attempt and records its latency (body read included).
func (r *redeliverer) post(ctx context.Context, target string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	start := time.Now()
	resp, err := r.client.Do(req)
	code := 0
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		code = resp.StatusCode
	}
	d := time.Since(start)
	r.mu.Lock()
	r.status[code]++
	if code == http.StatusOK {
		r.latencies = append(r.latencies, d)
	}
	r.mu.Unlock()
	return resp, err
}

// wait blocks until the background re-deliveries are done.
func (r *redeliverer) wait() { r.wg.Wait() }

// Latency summarises acknowledged callback attempts.
type Latency struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func (r *redeliverer) summary() (Latency, map[int]int) {
	r.mu.Lock()
	ls := append([]time.Duration(nil), r.latencies...)
	st := make(map[int]int, len(r.status))
	for k, v := range r.status {
		st[k] = v
	}
	r.mu.Unlock()
	return summarise(ls), st
}

// summarise computes nearest-rank percentiles.
func summarise(ls []time.Duration) Latency {
	if len(ls) == 0 {
		return Latency{}
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ls))+0.999999) - 1
		return ls[min(max(i, 0), len(ls)-1)]
	}
	return Latency{N: len(ls), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ls[len(ls)-1]}
}
