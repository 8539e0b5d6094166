package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource finds axe-core (pinned in package.json; `go tool task assets`
// or `npm ci` installs it) under the module root's node_modules.
func axeSource(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			t.Fatalf("browsertest: axe-core not found at %s: run `npm ci --ignore-scripts` (axe-core is pinned in package.json)", p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("browsertest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Violation is an axe-core finding.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

// Axe runs axe-core on the current page and fails the test on any serious
// or critical violation.
func Axe(t testing.TB, ctx context.Context) {
	t.Helper()
	src := axeSource(t)
	run(t, ctx, "inject axe-core", chromedp.Evaluate[chromedp.Void](src+";void 0"))
	vs := run(t, ctx, "run axe-core", chromedp.Evaluate[[]Violation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length})))`, chromedp.EvalAwaitPromise))
	var bad []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, fmt.Sprintf("%s (%s, %d nodes): %s", v.ID, v.Impact, v.Nodes, v.Help))
		}
	}
	if len(bad) > 0 {
		t.Errorf("axe-core on %s:\n  %s", Location(t, ctx), strings.Join(bad, "\n  "))
	}
}

// Viewport resizes the tab (e.g. 390 wide for a phone, 1280 for a laptop).
func Viewport(t testing.TB, ctx context.Context, width, height int64) {
	t.Helper()
	do(t, ctx, "resize the viewport", chromedp.EmulateViewport(width, height))
}

// NoHorizontalOverflow fails the test when the page scrolls sideways.
func NoHorizontalOverflow(t testing.TB, ctx context.Context) {
	t.Helper()
	if w := Eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("%s overflows horizontally: %d px wide in a %d px window", Location(t, ctx), w[0], w[1])
	}
}
