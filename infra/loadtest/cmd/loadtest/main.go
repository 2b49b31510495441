// Command loadtest runs one load (and optionally fault) run against an
// in-process local stack and prints the report as Markdown. The full run of
// docs/reliability.md:
//
//	go run ./infra/loadtest/cmd/loadtest -messages 10000 -conversations 500 -think 1s
//	go run ./infra/loadtest/cmd/loadtest -messages 10000 -conversations 500 -think 1s -store redis -faults
//
// Everything listens on loopback only. It exits 1 when an invariant fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"wecom-crm-bot/infra/loadtest"
)

func main() { os.Exit(run()) }

// run does the work, so that deferred clean-up (the Redis process, the
// temp dir) happens before the exit code is returned.
func run() int {
	msgs := flag.Int("messages", 300, "customer messages in total")
	convs := flag.Int("conversations", 30, "customers (one conversation each)")
	think := flag.Duration("think", 50*time.Millisecond, "mean pause before each customer message")
	storeKind := flag.String("store", "bbolt", "bbolt or redis (a redis-server started by this command)")
	faults := flag.Bool("faults", false, "inject WeCom errors, CRM errors and an outage, a worker restart (bbolt) or a Redis restart (redis)")
	timeout := flag.Duration("timeout", 30*time.Minute, "bound on the whole run")
	verbose := flag.Bool("v", false, "show the stack's warnings")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "loadtest-*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	cfg := loadtest.Config{Messages: *msgs, Conversations: *convs, Think: *think, DataDir: dir, Timeout: *timeout,
		Progress: func(s string) { fmt.Fprintln(os.Stderr, time.Now().Format(time.TimeOnly), s) }}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if *faults {
		cfg.Faults = loadtest.Faults{WeCom: true, CRMEvery: 4, CRMOutage: 2 * time.Second}
	}
	switch *storeKind {
	case "bbolt":
		cfg.Faults.RestartWorker = *faults
	case "redis":
		if err := os.MkdirAll(dir+"/redis", 0o750); err != nil {
			return fail(err)
		}
		r, err := loadtest.StartRedis(dir + "/redis")
		if err != nil {
			return fail(err)
		}
		defer r.Close()
		cfg.Store = r.URL()
		if *faults {
			cfg.Faults.Redis = r
		}
	default:
		return fail(fmt.Errorf("-store %q: want bbolt or redis", *storeKind))
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	fmt.Print(rep.Markdown())
	for _, v := range rep.Violations {
		fmt.Fprintln(os.Stderr, "violation:", v)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	return 1
}
