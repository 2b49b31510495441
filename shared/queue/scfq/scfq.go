package scfq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	scf "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/scf/v20180416"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// MaxPayload is the largest event (the JSON queue.Envelope) an asynchronous
// SCF invocation accepts: 128 KiB.
const MaxPayload = 128 << 10

// Credentials are Tencent Cloud API credentials; Token is set for the
// temporary (STS) credentials of an execution role.
type Credentials struct {
	SecretID, SecretKey, Token string
}

// Config configures a Publisher. FunctionName, Region and Credentials are
// required; the rest have defaults.
type Config struct {
	// FunctionName is the worker function to invoke.
	FunctionName string
	// Namespace of the function (default "default").
	Namespace string
	// Qualifier is an optional version or alias (e.g. "$LATEST").
	Qualifier string
	// Region such as "ap-guangzhou".
	Region string
	// Credentials returns the credentials for one call; called on every
	// Publish so rotated role credentials are picked up.
	Credentials func() Credentials
	// Endpoint overrides the API host[:port] (default scf.tencentcloudapi.com).
	Endpoint string
	// Scheme is "https" (default) or "http" (tests).
	Scheme string
	// Timeout bounds one Invoke call (default 10s); ctx may shorten it.
	Timeout time.Duration
	// Transport carries the requests (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
}

// Publisher publishes queue messages by invoking the worker asynchronously.
// It is safe for concurrent use.
type Publisher struct {
	cfg Config
}

var _ queue.Publisher = (*Publisher)(nil)

// New returns a Publisher for cfg. It fails with domain.ErrConfig when a
// required field is missing.
func New(cfg Config) (*Publisher, error) {
	if cfg.FunctionName == "" || cfg.Region == "" || cfg.Credentials == nil {
		return nil, fmt.Errorf("scfq: function name, region and credentials are required: %w", domain.ErrConfig)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "https"
	}
	if cfg.Scheme != "https" && cfg.Scheme != "http" {
		return nil, fmt.Errorf("scfq: scheme %q: %w", cfg.Scheme, domain.ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Publisher{cfg: cfg}, nil
}

// EnvCredentials returns a Credentials func reading TENCENTCLOUD_SECRETID,
// TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN through getenv.
func EnvCredentials(getenv func(string) string) func() Credentials {
	return func() Credentials {
		return Credentials{
			SecretID:  getenv("TENCENTCLOUD_SECRETID"),
			SecretKey: getenv("TENCENTCLOUD_SECRETKEY"),
			Token:     getenv("TENCENTCLOUD_SESSIONTOKEN"),
		}
	}
}

// Open returns a Publisher for a URL of the form
//
//	scf://function-name?region=ap-guangzhou&namespace=default[&qualifier=$LATEST][&endpoint=host:port&scheme=http]
//
// region defaults to TENCENTCLOUD_REGION; credentials come from the
// environment through getenv (see EnvCredentials) and must be present now.
// It fails with domain.ErrConfig on a malformed URL or missing settings.
func Open(rawURL string, getenv func(string) string) (*Publisher, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("scfq: parse queue URL: %v: %w", err, domain.ErrConfig)
	}
	if u.Scheme != "scf" {
		return nil, fmt.Errorf("scfq: queue URL scheme %q, want scf: %w", u.Scheme, domain.ErrConfig)
	}
	if u.User != nil || u.Port() != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("scfq: queue URL must be scf://function-name?…: %w", domain.ErrConfig)
	}
	q := u.Query()
	region := q.Get("region")
	if region == "" {
		region = getenv("TENCENTCLOUD_REGION")
	}
	creds := EnvCredentials(getenv)
	if c := creds(); c.SecretID == "" || c.SecretKey == "" {
		return nil, fmt.Errorf("scfq: TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY not set: %w", domain.ErrConfig)
	}
	return New(Config{
		FunctionName: u.Hostname(),
		Namespace:    q.Get("namespace"),
		Qualifier:    q.Get("qualifier"),
		Region:       region,
		Credentials:  creds,
		Endpoint:     q.Get("endpoint"),
		Scheme:       q.Get("scheme"),
	})
}

// Publish invokes the worker asynchronously with {"queueMessage": msg}. A nil
// error means SCF accepted the event. Errors wrap domain.ErrInvalid (message
// too large or rejected as malformed), domain.ErrRateLimited (request or
// concurrency limits), domain.ErrConfig (auth, permissions, unknown function)
// or domain.ErrUnavailable (network, timeouts, service errors).
func (p *Publisher) Publish(ctx context.Context, msg queue.Message) error {
	payload, err := json.Marshal(queue.Envelope{QueueMessage: &msg})
	if err != nil {
		return fmt.Errorf("scfq: encode message %s: %v: %w", msg.ID, err, domain.ErrInvalid)
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("scfq: message %s is %d bytes, async invoke limit is %d: %w", msg.ID, len(payload), MaxPayload, domain.ErrInvalid)
	}
	c := p.cfg.Credentials()
	if c.SecretID == "" || c.SecretKey == "" {
		return fmt.Errorf("scfq: no credentials: %w", domain.ErrConfig)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()

	prof := profile.NewClientProfile()
	prof.HttpProfile.Endpoint = p.cfg.Endpoint
	prof.HttpProfile.Scheme = strings.ToUpper(p.cfg.Scheme)
	prof.HttpProfile.ReqTimeout = int((p.cfg.Timeout + time.Second - 1) / time.Second)
	client, err := scf.NewClient(common.NewTokenCredential(c.SecretID, c.SecretKey, c.Token), p.cfg.Region, prof)
	if err != nil {
		return fmt.Errorf("scfq: client: %v: %w", err, domain.ErrConfig)
	}
	client.WithHttpTransport(ctxTransport{ctx: ctx, base: p.cfg.Transport})

	req := scf.NewInvokeRequest()
	req.FunctionName = common.StringPtr(p.cfg.FunctionName)
	req.InvocationType = common.StringPtr("Event")
	req.Namespace = common.StringPtr(p.cfg.Namespace)
	req.ClientContext = common.StringPtr(string(payload))
	if p.cfg.Qualifier != "" {
		req.Qualifier = common.StringPtr(p.cfg.Qualifier)
	}
	if _, err := client.Invoke(req); err != nil {
		return fmt.Errorf("scfq: invoke %s for message %s: %w", p.cfg.FunctionName, msg.ID, translate(ctx, err))
	}
	return nil
}

// ctxTransport binds every request of one Publish call to its context, as
// the SDK's client has no context parameter.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// translate maps SDK errors (codes from the API's Response.Error.Code or the
// SDK's ClientError.*) to domain sentinels.
func translate(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%v: %w: %w", err, ctxErr, domain.ErrUnavailable)
	}
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) {
		return fmt.Errorf("%v: %w", err, domain.ErrUnavailable)
	}
	code := se.Code
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if code == p || strings.HasPrefix(code, p+".") {
				return true
			}
		}
		return false
	}
	switch {
	case has("RequestLimitExceeded", "LimitExceeded", "ResourceInsufficient"):
		return fmt.Errorf("%v: %w", err, domain.ErrRateLimited)
	case has("InvalidParameterValue.ClientContext", "InvalidParameter.Payload", "InvalidParameterValue.Payload"):
		return fmt.Errorf("%v: %w", err, domain.ErrInvalid)
	case has("AuthFailure", "UnauthorizedOperation", "ResourceNotFound", "InvalidParameter",
		"InvalidParameterValue", "MissingParameter", "UnsupportedOperation", "UnknownParameter",
		"ResourceUnavailable.InsufficientBalance", "OperationDenied", "InvalidAction"):
		return fmt.Errorf("%v: %w", err, domain.ErrConfig)
	default: // InternalError, ResourceUnavailable, FailedOperation, ClientError.NetworkError, HTTP status errors
		return fmt.Errorf("%v: %w", err, domain.ErrUnavailable)
	}
}
