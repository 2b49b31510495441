package domain

import "errors"

// Sentinel errors. Adapters translate vendor errors into these at their
// boundary so that use cases and triggers can decide with errors.Is.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means an optimistic-concurrency check failed or a unique key is taken.
	ErrConflict = errors.New("conflict")
	// ErrRateLimited means the remote side asked us to slow down; retry later.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable means a dependency is down or timed out; retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrConfig means the deployment is misconfigured (bad secret, missing
	// permission); retrying will not help until an operator fixes it.
	ErrConfig = errors.New("configuration error")
	// ErrInvalid means the input is malformed; retrying will not help.
	ErrInvalid = errors.New("invalid input")
)

// Retryable reports whether err is worth retrying later (rate limits and
// unavailability), as opposed to configuration or input errors.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrConfig) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) {
		return false
	}
	return true
}
