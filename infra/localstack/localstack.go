package localstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/worker"
)

// Demo credentials of the emulated corp. They only ever talk to the
// emulator; a real deployment sets its own through the environment.
const (
	DemoCorpID    = "wwDEMO0000000001"
	DemoToken     = "demo-callback-token"
	DemoAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	DemoKfSecret  = "demo-kf-secret"
	DemoAppSecret = "demo-app-secret"
	DemoAgentID   = "1000002"
)

// Options tunes the stack. Zero values take the defaults.
type Options struct {
	Addr     string              // listen address; default 127.0.0.1:$PORT (8080)
	Getenv   func(string) string // environment; default os.Getenv
	NotePoll time.Duration       // how often the note sync runs; default 15s
	// Emulator overrides parts of the emulator's configuration (callback
	// retry timing, token lifetime) for tests.
	Emulator func(*emulator.Config)
	Logger   *slog.Logger
}

// Stack is the running product.
type Stack struct {
	URL      string // http://host:port
	App      *app.App
	Emulator *emulator.Emulator
	CRM      *builtin.CRM
	Store    store.Store
	Worker   *worker.Worker
	Queue    *localq.Queue
	Notes    *notes.Syncer

	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start builds and starts everything; Close stops it.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	addr := opts.Addr
	if addr == "" {
		port := getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = "127.0.0.1:" + port
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localstack: listen %s: %w", addr, err)
	}
	url := "http://" + ln.Addr().String()
	env := demoEnv(getenv, url)
	if err := os.MkdirAll(env("DATA_DIR"), 0o750); err != nil {
		ln.Close()
		return nil, fmt.Errorf("localstack: DATA_DIR: %w", err)
	}

	s := &Stack{URL: url}
	fail := func(err error) (*Stack, error) {
		ln.Close()
		if s.App != nil {
			s.App.Close()
		}
		return nil, err
	}
	a, err := app.Load(ctx, env)
	if err != nil {
		return fail(err)
	}
	if opts.Logger != nil {
		a.Logger = opts.Logger
	}
	s.App = a
	if s.Store, err = a.Store(ctx); err != nil {
		return fail(err)
	}
	ch := a.Config.Channels[0]
	ecfg := emulator.Config{
		CorpID: ch.CorpID, Token: ch.Token, EncodingAESKey: ch.EncodingAESKey,
		KfSecret: ch.KfSecret, AppSecret: ch.AppSecret, ContactSecret: ch.ContactSecret, AgentID: ch.AgentID,
		CallbackURL: url + "/wecom/" + ch.Name, AppCallbackURL: url + "/wecom/" + ch.Name,
		Logger: a.Logger.With("component", "emulator"),
	}
	if opts.Emulator != nil {
		opts.Emulator(&ecfg)
	}
	if s.Emulator, err = emulator.New(ecfg); err != nil {
		return fail(err)
	}
	if s.CRM, err = a.Builtin(); err != nil {
		return fail(err)
	}
	if s.Queue, err = a.LocalQueue(ctx); err != nil {
		return fail(err)
	}
	cb, err := a.Callback(ctx, s.Queue)
	if err != nil {
		return fail(err)
	}
	if s.Worker, err = a.Worker(ctx); err != nil {
		return fail(err)
	}
	if s.Notes, err = a.NoteSyncer(ctx); err != nil {
		return fail(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/wecom", cb)
	mux.Handle("/wecom/", cb)
	emu := s.Emulator.Handler()
	mux.Handle("/cgi-bin/", emu)
	mux.Handle("/emulator/", emu)
	mux.Handle("/crm/", s.CRM.Handler())
	if admin, err := a.Admin(ctx); err != nil {
		return fail(err)
	} else if admin != nil {
		mux.Handle("/admin/", admin)
	}
	if side, err := a.Sidebar(ctx); err != nil {
		return fail(err)
	} else if side != nil {
		mux.Handle("/sidebar/", side)
	}
	reminders, err := a.Reminders(ctx)
	if err != nil {
		return fail(err)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/emulator/", http.StatusFound) })

	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("localstack: server stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		_ = s.Queue.Run(runCtx, s.Worker.Handle) // returns nil when runCtx ends
	}()
	poll := opts.NotePoll
	if poll <= 0 {
		poll = 15 * time.Second
	}
	go func() {
		defer s.wg.Done()
		_ = app.Every(poll, func(ctx context.Context, _ string) error {
			if reminders != nil {
				if err := reminders(ctx); err != nil && ctx.Err() == nil {
					a.Logger.Warn("localstack: reminders", "err", err)
				}
			}
			st, err := s.Notes.Run(ctx)
			if err != nil && ctx.Err() == nil {
				a.Logger.Warn("localstack: note sync", "err", err)
			} else if st.Delivered+st.IdleEnded+st.Buried > 0 {
				a.Logger.Info("localstack: note sync", "delivered", st.Delivered, "ended", st.IdleEnded, "dead", st.Buried)
			}
			return err
		})(runCtx)
	}()
	return s, nil
}

// Close stops the server and background work and closes the store.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.cancel()
	s.wg.Wait()
	return errors.Join(err, s.Emulator.Close(), s.App.Close())
}

// demoEnv overlays the demo defaults on the environment: the emulated corp's
// credentials (unless a real channel is configured) and the emulator as the
// WeCom API.
func demoEnv(getenv func(string) string, url string) func(string) string {
	defaults := map[string]string{"DATA_DIR": "./data"}
	demo := getenv("WECOM_CORP_ID") == ""
	if demo {
		// The emulated corp talks to the emulator, whatever WECOM_API_BASE says.
		defaults["WECOM_API_BASE"] = url
		for k, v := range map[string]string{
			"WECOM_CORP_ID": DemoCorpID, "WECOM_TOKEN": DemoToken, "WECOM_AES_KEY": DemoAESKey,
			"WECOM_KF_SECRET": DemoKfSecret, "WECOM_APP_SECRET": DemoAppSecret, "WECOM_AGENT_ID": DemoAgentID,
		} {
			defaults[k] = v
		}
	}
	return func(k string) string {
		if k == "STORE" && getenv(k) == "" {
			dir := getenv("DATA_DIR")
			if dir == "" {
				dir = defaults["DATA_DIR"]
			}
			return "bbolt://" + filepath.Join(dir, "state.db")
		}
		if v := getenv(k); v != "" && !(demo && k == "WECOM_API_BASE") {
			return v
		}
		return defaults[k]
	}
}
