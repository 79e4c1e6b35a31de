package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// AxeScript is where `make browser-tools` (npm ci in test/browser/axe)
// installs the pinned axe-core, relative to the repository root.
const AxeScript = "test/browser/axe/node_modules/axe-core/axe.min.js"

var (
	axeOnce sync.Once
	axeSrc  []byte
	axeErr  error
)

// loadAxe reads axe.min.js once per test binary.
func loadAxe(t testing.TB) []byte {
	t.Helper()
	axeOnce.Do(func() {
		axeSrc, axeErr = os.ReadFile(filepath.Join(RepoRoot(t), filepath.FromSlash(AxeScript)))
	})
	if axeErr != nil {
		t.Fatalf("axe-core is not installed (%v): `make browser-tools` installs it (make test does)", axeErr)
	}
	return axeSrc
}

// Violation is one axe-core rule the page breaks.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// String names the rule, its impact and the elements that break it.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %v %s", n.Target, n.HTML)
	}
	return b.String()
}

// Axe injects axe-core into the page of ctx (through the DevTools
// protocol, which the page's Content-Security-Policy does not govern) and
// returns every violation of the WCAG 2.x A and AA rules axe runs by default.
func Axe(t testing.TB, ctx context.Context) []Violation {
	t.Helper()
	src := loadAxe(t)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";\ntypeof axe === 'object'"))
	if err != nil || !loaded {
		t.Fatalf("inject axe-core: loaded=%v err=%v", loaded, err)
	}
	run := `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return out
}

// CheckAxe runs Axe and fails the test on any serious or critical
// violation of the screen named screen; lesser ones are logged.
func CheckAxe(t testing.TB, ctx context.Context, screen string) {
	t.Helper()
	for _, v := range Axe(t, ctx) {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s", screen, v)
		} else {
			t.Logf("axe on %s (not failing): %s", screen, v)
		}
	}
}
