package bottest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"wecom-crm-bot/shared/domain"
)

// Script is one scripted conversation.
type Script struct {
	Name     string    `yaml:"name"`
	Channel  string    `yaml:"channel"`
	Start    string    `yaml:"start"` // RFC 3339; default Wednesday 2025-11-26 10:00 +08:00
	Customer *Customer `yaml:"customer"`
	// ShopOrders are other orders in the CRM with the phone of the contact
	// who placed them (for verification of unknown customers).
	ShopOrders []ShopOrder `yaml:"shop_orders"`
	Turns      []Turn      `yaml:"turns"`
}

// Customer is the known CRM contact the conversation is with, if any.
type Customer struct {
	Name        string         `yaml:"name"`
	VIP         bool           `yaml:"vip"`
	OwnerUserID string         `yaml:"owner_userid"`
	OwnerName   string         `yaml:"owner_name"`
	Orders      []domain.Order `yaml:"orders"`
}

// ShopOrder is an order of another contact, known by its phone number.
type ShopOrder struct {
	Phone string       `yaml:"phone"`
	Order domain.Order `yaml:"order"`
}

// Turn is one customer message (text or menu click) and what must follow.
type Turn struct {
	Say    string        `yaml:"say"`
	MenuID string        `yaml:"menu_id"`
	After  time.Duration `yaml:"after"` // time since the previous turn (default 1m)
	Expect Expect        `yaml:"expect"`
}

// Expect is what the bot's answer to a turn must show; zero fields are not checked.
type Expect struct {
	Intent       string   `yaml:"intent"`
	Contains     string   `yaml:"contains"`
	Lacks        string   `yaml:"lacks"`   // must not appear in any reply
	Handoff      string   `yaml:"handoff"` // reason, or "none"
	Menu         []string `yaml:"menu"`    // ids that must be offered; "*" = any menu
	Flow         *string  `yaml:"flow"`    // flow after the turn; "" = none
	Answered     *bool    `yaml:"answered"`
	Satisfaction int      `yaml:"satisfaction"`
	End          bool     `yaml:"end"`
	Booked       int      `yaml:"booked"` // appointments booked so far
}

// Parse decodes one script; unknown fields are errors, so a typo in a
// script cannot silently drop an expectation.
func Parse(data []byte) (Script, error) {
	var s Script
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Script{}, fmt.Errorf("bottest: %w", err)
	}
	return s, nil
}

// Load parses every *.yaml file in dir, keyed by file name; it fails the
// test when there is none or one does not parse.
func Load(t testing.TB, dir string) map[string]Script {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conversations: %v", err)
	}
	out := map[string]Script{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = s
	}
	return out
}
