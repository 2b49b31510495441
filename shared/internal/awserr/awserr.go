package awserr

import (
	"errors"
	"fmt"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"wecom-crm-bot/shared/domain"
)

// Wrap returns nil for a nil err; otherwise err prefixed with "pkg: op"
// and, when classify finds one, the domain sentinel that describes it,
// keeping err in the chain.
func Wrap(pkg, op string, err error, classify func(error) error) error {
	if err == nil {
		return nil
	}
	if s := classify(err); s != nil {
		return fmt.Errorf("%s: %s: %w: %w", pkg, op, s, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, op, err)
}

// Classify maps an AWS SDK error to a domain sentinel, or nil if none fits:
// the sentinel code returns for the error code of a service answer
// (smithy.APIError) if not nil, else domain.ErrUnavailable for a 5xx answer
// and for no answer at all (network failure, timeout or cancellation).
func Classify(err error, code func(string) error) error {
	var (
		netErr  net.Error
		respErr *awshttp.ResponseError
		apiErr  smithy.APIError
	)
	if errors.As(err, &apiErr) {
		if s := code(apiErr.ErrorCode()); s != nil {
			return s
		}
	}
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return domain.ErrUnavailable
	}
	if errors.As(err, &netErr) || apiErr == nil && respErr == nil {
		// No answer from the service: network failure, timeout or cancellation.
		return domain.ErrUnavailable
	}
	return nil
}
