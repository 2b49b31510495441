package sqsq

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/awserr"
)

// translate wraps an SQS error with op and the domain sentinel that
// describes it, keeping the original in the chain.
func translate(op string, err error) error {
	return awserr.Wrap("sqsq", op, err, classify)
}

// classify maps a vendor error to a domain sentinel, or nil if none fits.
func classify(err error) error {
	var (
		throttled   *types.RequestThrottled
		kmsThrottle *types.KmsThrottled
		noQueue     *types.QueueDoesNotExist
	)
	switch {
	case errors.As(err, &throttled), errors.As(err, &kmsThrottle):
		return domain.ErrRateLimited
	case errors.As(err, &noQueue):
		return domain.ErrConfig
	}
	return awserr.Classify(err, codeSentinel)
}

// codeSentinel maps an SQS error code to a domain sentinel, or nil.
func codeSentinel(code string) error {
	switch code {
	case "RequestThrottled", "ThrottlingException", "Throttling", "KmsThrottled",
		"KMS.ThrottlingException", "TooManyRequestsException":
		return domain.ErrRateLimited
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "AccessDenied",
		"AccessDeniedException", "InvalidSecurity", "InvalidClientTokenId", "UnrecognizedClientException",
		"SignatureDoesNotMatch", "ExpiredToken", "MissingAuthenticationToken",
		"KmsAccessDenied", "KmsDisabled", "KmsNotFound", "KmsInvalidState", "KmsInvalidKeyUsage", "KmsOptInRequired":
		return domain.ErrConfig
	case "InvalidMessageContents", "InvalidAttributeName", "InvalidAttributeValue",
		"InvalidParameterValue", "ValidationError", "ValidationException", "MissingParameter":
		return domain.ErrInvalid
	case "ServiceUnavailable", "InternalFailure", "InternalError":
		return domain.ErrUnavailable
	}
	return nil
}
