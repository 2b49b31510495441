package localstack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wecom-crm-bot/shared/browsertest"
)

// The product in a browser: a customer chats on the emulator's page with
// the real bot behind the local stack, clicks a menu option, an agent takes
// over, replies and ends the session; the CRM page then shows the note.
func TestProductInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	s := start(t, stackOpts{env: map[string]string{"NOTE_IDLE_MINUTES": "0.02"}})
	alwaysOpen(t, s)
	b := browsertest.New(t, browsertest.Options{Width: 1280, Height: 900, Timeout: 60 * time.Second})
	ctx, step, shot := b.Ctx, b.Step, b.Screenshot
	botSays := func(sub string) chromedp.Action[chromedp.Void] {
		return browsertest.UntilJS(`[...document.querySelectorAll('#customer-log .row[data-from="bot"]')].some(r => r.textContent.includes(` +
			productJSString(sub) + `))`)
	}

	const user, contact = "wmDEMO_lisi", "c002"
	step("open the emulator",
		chromedp.Navigate(s.URL+"/emulator/"),
		chromedp.WaitVisible(chromedp.CSS("#customer-input")),
		browsertest.UntilJS(`(() => { const i = document.getElementById('user-id'); i.value = '`+user+`';
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
		browsertest.UntilJS(`document.getElementById('status-state').textContent.includes('人工接待')`),
		browsertest.UntilJS(`!document.getElementById('agent-send').disabled`))
	step("agent replies",
		chromedp.SendKeys(chromedp.CSS("#agent-input"), "您好，我是销售顾问，发票已经帮您登记好了。"),
		chromedp.Click(chromedp.CSS("#agent-send")),
		browsertest.UntilJS(`[...document.querySelectorAll('#customer-log .row[data-from="agent"]')].some(r => r.textContent.includes('发票已经帮您登记'))`),
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
		browsertest.UntilJS(`document.body.textContent.includes('运费怎么算') && document.body.textContent.includes('发票已经帮您登记')`))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	step("scroll to the note", browsertest.UntilJS(`(() => { document.querySelector('.note').scrollIntoView(); return true })()`),
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
