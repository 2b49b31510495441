package loadtest

import (
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"
)

// scale returns the message and conversation counts: CI's scaled-down run,
// or the full run with LOADTEST_FULL=1.
func scale(t *testing.T) (msgs, convs int, think time.Duration) {
	if os.Getenv("LOADTEST_FULL") == "1" {
		return 10000, 500, time.Second
	}
	if n, err := strconv.Atoi(os.Getenv("LOADTEST_MESSAGES")); err == nil && n > 0 {
		return n, max(1, n/20), 200 * time.Millisecond
	}
	return 300, 30, 50 * time.Millisecond
}

// timeout bounds a run: generous for the full run, tight for CI.
func timeout() time.Duration {
	if os.Getenv("LOADTEST_FULL") == "1" {
		return 20 * time.Minute
	}
	return 2 * time.Minute
}

// testLogger shows the stack's warnings with LOADTEST_LOG=1.
func testLogger() *slog.Logger {
	if os.Getenv("LOADTEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

func logReport(t *testing.T, rep Report) {
	t.Helper()
	t.Logf("\n%s", rep.Markdown())
	if !rep.OK() {
		for _, v := range rep.Violations {
			t.Errorf("violation: %s", v)
		}
	}
}

func TestLoadBbolt(t *testing.T) {
	msgs, convs, think := scale(t)
	rep, err := Run(t.Context(), Config{Messages: msgs, Conversations: convs, Think: think, DataDir: t.TempDir(),
		Timeout: timeout(), Logger: testLogger(), Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
}
