package loadtest

import (
	"errors"
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

// Faults on bbolt: WeCom API errors, CRM 5xx/429/timeouts and an outage
// while conversations end, and the stack stopped mid-sync and restarted on
// the same state.
func TestLoadFaultsBbolt(t *testing.T) {
	msgs, convs, think := scale(t)
	rep, err := Run(t.Context(), Config{Messages: msgs, Conversations: convs, Think: think, DataDir: t.TempDir(),
		Timeout: timeout(), Logger: testLogger(), Progress: func(s string) { t.Log(s) },
		Faults: Faults{WeCom: true, CRMEvery: 4, CRMOutage: time.Second, RestartWorker: true}})
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
	assertFaultsExercised(t, rep)
	if rep.WorkerRestarts != 1 {
		t.Errorf("worker restarts = %d, want 1", rep.WorkerRestarts)
	}
}

// Faults on Redis: the same, plus the Redis server killed and restarted
// mid-run (it keeps its data in an fsynced append-only file, like a
// managed Redis).
func TestLoadFaultsRedis(t *testing.T) {
	msgs, convs, think := scale(t)
	redis, err := StartRedis(t.TempDir())
	if errors.Is(err, ErrNoRedis) && os.Getenv("REQUIRE_ENGINES") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Close() })
	rep, err := Run(t.Context(), Config{Messages: msgs, Conversations: convs, Think: think, DataDir: t.TempDir(),
		Store: redis.URL(), Timeout: timeout(), Logger: testLogger(), Progress: func(s string) { t.Log(s) },
		Faults: Faults{WeCom: true, CRMEvery: 4, CRMOutage: time.Second, Redis: redis}})
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
	assertFaultsExercised(t, rep)
	if rep.RedisRestarts != 1 {
		t.Errorf("redis restarts = %d, want 1", rep.RedisRestarts)
	}
}

// assertFaultsExercised makes sure the faults really happened: a run where
// nothing was injected proves nothing.
func assertFaultsExercised(t *testing.T, rep Report) {
	t.Helper()
	if rep.WeComInjected < 10 {
		t.Errorf("only %d WeCom faults were served", rep.WeComInjected)
	}
	if rep.CRM.Errors5xx == 0 || rep.CRM.RateLimited == 0 || rep.CRM.OutageRefused == 0 {
		t.Errorf("CRM faults not exercised: %+v", rep.CRM)
	}
	if rep.NotesDead == 0 || rep.NotesReplay == 0 {
		t.Errorf("no note was dead-lettered and replayed (dead %d, replayed %d)", rep.NotesDead, rep.NotesReplay)
	}
}
