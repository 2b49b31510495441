package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Channel is one WeCom endpoint: a self-built app, a 微信客服 account or
// another corp, served at /wecom/{Name}.
type Channel struct {
	Name           string `json:"name"`
	CorpID         string `json:"corp_id"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"aes_key"`
	AgentID        string `json:"agent_id,omitempty"`
	AppSecret      string `json:"app_secret,omitempty"`
	KfSecret       string `json:"kf_secret,omitempty"`
	ContactSecret  string `json:"contact_secret,omitempty"`
}

// Config is the whole product's configuration.
type Config struct {
	Channels []Channel
	APIBase  string

	Port       string
	DataDir    string
	LogLevel   string
	LogContent bool

	Store string // bbolt://path | dynamodb://table | redis://host:port/db
	Queue string // memory | sqs://… | scf://function

	CRM            string // builtin | hubspot | salesforce | webhook
	CreateContacts bool
	HubSpotToken   string
	HubSpotBase    string
	Salesforce     Salesforce
	CRMWebhookURL  string
	CRMWebhookKey  string
	CRMDataFile    string
	CRMOwners      map[string]string

	NoteIdle       time.Duration
	TimeZone       string
	RobotKey       string
	AdminToken     string
	EventRetention time.Duration

	LLMBaseURL string
	LLMModel   string
	LLMAPIKey  string
}

// Salesforce holds the Salesforce connection settings.
type Salesforce struct {
	LoginURL, ClientID, ClientSecret, RefreshToken, APIVersion string
}

// Var documents one environment variable.
type Var struct {
	Name, Default, Help string
	Secret              bool
	// Where the variable matters: "" everywhere, "local" only for the local
	// server, "aws" only on AWS. Deployment templates are checked against it.
	Where string
}

// Vars lists every environment variable the product reads.
var Vars = []Var{
	{"WECOM_CORP_ID", "", "Corp ID (ww…) of the default channel; also the callback receiveid", false, ""},
	{"WECOM_TOKEN", "", "Callback Token of the default channel", true, ""},
	{"WECOM_AES_KEY", "", "Callback EncodingAESKey (43 chars) of the default channel", true, ""},
	{"WECOM_AGENT_ID", "", "AgentID of the self-built app", false, ""},
	{"WECOM_APP_SECRET", "", "Secret of the self-built app (app messages, staff commands)", true, ""},
	{"WECOM_KF_SECRET", "", "Secret of 微信客服 (kf sync_msg/send_msg)", true, ""},
	{"WECOM_CONTACT_SECRET", "", "Secret of 客户联系 (external contacts, welcome messages); defaults to the app secret", true, ""},
	{"WECOM_CHANNELS", "", "JSON array of extra channels [{name,corp_id,token,aes_key,agent_id,app_secret,kf_secret,contact_secret}]", true, ""},
	{"WECOM_CHANNELS_FILE", "", "Path to a JSON file with extra channels (same shape as WECOM_CHANNELS)", false, "local"},
	{"WECOM_API_BASE", "https://qyapi.weixin.qq.com", "WeCom API base URL (the emulator or a test server can stand in)", false, ""},
	{"PORT", "8080", "Listen port of the local HTTP server", false, "local"},
	{"DATA_DIR", "./data", "Directory for local state (bbolt file, built-in CRM)", false, "local"},
	{"LOG_LEVEL", "info", "debug | info | warn | error", false, ""},
	{"LOG_CONTENT", "false", "Log message text and phone numbers unredacted (never in production)", false, "local"},
	{"STORE", "bbolt://$DATA_DIR/state.db", "State engine: bbolt://path, dynamodb://table, redis://host:port/db", false, ""},
	{"QUEUE", "memory", "Queue between callback and worker: memory, sqs://queue-url, scf://function-name", false, ""},
	{"CRM", "builtin", "CRM adapter: builtin, hubspot, salesforce, webhook", false, ""},
	{"CRM_CREATE_CONTACTS", "true", "Create a CRM contact/lead for unknown WeCom customers", false, ""},
	{"CRM_OWNERS", "", "JSON object mapping CRM owner ids to WeCom userids, e.g. {\"12345\":\"sales01\"} (handoff to the owner rep)", false, ""},
	{"CRM_DATA_FILE", "$DATA_DIR/crm.json", "Persistence file of the built-in CRM", false, "local"},
	{"HUBSPOT_TOKEN", "", "HubSpot private app token", true, ""},
	{"HUBSPOT_API_BASE", "https://api.hubapi.com", "HubSpot API base URL", false, ""},
	{"SALESFORCE_LOGIN_URL", "", "Salesforce My Domain URL for OAuth2 (https://x.my.salesforce.com)", false, ""},
	{"SALESFORCE_CLIENT_ID", "", "Salesforce connected app client id", true, ""},
	{"SALESFORCE_CLIENT_SECRET", "", "Salesforce connected app client secret", true, ""},
	{"SALESFORCE_REFRESH_TOKEN", "", "Salesforce refresh token (omit for client credentials)", true, ""},
	{"SALESFORCE_API_VERSION", "v59.0", "Salesforce REST API version", false, ""},
	{"CRM_WEBHOOK_URL", "", "Generic CRM webhook endpoint (CRM=webhook)", false, ""},
	{"CRM_WEBHOOK_SECRET", "", "HMAC-SHA256 key for the generic CRM webhook", true, ""},
	{"NOTE_IDLE_MINUTES", "30", "Minutes of customer silence that end a conversation (fractions allowed)", false, ""},
	{"BOT_TIMEZONE", "Asia/Shanghai", "Business time zone for dates, hours and reminders", false, ""},
	{"ROBOT_WEBHOOK_KEY", "", "Group robot key for team digests and alerts", true, ""},
	{"ADMIN_TOKEN", "", "Bearer token / password of the admin API and console (required for admin)", true, ""},
	{"EVENT_RETENTION_DAYS", "90", "Days raw analytics events are kept", false, ""},
	{"LLM_BASE_URL", "", "OpenAI-compatible endpoint for the optional LLM fallback (off when empty)", false, ""},
	{"LLM_MODEL", "", "Model name for the LLM fallback", false, ""},
	{"LLM_API_KEY", "", "API key for the LLM fallback", true, ""},
	{"PLATFORM", "", "Force the platform: lambda, scf or local (e.g. SCF web functions run the local server)", false, "local"},
	{"SECRETS_ARN", "", "AWS Secrets Manager secret (JSON object of these variables) read once at start", false, "aws"},
}

// Load reads the configuration through getenv (os.Getenv or the secrets overlay).
func Load(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		return ""
	}
	c := Config{
		APIBase:       strings.TrimRight(get("WECOM_API_BASE"), "/"),
		Port:          get("PORT"),
		DataDir:       get("DATA_DIR"),
		LogLevel:      get("LOG_LEVEL"),
		Queue:         get("QUEUE"),
		CRM:           get("CRM"),
		HubSpotToken:  get("HUBSPOT_TOKEN"),
		HubSpotBase:   get("HUBSPOT_API_BASE"),
		CRMWebhookURL: get("CRM_WEBHOOK_URL"),
		CRMWebhookKey: get("CRM_WEBHOOK_SECRET"),
		TimeZone:      get("BOT_TIMEZONE"),
		RobotKey:      get("ROBOT_WEBHOOK_KEY"),
		AdminToken:    get("ADMIN_TOKEN"),
		LLMBaseURL:    get("LLM_BASE_URL"),
		LLMModel:      get("LLM_MODEL"),
		LLMAPIKey:     get("LLM_API_KEY"),
		Salesforce: Salesforce{
			LoginURL:     get("SALESFORCE_LOGIN_URL"),
			ClientID:     get("SALESFORCE_CLIENT_ID"),
			ClientSecret: get("SALESFORCE_CLIENT_SECRET"),
			RefreshToken: get("SALESFORCE_REFRESH_TOKEN"),
			APIVersion:   get("SALESFORCE_API_VERSION"),
		},
	}
	var errs []error
	var err error
	if c.LogContent, err = strconv.ParseBool(get("LOG_CONTENT")); err != nil {
		errs = append(errs, fmt.Errorf("LOG_CONTENT: %w", err))
	}
	if c.CreateContacts, err = strconv.ParseBool(get("CRM_CREATE_CONTACTS")); err != nil {
		errs = append(errs, fmt.Errorf("CRM_CREATE_CONTACTS: %w", err))
	}
	if mins, err := strconv.ParseFloat(get("NOTE_IDLE_MINUTES"), 64); err != nil || mins <= 0 {
		errs = append(errs, fmt.Errorf("NOTE_IDLE_MINUTES: want a positive number, got %q", get("NOTE_IDLE_MINUTES")))
	} else {
		c.NoteIdle = time.Duration(mins * float64(time.Minute))
	}
	if days, err := strconv.Atoi(get("EVENT_RETENTION_DAYS")); err != nil || days <= 0 {
		errs = append(errs, fmt.Errorf("EVENT_RETENTION_DAYS: want a positive integer, got %q", get("EVENT_RETENTION_DAYS")))
	} else {
		c.EventRetention = time.Duration(days) * 24 * time.Hour
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("BOT_TIMEZONE: %w", err))
	}
	if raw := get("CRM_OWNERS"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &c.CRMOwners); err != nil {
			errs = append(errs, fmt.Errorf("CRM_OWNERS: want a JSON object of owner id to WeCom userid: %w", err))
		}
	}
	c.Store = strings.ReplaceAll(get("STORE"), "$DATA_DIR", c.DataDir)
	c.CRMDataFile = strings.ReplaceAll(get("CRM_DATA_FILE"), "$DATA_DIR", c.DataDir)
	if _, err := url.Parse(c.APIBase); err != nil || !strings.HasPrefix(c.APIBase, "http") {
		errs = append(errs, fmt.Errorf("WECOM_API_BASE: want an http(s) URL, got %q", c.APIBase))
	}
	switch c.CRM {
	case "builtin", "hubspot", "salesforce", "webhook":
	default:
		errs = append(errs, fmt.Errorf("CRM: want builtin, hubspot, salesforce or webhook, got %q", c.CRM))
	}

	if getenv("WECOM_CORP_ID") != "" || getenv("WECOM_TOKEN") != "" {
		def := Channel{
			Name:           "default",
			CorpID:         get("WECOM_CORP_ID"),
			Token:          get("WECOM_TOKEN"),
			EncodingAESKey: get("WECOM_AES_KEY"),
			AgentID:        get("WECOM_AGENT_ID"),
			AppSecret:      get("WECOM_APP_SECRET"),
			KfSecret:       get("WECOM_KF_SECRET"),
			ContactSecret:  get("WECOM_CONTACT_SECRET"),
		}
		c.Channels = append(c.Channels, def)
	}
	extra, err := extraChannels(get("WECOM_CHANNELS"), get("WECOM_CHANNELS_FILE"))
	if err != nil {
		errs = append(errs, err)
	}
	c.Channels = append(c.Channels, extra...)
	seen := map[string]bool{}
	for i := range c.Channels {
		ch := &c.Channels[i]
		if ch.ContactSecret == "" {
			ch.ContactSecret = ch.AppSecret
		}
		if err := ch.Validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[ch.Name] {
			errs = append(errs, fmt.Errorf("channel %q declared twice", ch.Name))
		}
		seen[ch.Name] = true
	}
	return c, errors.Join(errs...)
}

func extraChannels(inline, file string) ([]Channel, error) {
	var out []Channel
	for _, src := range []struct{ name, data string }{{"WECOM_CHANNELS", inline}, {"WECOM_CHANNELS_FILE", ""}} {
		data := src.data
		if src.name == "WECOM_CHANNELS_FILE" {
			if file == "" {
				continue
			}
			b, err := os.ReadFile(filepath.Clean(file))
			if err != nil {
				return nil, fmt.Errorf("WECOM_CHANNELS_FILE: %w", err)
			}
			data = string(b)
		}
		if strings.TrimSpace(data) == "" {
			continue
		}
		var chs []Channel
		if err := json.Unmarshal([]byte(data), &chs); err != nil {
			return nil, fmt.Errorf("%s: want a JSON array of channels: %w", src.name, err)
		}
		out = append(out, chs...)
	}
	return out, nil
}

// Validate checks that the channel can verify and decrypt callbacks.
func (ch Channel) Validate() error {
	var errs []error
	if ch.Name == "" || strings.ContainsAny(ch.Name, "/?# ") {
		errs = append(errs, fmt.Errorf("channel name %q: want a non-empty path segment", ch.Name))
	}
	if ch.CorpID == "" {
		errs = append(errs, fmt.Errorf("channel %q: corp id (WECOM_CORP_ID) is empty", ch.Name))
	}
	if ch.Token == "" {
		errs = append(errs, fmt.Errorf("channel %q: token (WECOM_TOKEN) is empty", ch.Name))
	}
	if len(ch.EncodingAESKey) != 43 {
		errs = append(errs, fmt.Errorf("channel %q: EncodingAESKey (WECOM_AES_KEY) must be 43 characters, got %d", ch.Name, len(ch.EncodingAESKey)))
	}
	return errors.Join(errs...)
}

// Channel returns the channel called name.
func (c Config) Channel(name string) (Channel, bool) {
	for _, ch := range c.Channels {
		if ch.Name == name {
			return ch, true
		}
	}
	return Channel{}, false
}

// Secrets returns the values that must never appear in logs.
func (c Config) Secrets() []string {
	var s []string
	for _, ch := range c.Channels {
		s = append(s, ch.Token, ch.EncodingAESKey, ch.AppSecret, ch.KfSecret, ch.ContactSecret)
	}
	s = append(s, c.HubSpotToken, c.Salesforce.ClientSecret, c.Salesforce.RefreshToken, c.CRMWebhookKey,
		c.RobotKey, c.AdminToken, c.LLMAPIKey)
	out := s[:0]
	for _, v := range s {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}
