// Package awserr translates AWS SDK errors into the domain sentinels, for
// the adapters that talk to AWS services (sqsq, dynamostore).
//
// Each adapter keeps what is specific to its service: the typed exceptions
// it checks first and the table of error codes; Classify adds the rules
// every AWS service shares (a 5xx answer or no answer at all is
// domain.ErrUnavailable) and Wrap the error message and chain.
package awserr
