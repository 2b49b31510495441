package crm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

func TestKindForStatus(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{400, domain.ErrInvalid}, {401, domain.ErrConfig}, {403, domain.ErrConfig}, {404, domain.ErrNotFound},
		{409, domain.ErrConflict}, {300, domain.ErrConflict}, {429, domain.ErrRateLimited},
		{500, domain.ErrUnavailable}, {503, domain.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			if got := crm.KindForStatus(tc.status); got != tc.want {
				t.Errorf("KindForStatus(%d) = %v, want %v", tc.status, got, tc.want)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &crm.APIError{Vendor: "hubspot", Op: "GET /x", Status: 401, Message: "bad token",
		Hint: "check HUBSPOT_TOKEN", Kind: domain.ErrConfig})
	if !errors.Is(err, domain.ErrConfig) || domain.Retryable(err) {
		t.Errorf("401 APIError: Is(ErrConfig)=%v Retryable=%v", errors.Is(err, domain.ErrConfig), domain.Retryable(err))
	}
	if !strings.Contains(err.Error(), "HUBSPOT_TOKEN") {
		t.Errorf("message %q does not name the env var", err)
	}
	terr := crm.TransportError("hubspot", "GET /x", context.DeadlineExceeded)
	if !errors.Is(terr, domain.ErrUnavailable) || !errors.Is(terr, context.DeadlineExceeded) {
		t.Errorf("TransportError = %v, want ErrUnavailable wrapping DeadlineExceeded", terr)
	}
}
