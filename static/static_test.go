package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// wantAssets are the files the views rely on.
var wantAssets = []string{"css/app.css", "js/htmx.min.js", "js/sse.js", "js/app.js", "favicon.svg"}

func TestPathIsContentHash(t *testing.T) {
	for _, name := range wantAssets {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		sum := sha256.Sum256(data)
		want := "/static/" + hex.EncodeToString(sum[:])[:8] + "/" + name
		if got := Path(name); got != want {
			t.Errorf("Path(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPathFormat(t *testing.T) {
	re := regexp.MustCompile(`^/static/[0-9a-f]{8}/css/app\.css$`)
	if got := Path("css/app.css"); !re.MatchString(got) {
		t.Errorf("Path(css/app.css) = %q, want match %s", got, re)
	}
}

func TestPathPanicsOnUnknownName(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("Path(unknown) did not panic")
		}
		if !strings.Contains(r.(string), "nope.css") {
			t.Errorf("panic message %q does not name the asset", r)
		}
	}()
	Path("nope.css")
}

func TestNamesListsEveryAsset(t *testing.T) {
	got := map[string]bool{}
	for _, n := range Names() {
		got[n] = true
	}
	for _, n := range wantAssets {
		if !got[n] {
			t.Errorf("Names() lacks %q (have %v)", n, Names())
		}
	}
}

func TestHandler(t *testing.T) {
	oldHash := strings.Replace(Path("css/app.css"), Path("css/app.css")[8:16], "00000000", 1)
	if oldHash == Path("css/app.css") {
		t.Fatal("test setup: hash happened to be 00000000")
	}
	tests := []struct {
		name        string
		method      string
		path        string
		wantStatus  int
		wantType    string
		wantCache   string
		wantBodyOf  string // asset whose content the body must equal
		wantBodyHas string
	}{
		{"css current hash", "GET", Path("css/app.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "css/app.css", ""},
		{"htmx current hash", "GET", Path("js/htmx.min.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "js/htmx.min.js", `version:"2.0.11"`},
		{"sse current hash", "GET", Path("js/sse.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "js/sse.js", "defineExtension('sse'"},
		{"app.js current hash", "GET", Path("js/app.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "js/app.js", "data-countdown-to"},
		{"favicon current hash", "GET", Path("favicon.svg"), 200, "image/svg+xml", "public, max-age=31536000, immutable", "favicon.svg", "<svg"},
		{"old hash serves current file uncached", "GET", oldHash, 200, "text/css; charset=utf-8", "no-cache", "css/app.css", ""},
		{"no hash serves current file uncached", "GET", "/static/favicon.svg", 200, "image/svg+xml", "no-cache", "favicon.svg", ""},
		{"no hash nested name", "GET", "/static/js/app.js", 200, "text/javascript; charset=utf-8", "no-cache", "js/app.js", ""},
		{"HEAD", "HEAD", Path("css/app.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", "", ""},
		{"unknown name", "GET", "/static/12345678/css/nope.css", 404, "", "", "", ""},
		{"unknown bare name", "GET", "/static/nope.css", 404, "", "", "", ""},
		{"directory", "GET", "/static/12345678/css", 404, "", "", "", ""},
		{"prefix only", "GET", "/static/", 404, "", "", "", ""},
		{"outside prefix", "GET", "/css/app.css", 404, "", "", "", ""},
		{"dot dot", "GET", "/static/12345678/../css/app.css", 404, "", "", "", ""},
		{"POST", "POST", Path("css/app.css"), 405, "", "", "", ""},
	}
	h := Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://gatehouse.test/", nil)
			req.URL.Path = tt.path // bypass NewRequest's path cleaning for the ".." case
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 {
				if cc := res.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
					t.Errorf("error response has Cache-Control %q", cc)
				}
				if tt.wantStatus == 405 && res.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow = %q, want GET, HEAD", res.Header.Get("Allow"))
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := res.Header.Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(got) {
				t.Errorf("ETag = %q, want a quoted sha256", got)
			}
			if tt.method == "HEAD" {
				if len(body) != 0 {
					t.Errorf("HEAD body has %d bytes", len(body))
				}
				if res.Header.Get("Content-Length") == "" {
					t.Error("HEAD lacks Content-Length")
				}
			}
			if tt.wantBodyOf != "" {
				want, err := os.ReadFile(tt.wantBodyOf)
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != string(want) {
					t.Errorf("body (%d bytes) differs from %s (%d bytes)", len(body), tt.wantBodyOf, len(want))
				}
			}
			if tt.wantBodyHas != "" && !strings.Contains(string(body), tt.wantBodyHas) {
				t.Errorf("body lacks %q", tt.wantBodyHas)
			}
		})
	}
}

func TestHandlerConditionalGet(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", Path("js/app.js"), nil))
	etag := rec.Result().Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", Path("js/app.js"), nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status = %d, want 304", rec.Code)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("304 has a body of %d bytes", rec.Body.Len())
	}
}

// The stylesheet must define every class the views are promised.
func TestCSSDefinesPromisedClasses(t *testing.T) {
	css, err := os.ReadFile("css/app.css")
	if err != nil {
		t.Fatal(err)
	}
	selectors := []string{
		".page-header", ".btn", ".btn-primary", ".btn-danger", ".btn-small", ".btn-link",
		".form", ".field", ".field-error", `input[aria-invalid="true"]`, ".hint",
		".alert", ".alert-error", ".alert-success", ".alert-info", "table.list", ".table-wrap",
		".badge", ".badge-pending", ".badge-active", ".badge-canceling", ".badge-terminated",
		".badge-ok", ".badge-muted", ".badge-warn", ".pagination", ".search-bar", ".card",
		".grid-2", ".muted", ".mono", "dl.props", ".empty", ".login-box", ".provider-btn",
		".timeline", "nav.tabs", ".chart", ".sr-only", ".skip-link", ".user-menu",
		"prefers-color-scheme: dark", ":focus-visible",
	}
	for _, s := range selectors {
		if !strings.Contains(string(css), s) {
			t.Errorf("app.css does not define %s", s)
		}
	}
}

// The committed htmx must be the pinned 2.x, not npm's latest.
func TestPinnedHTMXVersion(t *testing.T) {
	lock, err := os.ReadFile("../package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"node_modules/htmx\.org":\s*\{\s*"version":\s*"([^"]+)"`).FindSubmatch(lock)
	if m == nil {
		t.Fatal("package-lock.json does not pin htmx.org")
	}
	version := string(m[1])
	if !strings.HasPrefix(version, "2.") {
		t.Errorf("package-lock.json pins htmx.org %s, want 2.x", version)
	}
	js, err := os.ReadFile("js/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `version:"`+version+`"`) {
		t.Errorf("static/js/htmx.min.js is not htmx %s: run `go tool task assets`", version)
	}
}
