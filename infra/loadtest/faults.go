package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

// noteCRM is what the note sync needs from a CRM (notes.CRM).
type noteCRM interface {
	FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error)
	UpsertNote(ctx context.Context, n domain.Note) (string, error)
}

// CRMFaults counts what the faulty CRM did.
type CRMFaults struct {
	Calls, Errors5xx, RateLimited, Timeouts, OutageRefused, Upserts int
}

// faultyCRM wraps the CRM the note sync writes to. Every Every-th call
// fails, cycling through HTTP 500, HTTP 429 with Retry-After and a timeout
// (the call hangs until Timeout or the caller gives up); while the outage
// flag is set every call fails as if the CRM were down. The inner CRM is
// swapped when the stack restarts.
type faultyCRM struct {
	inner   atomic.Pointer[noteCRM]
	every   int // 0: no periodic faults
	timeout time.Duration
	outage  atomic.Bool

	mu sync.Mutex
	n  int
	st CRMFaults
}

func (f *faultyCRM) set(c noteCRM) { f.inner.Store(&c) }

func (f *faultyCRM) stats() CRMFaults {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// fault decides the fate of one call; nil means pass through.
func (f *faultyCRM) fault(ctx context.Context, op string) error {
	f.mu.Lock()
	f.n++
	f.st.Calls++
	n := f.n
	switch {
	case f.outage.Load():
		f.st.OutageRefused++
		f.mu.Unlock()
		return &crm.APIError{Vendor: "builtin-faulty", Op: op, Status: http.StatusServiceUnavailable, Message: "outage window", Kind: domain.ErrUnavailable}
	case f.every <= 0 || n%f.every != 0:
		f.mu.Unlock()
		return nil
	}
	kind := (n / f.every) % 3
	switch kind {
	case 0:
		f.st.Errors5xx++
	case 1:
		f.st.RateLimited++
	default:
		f.st.Timeouts++
	}
	f.mu.Unlock()
	switch kind {
	case 0:
		return &crm.APIError{Vendor: "builtin-faulty", Op: op, Status: http.StatusInternalServerError, Message: "injected", Kind: domain.ErrUnavailable}
	case 1:
		return &crm.APIError{Vendor: "builtin-faulty", Op: op, Status: http.StatusTooManyRequests, Message: "injected", RetryAfter: 50 * time.Millisecond, Kind: domain.ErrRateLimited}
	default:
		t := time.NewTimer(f.timeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return fmt.Errorf("builtin-faulty: %s: timed out: %w", op, domain.ErrUnavailable)
	}
}

func (f *faultyCRM) FindContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	if err := f.fault(ctx, "FindContact"); err != nil {
		return domain.Contact{}, err
	}
	return (*f.inner.Load()).FindContact(ctx, id)
}

func (f *faultyCRM) CreateContact(ctx context.Context, id crm.Identity) (domain.Contact, error) {
	if err := f.fault(ctx, "CreateContact"); err != nil {
		return domain.Contact{}, err
	}
	return (*f.inner.Load()).CreateContact(ctx, id)
}

func (f *faultyCRM) UpsertNote(ctx context.Context, n domain.Note) (string, error) {
	if err := f.fault(ctx, "UpsertNote"); err != nil {
		return "", err
	}
	id, err := (*f.inner.Load()).UpsertNote(ctx, n)
	if err == nil {
		f.mu.Lock()
		f.st.Upserts++
		f.mu.Unlock()
	}
	return id, err
}
