package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Options shape the browser window and how long the page actions may take.
type Options struct {
	Width, Height int           // window size; 0 means 1280×900
	Timeout       time.Duration // for all work done through Browser.Ctx; 0 means 60 s
}

// Browser is one started headless Chromium tab, closed at the test's cleanup.
type Browser struct {
	// Ctx drives the tab; it ends after Options.Timeout.
	Ctx       context.Context
	t         testing.TB
	artifacts string
}

// Chromium returns the path of the chromium binary. Without one it skips
// the test, or fails it when REQUIRE_ENGINES=1.
func Chromium(t testing.TB) string {
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

// New starts a headless Chromium with a fresh user-data dir and the flags
// that keep it quiet (no sandbox, GPU, first-run, background networking,
// component updates or sync). The browser starts before the timeout begins.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	chromium := Chromium(t)
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 900
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
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
		chromedp.WindowSize(o.Width, o.Height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // starts the browser; no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, o.Timeout)
	t.Cleanup(cancel)
	return &Browser{Ctx: ctx, t: t, artifacts: ArtifactsDir(t)}
}

// ArtifactsDir returns $ARTIFACTS_DIR (or a temp dir of the test when it is
// not set), created if need be.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Step runs actions in the tab and fails the test, naming what, when one fails.
func (b *Browser) Step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Text returns the text of the first element matching the CSS selector sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// Screenshot saves the viewport as name (a .png file) in ArtifactsDir and
// returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.CaptureScreenshot())
}

// FullScreenshot saves the whole page at full quality as name in
// ArtifactsDir and returns its path.
func (b *Browser) FullScreenshot(name string) string {
	b.t.Helper()
	return b.save(name, chromedp.FullScreenshot(100))
}

func (b *Browser) save(name string, shot chromedp.Action[[]byte]) string {
	b.t.Helper()
	png, err := chromedp.Run(b.Ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(b.artifacts, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// UntilJS waits until the JavaScript expression is truthy.
func UntilJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}
