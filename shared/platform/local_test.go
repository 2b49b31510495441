package platform_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/platform"
)

func TestListenAddr(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, "127.0.0.1:8080"},
		{"port", map[string]string{"PORT": "9000"}, "127.0.0.1:9000"},
		{"explicit addr", map[string]string{"ADDR": "0.0.0.0:9000", "PORT": "1"}, "0.0.0.0:9000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := platform.ListenAddr(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Fatalf("ListenAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStartLocal(t *testing.T) {
	rc := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- platform.Start(ctx, rc.handlers(), platform.WithPlatform(platform.Local),
			platform.WithAddr("127.0.0.1:0"), platform.WithReady(func(a string) { ready <- a }))
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("Start returned early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server not ready")
	}
	resp, err := http.Post("http://"+addr+"/x?y=1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(b) != "echo:" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

func TestStartConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		h    platform.Handlers
	}{
		{"local without HTTP", nil, platform.Handlers{}},
		{"scf event function without rpc port", map[string]string{"TENCENTCLOUD_RUNENV": "SCF"}, (&recorder{}).handlers()},
		{"local bad addr", map[string]string{"ADDR": "256.0.0.1:http"}, (&recorder{}).handlers()},
		{"unknown platform", map[string]string{}, (&recorder{}).handlers()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := []platform.Option{platform.WithGetenv(func(k string) string { return tc.env[k] })}
			if tc.name == "unknown platform" {
				opts = append(opts, platform.WithPlatform("k8s"))
			}
			err := platform.Start(t.Context(), tc.h, opts...)
			if !errors.Is(err, domain.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}
