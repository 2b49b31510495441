package dynamostore

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/awserr"
)

var errConfig = domain.ErrConfig

// translate wraps a DynamoDB error with op and the domain sentinel that
// describes it, keeping the original in the chain.
func translate(op string, err error) error {
	return awserr.Wrap("dynamostore", op, err, classify)
}

// classify maps a vendor error to a domain sentinel, or nil if none fits.
func classify(err error) error {
	var (
		throughput *types.ProvisionedThroughputExceededException
		limit      *types.RequestLimitExceeded
		throttle   *types.ThrottlingException
		notFound   *types.ResourceNotFoundException
		internal   *types.InternalServerError
	)
	switch {
	case errors.As(err, &throughput), errors.As(err, &limit), errors.As(err, &throttle):
		return domain.ErrRateLimited
	case errors.As(err, &notFound):
		return domain.ErrConfig // the table does not exist
	case errors.As(err, &internal):
		return domain.ErrUnavailable
	}
	return awserr.Classify(err, codeSentinel)
}

// codeSentinel maps a DynamoDB error code to a domain sentinel, or nil.
func codeSentinel(code string) error {
	switch code {
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
