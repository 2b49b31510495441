package sqsq

import (
	"errors"
	"fmt"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"wecom-crm-bot/shared/domain"
)

// translate wraps an SQS error with op and the domain sentinel that
// describes it, keeping the original in the chain.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if s := classify(err); s != nil {
		return fmt.Errorf("sqsq: %s: %w: %w", op, s, err)
	}
	return fmt.Errorf("sqsq: %s: %w", op, err)
}

// classify maps a vendor error to a domain sentinel, or nil if none fits.
func classify(err error) error {
	var (
		throttled   *types.RequestThrottled
		kmsThrottle *types.KmsThrottled
		noQueue     *types.QueueDoesNotExist
		netErr      net.Error
		respErr     *awshttp.ResponseError
		apiErr      smithy.APIError
	)
	switch {
	case errors.As(err, &throttled), errors.As(err, &kmsThrottle):
		return domain.ErrRateLimited
	case errors.As(err, &noQueue):
		return domain.ErrConfig
	}
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
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
