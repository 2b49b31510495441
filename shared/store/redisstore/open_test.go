package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/internal/enginetest"
	"wecom-crm-bot/shared/store/redisstore"
)

func TestOpen(t *testing.T) {
	addr := enginetest.Redis(t)
	ctx := t.Context()
	prefix := uniquePrefix()
	s, err := redisstore.Open(ctx, "redis://"+addr+"/0?prefix="+prefix+"&dial_timeout=2s")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if won, err := s.Claim(ctx, "k", time.Minute); err != nil || !won {
		t.Fatalf("Claim: %v, %v", won, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The prefix from the URL is applied: the key is where New would put it.
	if n, err := client(t).Exists(ctx, prefix+"claim:k").Result(); err != nil || n != 1 {
		t.Fatalf("key %sclaim:k exists=%d, %v", prefix, n, err)
	}
}

func TestOpenErrors(t *testing.T) {
	// A port that nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		url  string
		want error
	}{
		{"BadScheme", "http://127.0.0.1:6379", domain.ErrConfig},
		{"BadDB", "redis://127.0.0.1:6379/x", domain.ErrConfig},
		{"UnknownOption", "redis://127.0.0.1:6379/0?bogus=1", domain.ErrConfig},
		{"Unreachable", "redis://:s3cret@" + closed + "/0?dial_timeout=300ms", domain.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			s, err := redisstore.Open(ctx, tc.url)
			if err == nil {
				_ = s.Close() // already failing
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}
