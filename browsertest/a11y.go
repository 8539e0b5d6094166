package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeMinJS is axe-core's axe.min.js, pinned in package.json (devDependency
// axe-core) and copied here by `go tool task assets`.
//
//go:embed axe.min.js
var axeMinJS string

// AxeViolation is one rule axe-core found broken on a page, with the
// selectors of (up to five of) the elements that break it.
type AxeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// AxeViolations runs axe-core on the current page (injected through the
// DevTools protocol, so the page's CSP does not apply) and returns every
// violation.
func AxeViolations(t testing.TB, ctx context.Context) []AxeViolation {
	t.Helper()
	if !Eval[bool](t, ctx, `typeof window.axe === "object"`) {
		run(t, ctx, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeMinJS))
	}
	const script = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help,
		targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`
	return run(t, ctx, "axe.run", chromedp.Evaluate[[]AxeViolation](script, chromedp.EvalAwaitPromise))
}

// AssertAccessible fails the test (without stopping it) for every serious
// or critical axe-core violation on the current page, named by what.
func AssertAccessible(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	for _, v := range AxeViolations(t, ctx) {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe: %s", what, v)
		}
	}
}

// SetViewport resizes the tab's viewport to width × height CSS pixels.
func SetViewport(t testing.TB, ctx context.Context, width, height int64) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("viewport %dx%d", width, height), chromedp.EmulateViewport(width, height))
	// Two animation frames: the resize event and its handlers have run.
	run(t, ctx, "wait for a frame", chromedp.Evaluate[chromedp.Void](
		`new Promise(r => { setTimeout(r, 250); requestAnimationFrame(() => requestAnimationFrame(() => r())) })`, chromedp.EvalAwaitPromise))
}

// AssertNoOverflow fails the test (without stopping it) when the page
// scrolls sideways: document scrollWidth greater than innerWidth.
func AssertNoOverflow(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	const script = `({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
		widest: Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
			.slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + String(e.className).split(" ").join(".") : ""))})`
	var got struct {
		Scroll, Inner int
		Widest        []string
	}
	got = Eval[struct {
		Scroll, Inner int
		Widest        []string
	}](t, ctx, script)
	if got.Scroll > got.Inner {
		t.Errorf("%s: the page scrolls sideways: scrollWidth %d > innerWidth %d (too wide: %v)", what, got.Scroll, got.Inner, got.Widest)
	}
}

// Widths are the widths CheckPage looks at a page in: a desktop and a
// phone.
var Widths = []int64{1280, 390}

// CheckPage checks the current page at every width of Widths: no sideways
// scroll and no serious or critical axe-core violation (failures name the
// page by name and width). With dir set it also writes a screenshot per
// width there (name-WIDTH.png), for people to look at; tests never compare
// pixels. It leaves the viewport at 1280 x 900.
func CheckPage(t testing.TB, ctx context.Context, name, dir string) {
	t.Helper()
	for _, w := range Widths {
		SetViewport(t, ctx, w, 900)
		what := fmt.Sprintf("%s @%d", name, w)
		AssertNoOverflow(t, ctx, what)
		AssertAccessible(t, ctx, what)
		if dir != "" {
			Screenshot(t, ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)))
		}
	}
	SetViewport(t, ctx, 1280, 900)
}
