package localstack_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func productChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REQUIRE_ENGINES") == "1" {
		t.Fatal("chromium not found and REQUIRE_ENGINES=1")
	}
	t.Skip("chromium not found")
	return ""
}

func productUntilJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

// The product in a browser: a customer chats on the emulator's page with
// the real bot behind the local stack, clicks a menu option, an agent takes
// over, replies and ends the session; the CRM page then shows the note.
func TestProductInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	chromium := productChromium(t)
	s := start(t, stackOpts{env: map[string]string{"NOTE_IDLE_MINUTES": "0.02"}})
	alwaysOpen(t, s)
	artifacts := os.Getenv("ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := filepath.Join(artifacts, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	botSays := func(sub string) chromedp.Action[chromedp.Void] {
		return productUntilJS(`[...document.querySelectorAll('#customer-log .row[data-from="bot"]')].some(r => r.textContent.includes(` +
			productJSString(sub) + `))`)
	}

	const user, contact = "wmDEMO_lisi", "c002"
	step("open the emulator",
		chromedp.Navigate(s.URL+"/emulator/"),
		chromedp.WaitVisible(chromedp.CSS("#customer-input")),
		productUntilJS(`(() => { const i = document.getElementById('user-id'); i.value = '`+user+`';
			i.dispatchEvent(new Event('change')); return true })()`))
	step("customer asks",
		chromedp.SendKeys(chromedp.CSS("#customer-input"), "运费怎么算？"),
		chromedp.Click(chromedp.CSS("#customer-send")),
		botSays("99 元"))
	step("the welcome shows 李四's name and a menu",
		botSays("李四"),
		chromedp.WaitVisible(chromedp.CSS(`#customer-log button[data-menu-id="faq:invoice_how"]`)))
	step("customer clicks a menu option",
		chromedp.Click(chromedp.CSS(`#customer-log button[data-menu-id="faq:invoice_how"]`)),
		botSays("申请开票"))
	step("agent takes over",
		chromedp.Click(chromedp.CSS("#agent-takeover")),
		productUntilJS(`document.getElementById('status-state').textContent.includes('人工接待')`),
		productUntilJS(`!document.getElementById('agent-send').disabled`))
	step("agent replies",
		chromedp.SendKeys(chromedp.CSS("#agent-input"), "您好，我是销售顾问，发票已经帮您登记好了。"),
		chromedp.Click(chromedp.CSS("#agent-send")),
		productUntilJS(`[...document.querySelectorAll('#customer-log .row[data-from="agent"]')].some(r => r.textContent.includes('发票已经帮您登记'))`),
		chromedp.Sleep(600*time.Millisecond))
	shot("product-emulator-chat.png")
	step("agent ends the session", chromedp.Click(chromedp.CSS("#agent-end")))
	waitFor(t, "the session to end", 10*time.Second, func() bool { st, _ := s.Emulator.SessionState(user); return st == 4 })
	waitFor(t, "the note in the CRM", 15*time.Second, func() bool {
		for _, n := range notesOn(s, contact) {
			if strings.Contains(n.Body, "运费怎么算") {
				return true
			}
		}
		return false
	})
	step("open the contact in the CRM",
		chromedp.Navigate(s.URL+"/crm/contacts/"+contact),
		productUntilJS(`document.body.textContent.includes('运费怎么算') && document.body.textContent.includes('发票已经帮您登记')`))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	step("scroll to the note", productUntilJS(`(() => { document.querySelector('.note').scrollIntoView(); return true })()`),
		chromedp.Sleep(200*time.Millisecond))
	shot("product-crm-contact.png")
	if !strings.Contains(page, "李四") {
		t.Errorf("CRM page is not 李四's: %.200q", page)
	}
	if n := strings.Count(page, "运费怎么算"); n != 1 {
		t.Errorf("the conversation shows %d times on the CRM page, want 1", n)
	}
}

// productJSString quotes s as a JavaScript string literal.
func productJSString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
