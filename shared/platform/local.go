package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"

	"wecom-crm-bot/shared/domain"
)

// DefaultPort is the local HTTP port when neither ADDR nor PORT is set.
const DefaultPort = "8080"

// ListenAddr returns the local listen address: ADDR if set (e.g.
// "0.0.0.0:9000" for SCF web functions), else 127.0.0.1:$PORT, else
// 127.0.0.1:8080. It never binds all interfaces unless asked to.
func ListenAddr(getenv func(string) string) string {
	if a := getenv("ADDR"); a != "" {
		return a
	}
	port := getenv("PORT")
	if port == "" {
		port = DefaultPort
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func startLocal(ctx context.Context, h Handlers, o *options) error {
	if h.HTTP == nil {
		return fmt.Errorf("platform: local mode needs an HTTP handler: %w", domain.ErrConfig)
	}
	addr := o.addr
	if addr == "" {
		addr = ListenAddr(o.getenv)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("platform: listen %s: %v: %w", addr, err, domain.ErrConfig)
	}
	srv := &http.Server{
		Handler:           h.HTTP,
		ReadHeaderTimeout: o.readHeaderTimeout,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      o.writeTimeout,
		IdleTimeout:       o.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	o.logger.Info("listening", "addr", ln.Addr().String())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("platform: serve: %w", err)
	case <-ctx.Done():
	}
	o.logger.Info("shutting down", "cause", context.Cause(ctx).Error())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("platform: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("platform: serve: %w", err)
	}
	return nil
}
