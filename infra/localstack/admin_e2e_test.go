package localstack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/browsertest"
)

const adminToken = "e2e-admin-token-7f3a9c1d2b"

// adminAPI calls the admin JSON API with the bearer token.
func adminAPI(t *testing.T, s *localstack.Stack, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

type report struct {
	Totals struct {
		MessagesIn    int64 `json:"messages_in"`
		MessagesOut   int64 `json:"messages_out"`
		Unanswered    int64 `json:"unanswered"`
		Conversations int64 `json:"conversations"`
	} `json:"totals"`
	Days []struct {
		Day        string `json:"day"`
		MessagesIn int64  `json:"messages_in"`
	} `json:"days"`
	TopIntents []struct {
		Name  string `json:"name"`
		Count int64  `json:"count"`
	} `json:"top_intents"`
}

// The whole loop a knowledge maintainer goes through: customers ask, one
// question is not answered, the console shows it (with the right numbers
// in the charts), it is added to an FAQ entry as a variant, and the next
// customer asking it gets the answer.
func TestAdminConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	s := start(t, stackOpts{env: map[string]string{"ADMIN_TOKEN": adminToken}})
	ctx := t.Context()

	const question = "你们支持数字人民币付款吗"
	say := func(user, text string, replies int) {
		t.Helper()
		if err := s.Emulator.CustomerSays(ctx, user, text); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bot reply to "+user, 10*time.Second, func() bool { return len(botLines(s, user)) >= replies })
	}
	say("wmADMINE2E0001", "你们的退货政策是什么？", 1)
	say("wmADMINE2E0002", question, 1)
	say("wmADMINE2E0003", question+"？", 1)
	time.Sleep(300 * time.Millisecond) // let every reply of these turns arrive
	for _, l := range botLines(s, "wmADMINE2E0002") {
		if strings.Contains(l.Text, "支持微信支付") {
			t.Fatalf("question already answered before the edit: %q", l.Text)
		}
	}

	// The recorder flushes in the background, one counter series after the
	// other, so a read can land mid-flush: wait until every total is in.
	var rep report
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep = report{}
		code := adminAPI(t, s, "GET", "/admin/api/report", nil, &rep)
		tot := rep.Totals
		if code == 200 && tot.MessagesIn == 3 && tot.Unanswered == 2 && tot.MessagesOut == 3 && tot.Conversations == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report totals = %+v (status %d), want 3 in, 2 unanswered, 3 out, 3 conversations", tot, code)
		}
		time.Sleep(50 * time.Millisecond)
	}

	b := browsertest.New(t, browsertest.Options{Width: 1400, Height: 1100, Timeout: 60 * time.Second})
	cctx, step, shot := b.Ctx, b.Step, b.FullScreenshot
	js := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(cctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("eval %s: %v", expr, err)
		}
		return v
	}

	step("unauthenticated console redirects to login",
		chromedp.Navigate(s.URL+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#login-token")))
	step("wrong token is refused",
		chromedp.SendKeys(chromedp.CSS("#login-token"), "not-the-token"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	step("log in",
		chromedp.SetValue(chromedp.CSS("#login-user"), "e2e-maintainer"),
		chromedp.SendKeys(chromedp.CSS("#login-token"), adminToken),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#kpi-messages_in")),
		browsertest.UntilJS(`document.body.getAttribute('data-loaded') === 'dashboard'`))
	shot("admin-dashboard.png")

	today := rep.Days[len(rep.Days)-1].Day
	checks := []struct {
		what string
		expr string
		want string
	}{
		{"messages in KPI", `document.getElementById('kpi-messages_in').dataset.value`, "3"},
		{"unanswered KPI", `document.getElementById('kpi-unanswered').dataset.value`, "2"},
		{"conversations KPI", `document.getElementById('kpi-conversations').dataset.value`, "3"},
		{"today's 'in' bar", fmt.Sprintf(`document.querySelector('#chart-messages rect.bar[data-series="in"][data-label="%s"]').dataset.value`, today), "3"},
		{"sum of 'in' bars", `String([...document.querySelectorAll('#chart-messages rect.bar[data-series="in"]')].reduce((a, r) => a + Number(r.dataset.value), 0))`, "3"},
		{"sum of 'out' bars", `String([...document.querySelectorAll('#chart-messages rect.bar[data-series="out"]')].reduce((a, r) => a + Number(r.dataset.value), 0))`, "3"},
		{"bars per series", `String(document.querySelectorAll('#chart-messages rect.bar[data-series="in"]').length)`, "7"},
		{"return policy intent bar", `document.querySelector('#chart-intents rect.bar[data-label="return_policy"]').dataset.value`, "1"},
		{"unanswered group bar", fmt.Sprintf(`document.querySelector('#chart-unanswered rect.bar[data-label="%s"]').dataset.value`, question), "2"},
		{"tallest in bar is today's", fmt.Sprintf(`String(Number(document.querySelector('#chart-messages rect.bar[data-series="in"][data-label="%s"]').getAttribute('height')) > 0)`, today), "true"},
	}
	for _, c := range checks {
		if got := js(c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.what, got, c.want)
		}
	}

	step("open unanswered",
		chromedp.Navigate(s.URL+"/admin/#unanswered"),
		chromedp.WaitVisible(chromedp.CSS("#tab-unanswered")),
		browsertest.UntilJS(`document.body.getAttribute('data-loaded') === 'unanswered'`),
		browsertest.UntilJS(`document.querySelectorAll('#unanswered-table tbody tr').length > 0`))
	if got := js(`document.querySelector('#unanswered-table tbody tr td.q').textContent + '|' + document.querySelector('#unanswered-table tbody tr td.count').textContent`); got != question+"|2" {
		t.Errorf("first unanswered row = %q", got)
	}
	step("add it as a variant of payment_methods",
		chromedp.SetValue(chromedp.CSS("#faq-select-0"), "payment_methods"),
		chromedp.Click(chromedp.CSS("#add-variant-0")),
		browsertest.UntilJS(`document.getElementById('unanswered-status').dataset.version === '1'`))
	shot("admin-unanswered.png")

	if err := s.Emulator.CustomerSays(ctx, "wmADMINE2E0004", question); err != nil {
		t.Fatal(err)
	}
	answered := func() bool {
		for _, l := range botLines(s, "wmADMINE2E0004") {
			if strings.Contains(l.Text, "支持微信支付") {
				return true
			}
		}
		return false
	}
	deadline = time.Now().Add(10 * time.Second)
	for !answered() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !answered() {
		t.Errorf("after the edit the bot answered %+v, want the payment_methods answer", botLines(s, "wmADMINE2E0004"))
	}

	var audit struct {
		Entries []struct{ Who, Action string }
	}
	adminAPI(t, s, "GET", "/admin/api/audit", nil, &audit)
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.Who+":"+e.Action)
	}
	if strings.Join(got, ",") != "e2e-maintainer:faq.add_variant,e2e-maintainer:login" {
		t.Errorf("audit = %v", got)
	}

	step("knowledge editor shows the new version and validates by line",
		chromedp.Navigate(s.URL+"/admin/#knowledge"),
		chromedp.WaitVisible(chromedp.CSS("#kb-yaml")),
		browsertest.UntilJS(`document.body.getAttribute('data-loaded') === 'knowledge'`),
		chromedp.SetValue(chromedp.CSS("#kb-yaml"), "version: x\nfaq:\n  - id: a\n    question: [oops\n"),
		chromedp.Click(chromedp.CSS("#kb-validate")),
		browsertest.UntilJS(`document.querySelectorAll('#kb-errors li[data-line]').length > 0`))
	if v := js(`document.getElementById('kb-version').textContent`); v != "1" {
		t.Errorf("knowledge version shown = %q", v)
	}
	if line := js(`document.querySelector('#kb-errors li').dataset.line`); line == "0" || line == "" {
		t.Errorf("validation error without a line")
	}
	shot("admin-knowledge.png")
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A conversation through the whole local stack (callback, queue, worker,
// bot, CRM, handoff, admin API) logs at debug level without any configured
// secret, the customer's phone number or their message text.
func TestLogsCarryNoSecretsOrPersonalData(t *testing.T) {
	for _, logContent := range []string{"false", "true"} {
		t.Run("LOG_CONTENT="+logContent, func(t *testing.T) {
			var logs syncBuffer
			s, err := localstack.Start(t.Context(), localstack.Options{
				Addr: "127.0.0.1:0", NotePoll: 50 * time.Millisecond,
				Getenv: env(t, map[string]string{"ADMIN_TOKEN": adminToken, "LOG_LEVEL": "debug", "LOG_CONTENT": logContent,
					"HUBSPOT_TOKEN": "pat-na1-e2e-secret-hubspot", "ROBOT_WEBHOOK_KEY": "robot-e2e-secret-key"}),
				Logger:   slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				Emulator: func(c *emulator.Config) { c.RetryInterval, c.CallbackTimeout = 200*time.Millisecond, 2*time.Second },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			const user = "wmLOGCHECK0001"
			const phone = "13912345678"
			secretText := "紫色独角兽保险柜什么时候到货"
			for i, text := range []string{"你好", secretText + "，我的手机号 " + phone, "订单 SO20261101 到哪了", "转人工"} {
				if err := s.Emulator.CustomerSays(t.Context(), user, text); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "reply", 10*time.Second, func() bool { return len(botLines(s, user)) > i })
			}
			// Admin traffic too: a failed and a good login, a publish.
			form := url.Values{"token": {"wrong-" + adminToken}}
			res, err := http.PostForm(s.URL+"/admin/login", form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if code := adminAPI(t, s, "PUT", "/admin/api/knowledge", map[string]any{"yaml": string(bot.DefaultKnowledgeYAML())}, nil); code != 200 {
				t.Fatalf("publish = %d", code)
			}
			time.Sleep(1200 * time.Millisecond) // one analytics flush and a few note-sync passes

			out := logs.String()
			if !strings.Contains(out, `"correlation_id"`) || strings.Count(out, "\n") < 10 {
				t.Fatalf("the captured logs do not look like the stack's logs (%d lines)", strings.Count(out, "\n"))
			}
			secrets := s.App.Config.Secrets()
			if len(secrets) < 5 {
				t.Fatalf("only %d secrets configured; the check would prove little", len(secrets))
			}
			for _, sec := range secrets {
				if strings.Contains(out, sec) {
					t.Errorf("a configured secret (%d chars) appears in the logs", len(sec))
				}
			}
			for _, pii := range []string{phone, "+86" + phone, "139 1234 5678"} {
				if strings.Contains(out, pii) {
					t.Errorf("phone number %s appears in the logs", pii)
				}
			}
			if logContent == "false" && strings.Contains(out, secretText) {
				t.Errorf("message text appears in the logs with LOG_CONTENT=false")
			}
			if t.Failed() {
				p := filepath.Join(t.TempDir(), "logs.json")
				_ = os.WriteFile(p, []byte(out), 0o600)
				t.Logf("logs kept in %s", p)
			}
		})
	}
}
