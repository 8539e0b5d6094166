package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/dbtest"
	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/web"
)

// newEnv is newApp on a fresh database of dialect d, served at external
// ("": the test server's own URL).
func newEnv(t *testing.T, d models.Dialect, external string) *app {
	t.Helper()
	return newEnvWith(t, d, external, models.Options{})
}

// newEnvWith is newEnv with the store's options.
func newEnvWith(t *testing.T, d models.Dialect, external string, opts models.Options) *app {
	t.Helper()
	return newAppAt(t, dbtest.Open(t, d, opts), external, nil)
}

// client is a cookie-keeping HTTP client that does not follow redirects,
// for do.
func (e *app) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	body   string
	header http.Header
}

// do sends a request with client c and returns the whole answer.
func (e *app) do(c *http.Client, method, path string, form url.Values, headers ...string) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(b), r.Header}
}

// postLogin posts the login form with client c.
func (e *app) postLogin(c *http.Client, name, pw string) resp {
	return e.do(c, "POST", "/login", url.Values{"auth_method_id": {e.method}, "login_name": {name}, "password": {pw}})
}

// adminClient is a client logged in as the administrator.
func (e *app) adminClient() *http.Client {
	c := e.client()
	if r := e.postLogin(c, "admin", "password"); r.status != 303 {
		e.t.Fatalf("admin login = %d", r.status)
	}
	return c
}

func fieldErrorPattern(id string) *regexp.Regexp {
	return regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`)
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	e := newEnv(t, models.SQLite, "https://gatehouse.example.com")
	c := e.client()
	r := e.do(c, "GET", "/login", nil)
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, r.header.Get(h), want)
		}
	}
	if strings.Contains(r.header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows inline code")
	}
	r = e.postLogin(c, "admin", "password")
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	plain := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	if r := plain.postLogin(plain.client(), "admin", "password"); strings.Contains(r.header.Get("Set-Cookie"), "Secure") {
		t.Error("cookie is Secure on an http external URL")
	}
}

func TestLoginLogoutAndRefusals(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d, "http://127.0.0.1:9200")
			c := e.client()
			if r := e.do(c, "GET", "/users", nil); r.status != 303 {
				t.Fatalf("anonymous /users = %d", r.status)
			}
			for _, pw := range []string{"wrong", ""} {
				r := e.postLogin(c, "admin", pw)
				if r.status != 401 || !strings.Contains(r.body, "Wrong login name or password.") {
					t.Fatalf("wrong password = %d", r.status)
				}
			}
			if r := e.postLogin(c, "nobody", "password"); r.status != 401 || !strings.Contains(r.body, "Wrong login name or password.") {
				t.Fatalf("unknown user = %d", r.status)
			}
			for i := 0; i < 5; i++ {
				e.postLogin(c, "admin", "wrong")
			}
			if r := e.postLogin(c, "admin", "password"); r.status != 429 || !strings.Contains(r.body, "Too many failed attempts") || r.header.Get("Retry-After") == "" {
				t.Fatalf("throttled login = %d", r.status)
			}
		})
	}
	e := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	c := e.adminClient()
	if r := e.do(c, "GET", "/users", nil); r.status != 200 {
		t.Fatalf("/users = %d", r.status)
	}
	// Reusing the cookie after logout gets nothing.
	stolen := c.Jar.Cookies(mustURL(e.srv.URL))
	if r := e.do(c, "POST", "/logout", url.Values{}); r.status != 303 {
		t.Fatalf("logout = %d", r.status)
	}
	replay := e.client()
	replay.Jar.SetCookies(mustURL(e.srv.URL), stolen)
	if r := e.do(replay, "GET", "/users", nil); r.status != 303 {
		t.Fatalf("old cookie after logout = %d", r.status)
	}
	// Open redirects are refused.
	c = e.client()
	r := e.do(c, "POST", "/login", url.Values{"auth_method_id": {e.method}, "login_name": {"admin"}, "password": {"password"}, "next": {"//evil.example/x"}})
	if loc := r.header.Get("Location"); loc != "/" {
		t.Fatalf("next=//evil redirected to %q", loc)
	}
}

// nextCases are post-login destinations and where the login must send the
// browser: local paths are kept, anything a browser could read as another
// origin (browsers drop tabs and newlines, read "\" as "/") becomes "/".
var nextCases = []struct{ next, want string }{
	{"/users", "/users"},
	{"/scopes/global?tab=users#top", "/scopes/global?tab=users#top"},
	{"/a/b%2Fc", "/a/b%2Fc"},
	{"", "/"},
	{"//evil.example/x", "/"},
	{"/\t/evil.example/x", "/"},
	{"/\t\t/evil.example", "/"},
	{"\t//evil.example", "/"},
	{"/\n/evil.example", "/"},
	{"/\r\n/evil.example", "/"},
	{"/\x00/evil.example", "/"},
	{"/\x7f/evil.example", "/"},
	{"/\u0085/evil.example", "/"},
	{"/\\evil.example", "/"},
	{"/\\/evil.example", "/"},
	{"\\\\evil.example", "/"},
	{"/x\\y", "/"},
	{"https://evil.example/", "/"},
	{"javascript:alert(1)", "/"},
	{"evil.example", "/"},
	{" /users", "/"},
	{"/\xff", "/"},
	{"/login", "/"},
	{"/login?next=/x", "/"},
}

func TestLoginNextStaysOnSite(t *testing.T) {
	e := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	for _, tc := range nextCases {
		c := e.client()
		r := e.do(c, "POST", "/login", url.Values{"auth_method_id": {e.method}, "login_name": {"admin"}, "password": {"password"}, "next": {tc.next}})
		if loc := r.header.Get("Location"); r.status != 303 || loc != tc.want {
			t.Errorf("POST /login next=%q: %d Location %q, want %q", tc.next, r.status, loc, tc.want)
		}
		// Already logged in: GET /login?next=… redirects at once.
		r = e.do(c, "GET", "/login?next="+url.QueryEscape(tc.next), nil)
		if loc := r.header.Get("Location"); r.status != 303 || loc != tc.want {
			t.Errorf("GET /login?next=%q: %d Location %q, want %q", tc.next, r.status, loc, tc.want)
		}
	}
	// The form is not fooled either: the hidden next field holds "/".
	c := e.client()
	if r := e.do(c, "GET", "/login?next=%2F%09%2Fevil.example", nil); strings.Contains(r.body, "evil.example") {
		t.Errorf("the login form carries the foreign next")
	}
	c = e.adminClient()
	if r := e.do(c, "GET", "/login?next=%2F%09%2Fevil.example", nil); r.header.Get("Location") != "/" {
		t.Errorf("GET /login?next=%%2F%%09%%2Fevil.example redirected to %q", r.header.Get("Location"))
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestCrossOriginPostsAreRefused(t *testing.T) {
	e := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	c := e.adminClient()
	for _, h := range [][]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		r := e.do(c, "POST", "/scopes/global/new", url.Values{"name": {"Evil"}}, h...)
		if r.status != 403 {
			t.Fatalf("%s: status %d", h[0], r.status)
		}
	}
	if r := e.do(c, "GET", "/scopes/global", nil); strings.Contains(r.body, "Evil") {
		t.Fatal("a cross-origin POST created a scope")
	}
	if r := e.do(c, "POST", "/scopes/global/new", url.Values{"name": {"Good"}}, "Sec-Fetch-Site", "same-origin"); r.status != 303 {
		t.Fatalf("same-origin POST = %d", r.status)
	}
}

func TestFormsShowMessagesNextToFields(t *testing.T) {
	e := newEnv(t, models.Postgres, "http://127.0.0.1:9200")
	c := e.adminClient()
	cases := []struct {
		path  string
		form  url.Values
		field string
		want  string
	}{
		{"/scopes/global/new", url.Values{"name": {""}}, "name-error", "Name is required."},
		{"/scopes/global/new", url.Values{"name": {strings.Repeat("n", 200)}}, "name-error", "Name must be at most 128 characters."},
		{"/users/new", url.Values{"scope_id": {"global"}, "name": {"bad name"}}, "name-error", "Name may contain letters"},
		{"/users/new", url.Values{"scope_id": {"global"}, "name": {"bob"}, "email": {"nope"}}, "email-error", "Email must be an address"},
		{"/users/new", url.Values{"scope_id": {"global"}, "name": {"bob"}, "login_name": {"bob"}, "password": {"123"}}, "password-error", "Password must be at least 8 characters."},
		{"/users/new", url.Values{"scope_id": {"global"}, "name": {"admin"}}, "name-error", "Global already has a user named"},
		{"/users/new", url.Values{"scope_id": {"global"}, "name": {"bob"}, "login_name": {"admin"}, "password": {"password1"}}, "login_name-error", "already taken"},
	}
	for _, tc := range cases {
		r := e.do(c, "POST", tc.path, tc.form)
		m := fieldErrorPattern(tc.field).FindStringSubmatch(r.body)
		if r.status != 422 || m == nil || !strings.Contains(htmlUnescape(m[1]), tc.want) {
			t.Errorf("POST %s %v: status %d, %s = %v, want %q", tc.path, tc.form, r.status, tc.field, m, tc.want)
		}
		if !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("POST %s: the field is not marked invalid", tc.path)
		}
	}
	if r := e.do(c, "GET", "/users", nil); !strings.Contains(r.body, "1 item") {
		t.Fatal("bad input wrote users")
	}
	// Stale edit: 409 with an explanation.
	r := e.do(c, "POST", "/scopes/global/new", url.Values{"name": {"Acme"}})
	loc := r.header.Get("Location")
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/scopes/")
	if r := e.do(c, "POST", "/scopes/"+id+"/edit", url.Values{"name": {"Acme 2"}, "version": {"7"}}); r.status != 409 || !strings.Contains(r.body, "changed by someone else") {
		t.Fatalf("stale edit = %d", r.status)
	}

	// Edit forms: the same messages next to the fields, and nothing written.
	r = e.do(c, "POST", "/scopes/global/new", url.Values{"name": {"Beta"}})
	beta := strings.TrimPrefix(strings.Split(r.header.Get("Location"), "?")[0], "/scopes/")
	r = e.do(c, "POST", "/users/new", url.Values{"scope_id": {"global"}, "name": {"bob"}, "email": {"bob@example.com"}})
	bob := strings.TrimPrefix(strings.Split(r.header.Get("Location"), "?")[0], "/users/")
	if beta == "" || bob == "" {
		t.Fatalf("set-up: scope %q, user %q", beta, bob)
	}
	edits := []struct {
		path  string
		form  url.Values
		field string
		want  string
	}{
		{"/scopes/" + beta + "/edit", url.Values{"name": {""}, "version": {"1"}}, "name-error", "Name is required."},
		{"/scopes/" + beta + "/edit", url.Values{"name": {strings.Repeat("n", 200)}, "version": {"1"}}, "name-error", "Name must be at most 128 characters."},
		{"/scopes/" + beta + "/edit", url.Values{"name": {"acme"}, "version": {"1"}}, "name-error", `already named "acme"`},
		{"/users/" + bob + "/edit", url.Values{"name": {"bad name"}, "version": {"1"}}, "name-error", "Name may contain letters"},
		{"/users/" + bob + "/edit", url.Values{"name": {"bob"}, "email": {"nope"}, "version": {"1"}}, "email-error", "Email must be an address"},
		{"/users/" + bob + "/edit", url.Values{"name": {"admin"}, "version": {"1"}}, "name-error", `already named "admin"`},
	}
	for _, tc := range edits {
		r := e.do(c, "POST", tc.path, tc.form)
		m := fieldErrorPattern(tc.field).FindStringSubmatch(r.body)
		if r.status != 422 || m == nil || !strings.Contains(htmlUnescape(m[1]), tc.want) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Errorf("POST %s %v: status %d, %s = %v, want %q next to the field", tc.path, tc.form, r.status, tc.field, m, tc.want)
		}
	}
	if r := e.do(c, "GET", "/scopes/"+beta, nil); !strings.Contains(r.body, "Beta") {
		t.Error("a refused edit changed the scope")
	}
	if r := e.do(c, "GET", "/users/"+bob, nil); !strings.Contains(r.body, "bob@example.com") || strings.Contains(r.body, "bad name") {
		t.Error("a refused edit changed the user")
	}
	// Version 1 still stands: nothing was written by the refused edits.
	if r := e.do(c, "POST", "/scopes/"+beta+"/edit", url.Values{"name": {"Beta 2"}, "version": {"1"}}); r.status != 303 {
		t.Errorf("a good edit at version 1 after the refused ones: %d", r.status)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

func TestUnknownIDsAndPagesAre404(t *testing.T) {
	e := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	c := e.adminClient()
	for _, p := range []string{"/scopes/o_nope", "/scopes/o_nope/edit", "/users/u_nope", "/users/u_nope/delete", "/no/such/page"} {
		r := e.do(c, "GET", p, nil)
		if r.status != 404 || !strings.Contains(r.body, `data-testid="error-page"`) {
			t.Errorf("GET %s = %d", p, r.status)
		}
	}
	if r := e.do(c, "POST", "/scopes/o_nope/delete", url.Values{}); r.status != 404 {
		t.Errorf("delete unknown = %d", r.status)
	}
	// A non-admin gets the same 404 for the admin's user as for a missing one.
	ctx := context.Background()
	admin := dbtest.Login(t, e.store, e.method, "admin", "password")
	if _, err := e.store.CreateUser(ctx, admin, "global", models.UserInput{Name: "bob", LoginName: "bob", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	bob := e.client()
	e.postLogin(bob, "bob", "password1")
	if r := e.do(bob, "GET", "/users/"+admin.UserID, nil); r.status != 404 {
		t.Fatalf("bob reads admin = %d", r.status)
	}
	if r := e.do(bob, "GET", "/account", nil); r.status != 200 || !strings.Contains(r.body, "bob") {
		t.Fatalf("bob's account page = %d", r.status)
	}
	// htmx asks for the results fragment only.
	r := e.do(c, "GET", "/users?q=bob", nil, "HX-Request", "true", "HX-Target", "results")
	if r.status != 200 || strings.Contains(r.body, "<html") || !strings.Contains(r.body, `data-testid="user-list"`) {
		t.Fatalf("fragment = %d %q", r.status, r.body[:min(200, len(r.body))])
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t, models.SQLite, "http://127.0.0.1:9200")
	c := e.client()
	if r := e.do(c, "GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("healthz = %d", r.status)
	}
	if r := e.do(c, "GET", "/readyz", nil); r.status != 200 {
		t.Fatalf("readyz = %d", r.status)
	}
	sqlDB, _ := e.store.DB().DB()
	sqlDB.Close()
	if r := e.do(c, "GET", "/readyz", nil); r.status != 503 {
		t.Fatalf("readyz with the database closed = %d", r.status)
	}
}

// TestReadinessWaitsForListening: an instance that does not hear the
// other instances' notifications yet (its LISTEN connection is not
// subscribed) is not ready, though its database answers.
func TestReadinessWaitsForListening(t *testing.T) {
	store := dbtest.Open(t, models.SQLite, models.Options{})
	ext, _ := url.Parse("http://127.0.0.1:9200")
	key := func(n int) []byte { return []byte(strings.Repeat("k", n)) }
	var listening atomic.Bool
	s, err := web.NewServer(web.Config{ExternalURL: ext, CookieHashKey: key(64), CookieBlockKey: key(32), Listening: listening.Load}, store,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ready := func() (int, string) {
		t.Helper()
		r, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "not yet listening") {
		t.Fatalf("readyz before listening = %d %q, want 503", code, body)
	}
	listening.Store(true)
	if code, body := ready(); code != http.StatusOK {
		t.Fatalf("readyz once listening = %d %q, want 200", code, body)
	}
}

func TestClientIPHonoursTrustedProxies(t *testing.T) {
	cases := []struct {
		remote, xff, trusted, want string
	}{
		{"203.0.113.9:5000", "", "", "203.0.113.9"},
		{"203.0.113.9:5000", "1.2.3.4", "", "203.0.113.9"},
		{"10.0.0.2:5000", "1.2.3.4", "10.0.0.0/8", "1.2.3.4"},
		{"10.0.0.2:5000", "6.6.6.6, 1.2.3.4, 10.0.0.7", "10.0.0.0/8", "1.2.3.4"},
		{"10.0.0.2:5000", "garbage", "10.0.0.0/8", "10.0.0.2"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.remote
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		var tr []netip.Prefix
		if c.trusted != "" {
			tr = append(tr, netip.MustParsePrefix(c.trusted))
		}
		if got := web.ClientIP(req, tr); got != c.want {
			t.Errorf("%+v: got %s", c, got)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	store := dbtest.Open(t, models.SQLite, models.Options{})
	ext, _ := url.Parse("http://127.0.0.1:9200")
	key := func(n int) []byte { return []byte(strings.Repeat("k", n)) }
	s, err := web.NewServer(web.Config{ExternalURL: ext, CookieHashKey: key(64), CookieBlockKey: key(32), Metrics: metrics.New()}, store,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	for i := 0; i < 2; i++ {
		r, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	r, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), `gatehouse_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2`) {
		t.Fatalf("metrics lack the healthz requests:\n%s", b)
	}
}

// TestAccountPageShowsGroups: /account and /users/{id} list the groups the
// user is a member of, with their scopes, and no others.
func TestAccountPageShowsGroups(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d, "http://127.0.0.1:9200")
			ctx := context.Background()
			admin := dbtest.Admin(t, e.store)
			org, err := e.store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: "Acme"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := e.store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: "bob", LoginName: "bob", Password: "password1"})
			if err != nil {
				t.Fatal(err)
			}
			ops, _ := e.store.CreateGroup(ctx, admin, models.GlobalScopeID, models.GroupInput{Name: "Operators"})
			devs, _ := e.store.CreateGroup(ctx, admin, org.ID, models.GroupInput{Name: "Developers"})
			other, _ := e.store.CreateGroup(ctx, admin, org.ID, models.GroupInput{Name: "Auditors"})
			for _, g := range []*models.Group{ops, devs} {
				if err := e.store.AddGroupMembers(ctx, admin, g.ID, []string{bob.ID}); err != nil {
					t.Fatal(err)
				}
			}
			check := func(page, body string) {
				t.Helper()
				for _, want := range []string{
					`data-testid="group-` + devs.ID + `">Developers <span class="muted">(Acme)</span>`,
					`data-testid="group-` + ops.ID + `">Operators <span class="muted">(Global)</span>`,
				} {
					if !strings.Contains(body, want) {
						t.Errorf("%s does not show %s", page, want)
					}
				}
				if strings.Contains(body, other.ID) || strings.Contains(body, "Auditors") || strings.Contains(body, `data-testid="no-groups"`) {
					t.Errorf("%s shows a group bob is not in", page)
				}
				if i, j := strings.Index(body, "Developers"), strings.Index(body, "Operators"); i < 0 || j < 0 || i > j {
					t.Errorf("%s: groups not ordered by scope name", page)
				}
			}
			c := e.client()
			if r := e.postLogin(c, "bob", "password1"); r.status != 303 {
				t.Fatalf("bob login = %d", r.status)
			}
			r := e.do(c, "GET", "/account", nil)
			if r.status != 200 {
				t.Fatalf("/account = %d", r.status)
			}
			check("/account", r.body)
			r = e.do(e.adminClient(), "GET", "/users/"+bob.ID, nil)
			if r.status != 200 {
				t.Fatalf("/users/%s = %d", bob.ID, r.status)
			}
			check("/users/{id}", r.body)
			// The admin is in no group.
			if r := e.do(e.adminClient(), "GET", "/account", nil); !strings.Contains(r.body, `data-testid="no-groups"`) {
				t.Error("/account of a user without groups does not say so")
			}
		})
	}
}

// TestCookieLivesAsLongAsTheLogin: the cookie's Max-Age follows the login
// lifetime, so a longer --login-lifetime is not cut at 7 days.
func TestCookieLivesAsLongAsTheLogin(t *testing.T) {
	for _, c := range []struct {
		lifetime time.Duration
		maxAge   string
	}{{0, "Max-Age=604800"}, {30 * 24 * time.Hour, "Max-Age=2592000"}, {12 * time.Hour, "Max-Age=43200"}} {
		e := newEnvWith(t, models.SQLite, "http://127.0.0.1:9200", models.Options{LoginLifetime: c.lifetime})
		r := e.postLogin(e.client(), "admin", "password")
		if cookie := r.header.Get("Set-Cookie"); r.status != 303 || !strings.Contains(cookie, c.maxAge+";") {
			t.Errorf("login lifetime %s: cookie %q, want %s", c.lifetime, cookie, c.maxAge)
		}
	}
}
