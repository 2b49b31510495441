package platform_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/platform"
)

// fakeSecretsManager implements secretsmanager.GetSecretValue over the AWS
// JSON 1.1 protocol and rejects requests that do not follow it.
func fakeSecretsManager(t *testing.T, secrets map[string]string, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	fail := func(w http.ResponseWriter, status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/":
			fail(w, http.StatusBadRequest, "UnknownOperationException", "bad method/path")
			return
		case r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue":
			fail(w, http.StatusBadRequest, "UnknownOperationException", "bad target "+r.Header.Get("X-Amz-Target"))
			return
		case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
			fail(w, http.StatusBadRequest, "SerializationException", "bad content type")
			return
		case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
			!strings.Contains(r.Header.Get("Authorization"), "/ap-east-1/secretsmanager/aws4_request"):
			fail(w, http.StatusForbidden, "UnrecognizedClientException", "bad signature "+r.Header.Get("Authorization"))
			return
		case r.Header.Get("X-Amz-Security-Token") != "TOKEN":
			fail(w, http.StatusForbidden, "UnrecognizedClientException", "missing session token")
			return
		}
		var in struct{ SecretId string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId == "" {
			fail(w, http.StatusBadRequest, "SerializationException", "bad body")
			return
		}
		if in.SecretId == "denied" {
			fail(w, http.StatusBadRequest, "AccessDeniedException", "no")
			return
		}
		s, ok := secrets[in.SecretId]
		if !ok {
			fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:ap-east-1:123456789012:secret:" + in.SecretId, "Name": in.SecretId,
			"SecretString": s, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadSecrets(t *testing.T) {
	var calls atomic.Int32
	srv := fakeSecretsManager(t, map[string]string{
		"app":     `{"WECOM_SECRET":"s3cr3t","CRM_TOKEN":"tok","RETRIES":5,"DEBUG":true,"EMPTY":null}`,
		"notjson": `hello`,
		"notflat": `{"a":{"b":1}}`,
	}, &calls)
	base := map[string]string{
		"AWS_REGION": "ap-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN": "TOKEN", platform.EnvSecretsEndpoint: srv.URL,
		"WECOM_SECRET": "from-env", "LOG_LEVEL": "debug",
	}
	env := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}

	t.Run("overlay", func(t *testing.T) {
		calls.Store(0)
		getenv, err := platform.LoadSecrets(t.Context(), env(map[string]string{"SECRETS_ARN": "app"}))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"WECOM_SECRET": "s3cr3t", "CRM_TOKEN": "tok", "RETRIES": "5", "DEBUG": "true",
			"EMPTY": "", "LOG_LEVEL": "debug", "MISSING": ""}
		for k, v := range want {
			if got := getenv(k); got != v {
				t.Errorf("getenv(%q) = %q, want %q", k, got, v)
			}
		}
		if calls.Load() != 1 {
			t.Fatalf("secret fetched %d times, want once", calls.Load())
		}
	})
	t.Run("no arn", func(t *testing.T) {
		calls.Store(0)
		getenv, err := platform.LoadSecrets(t.Context(), env(nil))
		if err != nil || getenv("WECOM_SECRET") != "from-env" || calls.Load() != 0 {
			t.Fatalf("err=%v value=%q calls=%d", err, getenv("WECOM_SECRET"), calls.Load())
		}
	})
	t.Run("scf uses plain env", func(t *testing.T) {
		calls.Store(0)
		getenv, err := platform.LoadSecrets(t.Context(), env(map[string]string{"SECRETS_ARN": "app", "TENCENTCLOUD_RUNENV": "SCF"}))
		if err != nil || getenv("WECOM_SECRET") != "from-env" || calls.Load() != 0 {
			t.Fatalf("err=%v value=%q calls=%d", err, getenv("WECOM_SECRET"), calls.Load())
		}
	})
	for _, tc := range []struct{ arn string }{{"missing"}, {"denied"}, {"notjson"}, {"notflat"}} {
		t.Run("error "+tc.arn, func(t *testing.T) {
			_, err := platform.LoadSecrets(t.Context(), env(map[string]string{"SECRETS_ARN": tc.arn}))
			if !errors.Is(err, domain.ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		_, err := platform.LoadSecrets(t.Context(), env(map[string]string{"SECRETS_ARN": "app",
			platform.EnvSecretsEndpoint: "http://127.0.0.1:1"}))
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
}
