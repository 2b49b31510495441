package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/bot/llm"
	"wecom-crm-bot/shared/domain"
)

// fakeServer follows the chat completions shapes and rejects malformed
// requests. It answers from the passages when the question mentions
// "发票", otherwise NO_ANSWER.
func fakeServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "m1" || len(req.Messages) != 2 ||
			req.Messages[0].Role != "system" || req.Messages[1].Role != "user" ||
			!strings.Contains(req.Messages[0].Content, llm.NoAnswer) || !strings.Contains(req.Messages[1].Content, "【资料】") {
			http.Error(w, `{"error":{"message":"bad body","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			w.Write([]byte(`{"error":{"message":"x","type":"server_error"}}`))
			return
		}
		content := llm.NoAnswer
		_, q, _ := strings.Cut(req.Messages[1].Content, "【问题】")
		if strings.Contains(q, "专票") {
			content = "可以开增值税专用发票，请先提交增票资质。"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "c1", "object": "chat.completion",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": content}}},
		})
	}))
}

func TestAnswer(t *testing.T) {
	passages := []string{"能开增值税专用发票吗？\n可以，提交增票资质后下单选择专票。"}
	tests := []struct {
		name     string
		status   int
		question string
		want     string
		err      error
	}{
		{"answer", 200, "公司能开专票吗", "增值税专用发票", nil},
		{"refusal", 200, "你们老板是谁", "", nil},
		{"rate limited", 429, "专票", "", domain.ErrRateLimited},
		{"server error", 503, "专票", "", domain.ErrUnavailable},
		{"auth", 401, "专票", "", domain.ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeServer(t, tc.status)
			defer srv.Close()
			c, err := llm.New(llm.Config{BaseURL: srv.URL + "/v1/", Model: "m1", APIKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Answer(t.Context(), tc.question, passages, nil)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(got, tc.want) || (tc.want == "" && got != "") {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{}
	c, err := llm.FromEnv(func(k string) string { return env[k] })
	if c != nil || err != nil {
		t.Fatalf("unset env: %v %v", c, err)
	}
	env["LLM_BASE_URL"] = "http://x"
	if _, err := llm.FromEnv(func(k string) string { return env[k] }); !errors.Is(err, domain.ErrConfig) {
		t.Fatalf("missing model: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(300 * time.Millisecond):
		}
	}))
	defer srv.Close()
	c, _ := llm.New(llm.Config{BaseURL: srv.URL, Model: "m1"})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Answer(ctx, "q", []string{"p"}, nil); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
}

// TestBotFallback: the bot uses the LLM for an unconfident question and
// falls back to its normal path on refusal.
func TestBotFallback(t *testing.T) {
	srv := fakeServer(t, 200)
	defer srv.Close()
	c, _ := llm.New(llm.Config{BaseURL: srv.URL + "/v1", Model: "m1", APIKey: "k"})
	b := bot.New(nil, bot.Ports{LLM: c})
	now := time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)
	out, err := b.Respond(t.Context(), bot.Input{Now: now, Text: "报销的时候财务说要专票，你们给不给开", Conversation: &domain.Conversation{}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Intent != bot.IntentLLM && out.Intent != "invoice_vat" {
		t.Fatalf("intent %q", out.Intent)
	}
	out, _ = b.Respond(t.Context(), bot.Input{Now: now, Text: "我想了解一下你们的门店营业员工资", Conversation: &domain.Conversation{}})
	if out.Intent == bot.IntentLLM {
		t.Fatalf("refusal answered: %+v", out)
	}
}
