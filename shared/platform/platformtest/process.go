package platformtest

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Process is a started function binary.
type Process struct {
	Cmd     *exec.Cmd
	Started time.Time // just before exec
	out     syncBuffer
}

// Start runs bin with exactly env, stdout and stderr captured together.
// At cleanup it is killed (it may have exited already) and, when the test
// failed, its output is logged.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin)}
	p.Cmd.Env = env
	p.Cmd.Stdout, p.Cmd.Stderr = &p.out, &p.out
	p.Started = time.Now()
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill() // may have exited already
		_ = p.Cmd.Wait()         // reaps; the exit status of a killed process is expected
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.Output())
		}
	})
	return p
}

// Output is what the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// WaitOutput waits until the process has written substr (output is copied
// through a pipe, so it may lag behind an invocation's result) and fails
// the test after timeout.
func (p *Process) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Output(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not seen in the process output within %v", substr, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
