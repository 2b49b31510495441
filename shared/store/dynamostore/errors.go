package dynamostore

import (
	"errors"
	"fmt"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"wecom-crm-bot/shared/domain"
)

var errConfig = domain.ErrConfig

// translate wraps a DynamoDB error with op and the domain sentinel that
// describes it, keeping the original in the chain.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if s := classify(err); s != nil {
		return fmt.Errorf("dynamostore: %s: %w: %w", op, s, err)
	}
	return fmt.Errorf("dynamostore: %s: %w", op, err)
}

// classify maps a vendor error to a domain sentinel, or nil if none fits.
func classify(err error) error {
	var (
		throughput *types.ProvisionedThroughputExceededException
		limit      *types.RequestLimitExceeded
		throttle   *types.ThrottlingException
		notFound   *types.ResourceNotFoundException
		internal   *types.InternalServerError
		netErr     net.Error
		respErr    *awshttp.ResponseError
		apiErr     smithy.APIError
	)
	switch {
	case errors.As(err, &throughput), errors.As(err, &limit), errors.As(err, &throttle):
		return domain.ErrRateLimited
	case errors.As(err, &notFound):
		return domain.ErrConfig // the table does not exist
	case errors.As(err, &internal):
		return domain.ErrUnavailable
	}
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "RequestLimitExceeded", "ProvisionedThroughputExceededException", "TooManyRequestsException":
			return domain.ErrRateLimited
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
			"MissingAuthenticationToken", "MissingAuthenticationTokenException", "ExpiredTokenException":
			return domain.ErrConfig
		case "ValidationException", "SerializationException":
			return domain.ErrInvalid
		case "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError":
			return domain.ErrUnavailable
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

// canceledReasons returns the per-item reason codes of a cancelled
// transaction ("None", "ConditionalCheckFailed", "TransactionConflict", …).
func canceledReasons(err error) ([]string, bool) {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil, false
	}
	codes := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		if r.Code != nil {
			codes[i] = *r.Code
		}
	}
	return codes, true
}

// isCondFailed reports whether err is a failed condition check of a single
// item write.
func isCondFailed(err error) bool {
	var cc *types.ConditionalCheckFailedException
	return errors.As(err, &cc)
}

// isTxConflict reports whether a transaction was cancelled only because
// another transaction touched the same items (worth retrying at once).
func isTxConflict(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	reasons, ok := canceledReasons(err)
	if !ok {
		return false
	}
	conflict := false
	for _, r := range reasons {
		switch r {
		case "", "None":
		case "TransactionConflict":
			conflict = true
		default:
			return false
		}
	}
	return conflict
}
