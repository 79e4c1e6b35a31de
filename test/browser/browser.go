package browser

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is Debian's Chromium, installed by `make deps`.
const Chromium = "/usr/bin/chromium"

// Timeout bounds a whole browser session; it is a guard against a hung
// browser, never an assertion.
const Timeout = 3 * time.Minute

// options are what Start is given.
type options struct {
	width, height int
	listen        func(ev any)
}

// Option configures Start.
type Option func(*options)

// WithWindowSize sets the window (and so the screenshot) size in CSS pixels;
// the default is 900×420.
func WithWindowSize(w, h int) Option {
	return func(o *options) { o.width, o.height = w, h }
}

// WithListener has listen see every event of the page target (network
// answers, console messages...), as chromedp.WithListener.
func WithListener(listen func(ev any)) Option {
	return func(o *options) { o.listen = listen }
}

// Start starts a headless Chromium with a fresh profile in t.TempDir() and
// returns its tab's context; the process ends at cleanup. Without Chromium
// the test fails (a skipped browser test is no test), naming `make deps`.
func Start(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	o := options{width: 900, height: 420}
	for _, f := range opts {
		f(&o)
	}
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("%s not found (%v): run `make deps`, which installs Debian's chromium", Chromium, err)
	}
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.width, o.height),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, flags...)
	var copts []chromedp.ContextOption
	if o.listen != nil {
		copts = append(copts, chromedp.WithListener(o.listen))
	}
	bctx, cancelBrowser := chromedp.NewContext(alloc, copts...)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser now, so that a failure to start is reported here.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", Chromium, err)
	}
	return bctx
}

// RepoRoot is the root of the sigil source tree this package was built from.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate test/browser's source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// UpdateScreenshots says whether tests write their screenshots into docs/
// (SIGIL_UPDATE_SCREENSHOT=1) rather than into a temporary directory.
func UpdateScreenshots() bool { return os.Getenv("SIGIL_UPDATE_SCREENSHOT") == "1" }

// ScreenshotPath is rel (a path under the repository such as
// "docs/console/overview.png") with SIGIL_UPDATE_SCREENSHOT=1, else a file
// of the same name in t.TempDir().
func ScreenshotPath(t testing.TB, rel string) string {
	t.Helper()
	if !UpdateScreenshots() {
		return filepath.Join(t.TempDir(), filepath.Base(rel))
	}
	p := filepath.Join(RepoRoot(t), filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	return p
}

// Screenshot captures the viewport as a PNG (the window size keeps it
// small) and writes it to ScreenshotPath(t, rel), which it returns.
func Screenshot(t testing.TB, ctx context.Context, rel string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", rel, err)
	}
	p := ScreenshotPath(t, rel)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
	return p
}
