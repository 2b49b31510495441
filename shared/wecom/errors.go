package wecom

import (
	"errors"
	"fmt"

	"wecom-crm-bot/shared/domain"
)

// Package sentinels for WeCom conditions that callers act on specifically.
// Each *APIError carrying one of these codes also matches a domain sentinel.
var (
	// ErrChatStarted means a welcome_code can no longer be used because the
	// member and the customer are already chatting (41051). It also matches
	// domain.ErrInvalid: retrying will not help.
	ErrChatStarted = errors.New("wecom: chat already started")
	// ErrSendLimit means the kf send quota for this customer is used up:
	// five messages after the customer's last message (95001) or the 48 h
	// window is over (95002). Wait for the customer to write again. It also
	// matches domain.ErrInvalid.
	ErrSendLimit = errors.New("wecom: kf send limit reached")
	// ErrSessionState means the kf session state does not allow the request
	// (95013 ended, 95014 not a servicer, 95016 transition not allowed,
	// 95018 state forbids sending). It also matches domain.ErrInvalid.
	ErrSessionState = errors.New("wecom: kf session state forbids this")
	// ErrSyncTokenInvalid means the sync_msg token from the callback is not
	// valid (95007); pull again without it. It also matches domain.ErrInvalid.
	ErrSyncTokenInvalid = errors.New("wecom: invalid sync_msg token")
)

// APIError is a non-zero errcode returned by the WeCom API. Path is the API
// path without the query string, so the access token is never part of it.
type APIError struct {
	Code int
	Msg  string
	Path string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("wecom: %s: errcode %d: %s", e.Path, e.Code, e.Msg)
}

// Is maps WeCom error codes to domain sentinels and this package's sentinels:
//
//	-1, 40014, 42001                   → domain.ErrUnavailable
//	45009, 45033                       → domain.ErrRateLimited
//	40001, 40013, 41001, 48002, 60020,
//	93000, 95011                       → domain.ErrConfig
//	84061                              → domain.ErrNotFound
//	40003, 40096, 95000, 95004, 44004,
//	40008, 40058, 47001 and the codes
//	behind ErrChatStarted, ErrSendLimit,
//	ErrSessionState, ErrSyncTokenInvalid → domain.ErrInvalid
func (e *APIError) Is(target error) bool {
	switch target {
	case domain.ErrUnavailable:
		return e.Code == -1 || e.Code == 40014 || e.Code == 42001
	case domain.ErrRateLimited:
		return e.Code == 45009 || e.Code == 45033
	case domain.ErrConfig:
		switch e.Code {
		case 40001, 40013, 41001, 48002, 60020, 93000, 95011:
			return true
		}
	case domain.ErrNotFound:
		return e.Code == 84061
	case domain.ErrInvalid:
		switch e.Code {
		case 40003, 40096, 95000, 95004, 44004, 40008, 40058, 47001,
			41051, 95001, 95002, 95007, 95013, 95014, 95016, 95018:
			return true
		}
	case ErrChatStarted:
		return e.Code == 41051
	case ErrSendLimit:
		return e.Code == 95001 || e.Code == 95002
	case ErrSessionState:
		switch e.Code {
		case 95013, 95014, 95016, 95018:
			return true
		}
	case ErrSyncTokenInvalid:
		return e.Code == 95007
	}
	return false
}

// isTokenError reports whether code says the access token is no good, so a
// fresh token and one retry may help.
func isTokenError(code int) bool { return code == 40014 || code == 42001 || code == 40001 }

// redactedError hides secrets in the message of err while keeping it
// available to errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
