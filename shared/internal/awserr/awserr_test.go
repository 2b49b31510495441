package awserr_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/awserr"
)

// answer is an error as the SDK returns it for an HTTP answer with status
// and, if code is not empty, a decoded service error.
func answer(status int, code string) error {
	var inner error = errors.New("no body")
	if code != "" {
		inner = &smithy.GenericAPIError{Code: code, Message: "m"}
	}
	return &smithy.OperationError{ServiceID: "Svc", OperationName: "Op", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner},
		RequestID:     "r",
	}}
}

func codes(code string) error {
	switch code {
	case "Throttled":
		return domain.ErrRateLimited
	case "Denied":
		return domain.ErrConfig
	}
	return nil
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"known code", answer(400, "Throttled"), domain.ErrRateLimited},
		{"known code beats 5xx", answer(500, "Denied"), domain.ErrConfig},
		{"bare api error", &smithy.GenericAPIError{Code: "Denied"}, domain.ErrConfig},
		{"unknown code 4xx", answer(400, "Other"), nil},
		{"unknown code 5xx", answer(503, "Other"), domain.ErrUnavailable},
		{"5xx without body", answer(502, ""), domain.ErrUnavailable},
		{"4xx without body", answer(404, ""), nil},
		{"network", &smithy.OperationError{Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, domain.ErrUnavailable},
		{"cancelled", context.Canceled, domain.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := awserr.Classify(tc.err, codes); got != tc.want {
				t.Errorf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	if err := awserr.Wrap("pkg", "op", nil, func(error) error { return domain.ErrInvalid }); err != nil {
		t.Fatalf("Wrap(nil) = %v", err)
	}
	cause := errors.New("cause")
	tests := []struct {
		name     string
		sentinel error
		want     string
	}{
		{"classified", domain.ErrInvalid, "pkg: op: " + domain.ErrInvalid.Error() + ": cause"},
		{"unclassified", nil, "pkg: op: cause"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := awserr.Wrap("pkg", "op", cause, func(error) error { return tc.sentinel })
			if err.Error() != tc.want || !errors.Is(err, cause) {
				t.Errorf("Wrap = %q, want %q wrapping the cause", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("Wrap = %v, does not match %v", err, tc.sentinel)
			}
		})
	}
}
