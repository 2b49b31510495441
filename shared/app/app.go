package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/config"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/queue/localq"
	"wecom-crm-bot/shared/store"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/store/dynamostore"
)

// App holds what one function instance builds once per cold start.
type App struct {
	Config config.Config
	Logger *slog.Logger
	Getenv func(string) string

	mu        sync.Mutex
	store     store.Store
	builtin   *builtin.CRM
	crm       crm.CRM
	localq    *localq.Queue
	knowledge *bot.KnowledgeSource
	closers   []io.Closer
}

// Load reads secrets and configuration, and sets up logging. It does not
// open anything yet; engines open on first use.
func Load(ctx context.Context, getenv func(string) string) (*App, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	getenv, err := platform.LoadSecrets(ctx, getenv)
	if err != nil {
		return nil, fmt.Errorf("app: secrets: %w", err)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, fmt.Errorf("app: config: %w", err)
	}
	logger := platform.NewLogger(cfg.LogLevel, os.Stderr)
	return &App{Config: cfg, Logger: logger, Getenv: getenv}, nil
}

// Store opens (once) the configured state engine.
func (a *App) Store(ctx context.Context) (store.Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store != nil {
		return a.store, nil
	}
	st, err := OpenStore(ctx, a.Config.Store)
	if err != nil {
		return nil, err
	}
	a.store = st
	a.closers = append(a.closers, st)
	return st, nil
}

// OpenStore opens a store from its URL: bbolt://path, dynamodb://table,
// redis://host:port/db (or rediss://).
func OpenStore(ctx context.Context, rawURL string) (store.Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("app: STORE %q: want scheme://…", rawURL)
	}
	switch scheme {
	case "bbolt", "bolt":
		path := rest
		if path == "" {
			return nil, errors.New("app: STORE bbolt:// needs a file path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("app: STORE directory: %w", err)
		}
		st, err := boltstore.Open(path)
		if err != nil {
			return nil, fmt.Errorf("app: open bbolt %s: %w", path, err)
		}
		return st, nil
	case "dynamodb":
		st, err := dynamostore.Open(ctx, rawURL)
		if err != nil {
			return nil, fmt.Errorf("app: open dynamodb: %w", err)
		}
		return st, nil
	case "redis", "rediss":
		return openRedis(ctx, rawURL)
	default:
		return nil, fmt.Errorf("app: STORE scheme %q: want bbolt, dynamodb or redis", scheme)
	}
}

// Close releases what the app opened.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i].Close())
	}
	a.closers, a.store, a.localq = nil, nil, nil
	return errors.Join(errs...)
}
