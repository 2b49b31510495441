package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"wecom-crm-bot/shared/admin"
	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/platform"
	"wecom-crm-bot/shared/worker"
)

// Metrics returns the analytics recorder the worker reports to: counters
// and raw events in the store (flushed in the background and on Close) and,
// on Lambda, CloudWatch EMF lines on stdout.
func (a *App) Metrics(ctx context.Context) (worker.Metrics, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	opts := []analytics.Option{analytics.WithLogger(a.Logger), analytics.WithRetention(a.Config.EventRetention)}
	if platform.Detect(a.Getenv) == platform.Lambda {
		opts = append(opts, analytics.WithEMF(os.Stdout))
	}
	r := analytics.New(st, opts...)
	a.mu.Lock()
	a.closers = append(a.closers, r) // closed before the store: the last flush still lands
	a.mu.Unlock()
	return r, nil
}

// queueTopic is the outbox topic of the in-process queue (localq's default).
const queueTopic = "queue"

// Admin returns the admin function's HTTP handler (console, JSON API,
// sidebar page). Without ADMIN_TOKEN it refuses to start, except when
// running locally, where it generates a token for the run and writes it to
// $DATA_DIR/admin-token (never to the log).
func (a *App) Admin(ctx context.Context) (http.Handler, error) {
	token := a.Config.AdminToken
	if token == "" {
		if platform.Detect(a.Getenv) != platform.Local {
			return nil, admin.ErrNoToken
		}
		var b [18]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
		token = base64.RawURLEncoding.EncodeToString(b[:])
		// A throwaway credential of this local process only. It goes to a
		// file only its owner can read, never into the log.
		path := filepath.Join(a.Config.DataDir, "admin-token")
		if err := os.MkdirAll(a.Config.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("app: admin token: %w", err)
		}
		if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("app: admin token: %w", err)
		}
		a.Logger.Warn("admin: ADMIN_TOKEN not set; generated a token for this local run (sign in at /admin/)", "token_file", path)
	}
	st, customers, err := a.storeAndCRM(ctx, true)
	if err != nil {
		return nil, err
	}
	kb, err := a.Knowledge(ctx)
	if err != nil {
		return nil, err
	}
	sidebar, err := a.Sidebar(ctx)
	if err != nil {
		return nil, err
	}
	var channels []string
	for _, ch := range a.Config.Channels {
		channels = append(channels, ch.Name)
	}
	h, err := admin.New(admin.Config{
		Token: token, Records: st, Outbox: st, DeadTopics: []string{worker.TopicNotes, queueTopic},
		Knowledge: kb, Reports: analytics.NewQuery(st), Channels: channels, Sidebar: sidebar,
		Retention: a.Config.EventRetention, Logger: a.Logger.With("component", "admin"),
		Preview: func(ctx context.Context, k *bot.Knowledge, in bot.Input) (bot.Output, error) {
			return a.BotFor(k, customers).Respond(ctx, in)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("app: admin: %w", err)
	}
	return h, nil
}

// ReportNoteDeadLetters publishes how many notes one pass dead-lettered: a
// CloudWatch EMF metric on Lambda (the NoteDeadLetters alarm watches it) and
// an error log everywhere (the log-based alarm on Tencent matches it).
func (a *App) ReportNoteDeadLetters(n int) {
	if n <= 0 {
		return
	}
	a.Logger.Error("notes dead-lettered; replay them from the admin console once the CRM is fixed", "note_dead_letters", n)
	if platform.Detect(a.Getenv) == platform.Lambda {
		if err := analytics.NewEMF(os.Stdout).NoteDeadLetters(time.Now(), n); err != nil {
			a.Logger.Warn("emit NoteDeadLetters metric", "err", err)
		}
	}
}
