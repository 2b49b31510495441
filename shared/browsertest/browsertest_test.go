package browsertest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wecom-crm-bot/shared/browsertest"
)

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><p id="p">before</p><script>setTimeout(() => { document.getElementById('p').textContent = 'after' }, 100)</script>`))
	}))
	defer srv.Close()
	t.Setenv("ARTIFACTS_DIR", t.TempDir())
	b := browsertest.New(t, browsertest.Options{Width: 320, Height: 200, Timeout: 20 * time.Second})
	b.Step("open", chromedp.Navigate(srv.URL), browsertest.UntilJS(`document.getElementById('p').textContent === 'after'`))
	if got := b.Text("#p"); got != "after" {
		t.Errorf("text = %q", got)
	}
	for _, p := range []string{b.Screenshot("view.png"), b.FullScreenshot("full.png")} {
		png, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG (%d bytes)", p, len(png))
		}
	}
}
