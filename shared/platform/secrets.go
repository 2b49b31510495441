package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"wecom-crm-bot/shared/domain"
)

// Environment variables read by LoadSecrets.
const (
	// EnvSecretsARN names the AWS Secrets Manager secret (ARN or name) that
	// holds a JSON object of env-style keys, e.g. {"WECOM_SECRET":"…"}.
	EnvSecretsARN = "SECRETS_ARN"
	// EnvSecretsEndpoint overrides the Secrets Manager endpoint (the SDK's
	// standard service-specific variable; used by tests and local stacks).
	EnvSecretsEndpoint = "AWS_ENDPOINT_URL_SECRETS_MANAGER"
)

// LoadSecrets returns a getenv that overlays the secret named by SECRETS_ARN
// on getenv: keys present in the secret win. The secret is fetched once,
// here, so call LoadSecrets at cold start. Without SECRETS_ARN (and always
// on SCF, where secrets are plain environment variables) getenv is returned
// unchanged.
//
// The region comes from AWS_REGION; credentials from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in getenv when set (as on
// Lambda), else from the SDK's default chain. Errors wrap domain.ErrConfig
// (missing secret, access denied, malformed secret), domain.ErrRateLimited
// (throttling) or domain.ErrUnavailable.
func LoadSecrets(ctx context.Context, getenv func(string) string) (func(string) string, error) {
	arn := getenv(EnvSecretsARN)
	if arn == "" || Detect(getenv) == SCF {
		return getenv, nil
	}
	opts := []func(*config.LoadOptions) error{}
	if r := getenv("AWS_REGION"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, key, getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("platform: aws config: %v: %w", err, domain.ErrConfig)
	}
	client := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if ep := getenv(EnvSecretsEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("platform: get secret: %w", translateAWSError(err))
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("platform: secret has no string value: %w", domain.ErrConfig)
	}
	values, err := parseSecret([]byte(*out.SecretString))
	if err != nil {
		return nil, err
	}
	return func(k string) string {
		if v, ok := values[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// parseSecret decodes a JSON object of env-style keys; numbers and booleans
// become their JSON text, null becomes "".
func parseSecret(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("platform: secret is not a JSON object: %w", domain.ErrConfig)
	}
	values := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			values[k] = s
			continue
		}
		var scalar any
		if err := json.Unmarshal(v, &scalar); err != nil {
			return nil, fmt.Errorf("platform: secret key %q: %w", k, domain.ErrConfig)
		}
		switch x := scalar.(type) {
		case nil:
			values[k] = ""
		case bool:
			values[k] = strconv.FormatBool(x)
		case float64:
			values[k] = string(v)
		default:
			return nil, fmt.Errorf("platform: secret key %q is not a scalar: %w", k, domain.ErrConfig)
		}
	}
	return values, nil
}

// translateAWSError maps AWS API errors to domain sentinels.
func translateAWSError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
			return fmt.Errorf("%v: %w", err, domain.ErrRateLimited)
		case "ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException",
			"InvalidSignatureException", "ExpiredTokenException", "DecryptionFailure",
			"InvalidParameterException", "InvalidRequestException", "ValidationException":
			return fmt.Errorf("%v: %w", err, domain.ErrConfig)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", err, domain.ErrUnavailable)
	}
	return fmt.Errorf("%v: %w", err, domain.ErrUnavailable)
}
