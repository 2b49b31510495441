package loadtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// ErrNoRedis is returned by StartRedis when redis-server is not on PATH.
var ErrNoRedis = errors.New("loadtest: redis-server not found on PATH")

// RedisServer is a redis-server process this package owns, so that a fault
// run can restart it. It persists to an append-only file fsynced on every
// write (as a managed Redis keeps its data across a restart), in Dir.
type RedisServer struct {
	Addr string // 127.0.0.1:port
	Dir  string

	mu       sync.Mutex
	cmd      *exec.Cmd
	restarts int
}

// StartRedis starts redis-server on a free loopback port with its data in dir.
func StartRedis(dir string) (*RedisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, ErrNoRedis
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &RedisServer{Addr: addr, Dir: dir}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// URL is the STORE value for this server.
func (r *RedisServer) URL() string { return "redis://" + r.Addr + "/0" }

func (r *RedisServer) start() error {
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r.Dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no")
	logf, err := os.Create(r.Dir + "/redis.log")
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("loadtest: start redis: %w", err)
	}
	go func() { cmd.Wait(); logf.Close() }()
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", r.Addr, 100*time.Millisecond); err == nil {
			// Listening is not enough: wait until the AOF is loaded.
			if ping(c) {
				c.Close()
				return nil
			}
			c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("loadtest: redis-server did not come up on %s", r.Addr)
}

// ping sends PING and expects +PONG (a loading server answers -LOADING).
func ping(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return err == nil && n >= 5 && string(buf[:5]) == "+PONG"
}

// Restart kills the server (SIGKILL, as a crash) and starts it again on the
// same port after down has passed. Clients see connection errors meanwhile.
func (r *RedisServer) Restart(down time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kill()
	time.Sleep(down)
	r.restarts++
	return r.start()
}

// Restarts counts completed restarts.
func (r *RedisServer) Restarts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts
}

func (r *RedisServer) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		for i := 0; i < 100; i++ { // wait for the port to be free
			if c, err := net.DialTimeout("tcp", r.Addr, 50*time.Millisecond); err != nil {
				break
			} else {
				c.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Close stops the server.
func (r *RedisServer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kill()
	r.cmd = nil
	return nil
}

// String describes the server for reports.
func (r *RedisServer) String() string {
	return "redis-server " + r.Addr + " (AOF, restarts " + strconv.Itoa(r.Restarts()) + ")"
}
