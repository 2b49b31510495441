package platform

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// Handlers are what a function offers to its triggers. Any of them may be nil
// when the function has no trigger of that kind; an event for a nil handler
// fails with domain.ErrConfig.
type Handlers struct {
	// HTTP serves HTTP triggers (API Gateway v2, Function URL, SCF API
	// gateway, local server).
	HTTP http.Handler
	// Queue processes one queue message (an SQS record, a CMQ record, or a
	// queue.Envelope delivered by direct/async invocation). A non-nil error
	// means the message is redelivered later.
	Queue queue.Handler
	// Schedule runs a timer/schedule trigger; name is the EventBridge rule
	// name or the SCF timer trigger name.
	Schedule func(ctx context.Context, name string) error
}

// Platform names the runtime a function binary runs on.
type Platform string

// Platforms a function binary can run on.
const (
	Lambda Platform = "lambda"
	SCF    Platform = "scf"
	Local  Platform = "local"
)

// EnvPlatform is the environment variable that overrides detection
// ("lambda", "scf" or "local"). SCF web functions set PLATFORM=local in
// scf_bootstrap because SCF also sets TENCENTCLOUD_RUNENV there.
const EnvPlatform = "PLATFORM"

// Detect tells the platform from the environment: an explicit PLATFORM wins;
// AWS_LAMBDA_RUNTIME_API set means Lambda; TENCENTCLOUD_RUNENV=SCF means SCF;
// anything else is Local. _LAMBDA_SERVER_PORT alone is never used, because
// both aws-lambda-go's legacy RPC mode and scf-go-lib listen on it.
func Detect(getenv func(string) string) Platform {
	switch p := Platform(getenv(EnvPlatform)); p {
	case Lambda, SCF, Local:
		return p
	}
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return Lambda
	}
	if getenv("TENCENTCLOUD_RUNENV") == "SCF" {
		return SCF
	}
	return Local
}

// Option configures Start.
type Option func(*options)

type options struct {
	getenv            func(string) string
	logger            *slog.Logger
	platform          Platform
	addr              string
	shutdownTimeout   time.Duration
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	ready             func(addr string)
}

func defaultOptions() options {
	return options{
		getenv:            os.Getenv,
		logger:            slog.New(slog.NewJSONHandler(io.Discard, nil)),
		shutdownTimeout:   10 * time.Second,
		readHeaderTimeout: 5 * time.Second,
		readTimeout:       15 * time.Second,
		writeTimeout:      60 * time.Second,
		idleTimeout:       120 * time.Second,
	}
}

// WithGetenv sets the environment lookup used for detection and for the
// local listen address (default os.Getenv). Note that aws-lambda-go and
// scf-go-lib read their own variables from the process environment.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) { o.getenv = getenv }
}

// WithLogger sets the logger for start-up, shutdown and dispatch errors
// (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithPlatform skips detection and runs on p.
func WithPlatform(p Platform) Option {
	return func(o *options) { o.platform = p }
}

// WithAddr sets the local listen address, overriding ADDR and PORT. Use
// "0.0.0.0:9000" for SCF web functions.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// WithShutdownTimeout bounds the graceful shutdown of the local server
// (default 10s).
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) { o.shutdownTimeout = d }
}

// WithReady registers a callback that receives the local server's actual
// listen address once it accepts connections (useful with port 0).
func WithReady(f func(addr string)) Option {
	return func(o *options) { o.ready = f }
}

// Start runs the function on the detected platform and blocks. On Lambda
// and SCF the runtime library owns the process and Start returns only on a
// start-up failure (or, on SCF, when ctx ends). Locally it serves HTTP until
// ctx is cancelled or SIGTERM/SIGINT arrives, then shuts down gracefully and
// returns nil. Configuration errors wrap domain.ErrConfig.
func Start(ctx context.Context, h Handlers, opts ...Option) error {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	p := o.platform
	if p == "" {
		p = Detect(o.getenv)
	}
	o.logger.Debug("platform start", "platform", string(p))
	switch p {
	case Lambda:
		return startLambda(ctx, h, &o)
	case SCF:
		return startSCF(ctx, h, &o)
	case Local:
		return startLocal(ctx, h, &o)
	default:
		return fmt.Errorf("platform: unknown platform %q: %w", p, domain.ErrConfig)
	}
}
