package web_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"gatehouse/dbtest"
	"gatehouse/models"
	"gatehouse/web"
)

// app is a Gatehouse web server on a bootstrapped database, for handler
// tests through web.NewServer: the one fixture of the web tests. Clients:
// login (appClient, parsed pages) or client/do (raw answers).
type app struct {
	t      *testing.T
	store  *models.Store
	admin  models.Actor
	method string
	srv    *httptest.Server
}

func newApp(t *testing.T) *app {
	t.Helper()
	return newAppOn(t, dbtest.Open(t, models.SQLite, models.Options{}))
}

// newAppOn is newApp on a given store (e.g. one of dbtest.Each).
func newAppOn(t *testing.T, store *models.Store) *app {
	t.Helper()
	return newAppWith(t, store, nil)
}

// newAppWith is newAppOn with the web configuration adjusted by configure
// (nil: as is).
func newAppWith(t *testing.T, store *models.Store, configure func(*web.Config)) *app {
	t.Helper()
	return newAppAt(t, store, "", configure)
}

// newAppAt is newAppWith served at external ("": the test server's own URL).
func newAppAt(t *testing.T, store *models.Store, external string, configure func(*web.Config)) *app {
	t.Helper()
	srv, method := serve(t, store, external, configure)
	return &app{t: t, store: store, admin: dbtest.Admin(t, store), method: method, srv: srv}
}

// serve serves newHandler on a test server (stopped when the test ends) at
// external ("" means the test server's own URL). It returns the server and
// the password auth method's id.
func serve(t *testing.T, store *models.Store, external string, configure ...func(*web.Config)) (*httptest.Server, string) {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if external == "" {
		external = srv.URL
	}
	var method string
	handler, method = newHandler(t, store, external, configure...)
	return srv, method
}

// newHandler is the one bootstrap of the web tests: it bootstraps store
// (admin / password) and returns web.NewServer on it with fresh cookie keys
// at external, and the password auth method's id. Benchmarks call it
// directly (no network time).
func newHandler(t testing.TB, store *models.Store, external string, configure ...func(*web.Config)) (http.Handler, string) {
	t.Helper()
	boot, err := store.Bootstrap(context.Background(), models.BootstrapOptions{AdminLoginName: "admin", AdminPassword: "password"})
	if err != nil {
		t.Fatal(err)
	}
	key := func(n int) []byte { b := make([]byte, n); _, _ = rand.Read(b); return b }
	ext, _ := url.Parse(external)
	cfg := web.Config{ExternalURL: ext, CookieHashKey: key(64), CookieBlockKey: key(32)}
	for _, c := range configure {
		if c != nil {
			c(&cfg)
		}
	}
	s, err := web.NewServer(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, boot.AuthMethodID
}

// client is a browser-like HTTP client with its own cookies; it does not
// follow redirects so tests see them.
type appClient struct {
	a    *app
	http *http.Client
}

// login logs loginName in through the login form.
func (a *app) login(loginName, password string) *appClient {
	a.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &appClient{a: a, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	st, loc, _ := c.post("/login", url.Values{"auth_method_id": {a.method}, "login_name": {loginName}, "password": {password}})
	if st != http.StatusSeeOther || loc != "/" {
		a.t.Fatalf("login %s: %d %s", loginName, st, loc)
	}
	return c
}

func (c *appClient) get(path string) (int, *html.Node) {
	c.a.t.Helper()
	resp, err := c.http.Get(c.a.srv.URL + path)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		c.a.t.Fatal(err)
	}
	return resp.StatusCode, doc
}

// post submits a form and returns the status, the redirect location and
// the page.
func (c *appClient) post(path string, form url.Values) (int, string, *html.Node) {
	c.a.t.Helper()
	resp, err := c.http.PostForm(c.a.srv.URL+path, form)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		c.a.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), doc
}

// byTestID finds the first element with data-testid=id, or nil.
func byTestID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, at := range n.Attr {
			if at.Key == "data-testid" && at.Val == id {
				return n
			}
		}
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if f := byTestID(ch, id); f != nil {
			return f
		}
	}
	return nil
}

// text returns the collapsed text of n.
func text(n *html.Node) string {
	if n == nil {
		return "<missing>"
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(" " + n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// testID returns the text of the element with data-testid=id.
func testIDText(doc *html.Node, id string) string { return text(byTestID(doc, id)) }

// render returns the whole page as HTML.
func render(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	return b.String()
}

// idFrom returns the last path segment of a redirect location without its
// query.
func idFrom(loc string) string {
	loc, _, _ = strings.Cut(loc, "?")
	return loc[strings.LastIndex(loc, "/")+1:]
}
