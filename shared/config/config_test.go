package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/config"
)

const key43 = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "channels.json")
	if err := os.WriteFile(file, []byte(`[{"name":"other","corp_id":"ww2","token":"t2","aes_key":"`+key43+`"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c config.Config)
	}{
		{name: "defaults", env: map[string]string{}, check: func(t *testing.T, c config.Config) {
			if c.Port != "8080" || c.Queue != "memory" || c.CRM != "builtin" || c.Store != "bbolt://./data/state.db" {
				t.Errorf("defaults: %+v", c)
			}
			if c.NoteIdle != 30*time.Minute || c.EventRetention != 90*24*time.Hour || !c.CreateContacts {
				t.Errorf("durations/bools: %v %v %v", c.NoteIdle, c.EventRetention, c.CreateContacts)
			}
			if len(c.Channels) != 0 {
				t.Errorf("no channel configured, got %d", len(c.Channels))
			}
		}},
		{name: "default channel and file channel", env: map[string]string{
			"WECOM_CORP_ID": "ww1", "WECOM_TOKEN": "tok", "WECOM_AES_KEY": key43, "WECOM_APP_SECRET": "appsecret",
			"WECOM_CHANNELS_FILE": file, "DATA_DIR": "/tmp/x", "NOTE_IDLE_MINUTES": "0.5",
		}, check: func(t *testing.T, c config.Config) {
			if len(c.Channels) != 2 {
				t.Fatalf("channels = %d", len(c.Channels))
			}
			def, ok := c.Channel("default")
			if !ok || def.ContactSecret != "appsecret" {
				t.Errorf("contact secret should default to app secret: %+v", def)
			}
			if _, ok := c.Channel("other"); !ok {
				t.Error("file channel missing")
			}
			if c.Store != "bbolt:///tmp/x/state.db" || c.NoteIdle != 30*time.Second {
				t.Errorf("store %q idle %v", c.Store, c.NoteIdle)
			}
			for _, s := range c.Secrets() {
				if s == "ww1" {
					t.Error("corp id is not a secret")
				}
			}
			if !strings.Contains(strings.Join(c.Secrets(), ","), "appsecret") {
				t.Error("app secret not listed as secret")
			}
		}},
		{name: "short aes key", env: map[string]string{"WECOM_CORP_ID": "ww1", "WECOM_TOKEN": "t", "WECOM_AES_KEY": "short"}, wantErr: "43 characters"},
		{name: "bad crm", env: map[string]string{"CRM": "excel"}, wantErr: "CRM: want"},
		{name: "bad idle", env: map[string]string{"NOTE_IDLE_MINUTES": "-1"}, wantErr: "NOTE_IDLE_MINUTES"},
		{name: "bad tz", env: map[string]string{"BOT_TIMEZONE": "Mars/Base"}, wantErr: "BOT_TIMEZONE"},
		{name: "bad channels json", env: map[string]string{"WECOM_CHANNELS": "{"}, wantErr: "WECOM_CHANNELS"},
		{name: "duplicate channel", env: map[string]string{"WECOM_CHANNELS": `[{"name":"a","corp_id":"c","token":"t","aes_key":"` + key43 + `"},{"name":"a","corp_id":"c","token":"t","aes_key":"` + key43 + `"}]`}, wantErr: "declared twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestVarsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range config.Vars {
		if v.Name == "" || v.Help == "" {
			t.Errorf("undocumented var %+v", v)
		}
		if seen[v.Name] {
			t.Errorf("duplicate var %s", v.Name)
		}
		seen[v.Name] = true
	}
}

// The README's configuration table is generated from Vars; regenerate it
// with `go run ./cmd/configdoc` when this fails.
func TestReadmeTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), config.MarkdownTable()) {
		t.Fatal("README.md configuration table is out of date: run `go run ./cmd/configdoc` and paste its output")
	}
}
