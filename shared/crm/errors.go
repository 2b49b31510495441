package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"wecom-crm-bot/shared/domain"
)

// APIError is a failed CRM API call, translated into a domain sentinel that
// errors.Is finds through Unwrap.
type APIError struct {
	Vendor  string // "hubspot", "salesforce", …
	Op      string // e.g. "POST /crm/v3/objects/notes/batch/upsert"
	Status  int    // HTTP status, 0 for transport errors
	Code    string // vendor error code or category
	Message string // vendor message (never contains request data we sent)
	// Policy is the rate-limit policy that was hit (HubSpot policyName).
	Policy string
	// RetryAfter is how long the vendor asked us to wait, when known.
	RetryAfter time.Duration
	// Hint tells an operator what to fix, e.g. the environment variable.
	Hint string
	// Kind is the domain sentinel (domain.ErrConfig, domain.ErrRateLimited, …).
	Kind error
}

// Error implements error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Vendor, e.Op)
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Policy != "" {
		s += " (policy " + e.Policy + ")"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s + ": " + e.Kind.Error()
}

// Unwrap returns the domain sentinel.
func (e *APIError) Unwrap() error { return e.Kind }

// KindForStatus maps an HTTP status code to a domain sentinel:
// 400/422 → ErrInvalid, 401/403 → ErrConfig, 404 → ErrNotFound,
// 300/409 → ErrConflict, 429 → ErrRateLimited, 5xx and anything unexpected
// → ErrUnavailable.
func KindForStatus(status int) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return domain.ErrConfig
	case status == http.StatusNotFound:
		return domain.ErrNotFound
	case status == http.StatusConflict || status == http.StatusMultipleChoices:
		return domain.ErrConflict
	case status == http.StatusTooManyRequests:
		return domain.ErrRateLimited
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return domain.ErrInvalid
	default:
		return domain.ErrUnavailable
	}
}

// TransportError wraps an error from the HTTP transport (timeouts, refused
// connections, cancelled contexts) as domain.ErrUnavailable, keeping the
// cause for errors.Is (e.g. context.DeadlineExceeded).
func TransportError(vendor, op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %s: %w", vendor, op, err)
	}
	return fmt.Errorf("%s: %s: %w: %w", vendor, op, domain.ErrUnavailable, err)
}
