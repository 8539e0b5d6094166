package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"gatehouse/api"
	"gatehouse/credlib"
	"gatehouse/dbtest"
	"gatehouse/handlers"
	"gatehouse/models"
)

// clock is an injected clock the tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// harness is the API on a real database behind an httptest server. Every
// call's response (and, unless told otherwise, its request) is validated
// against the OpenAPI document: a test fails on any drift.
type harness struct {
	t      *testing.T
	store  *models.Store
	clock  *clock
	srv    *httptest.Server
	router routers.Router
	admin  models.Actor
	// adminTok is a personal token of the bootstrapped administrator.
	adminTok string
	authID   string
}

func init() {
	// JSON lines are text to the validator (the rows are checked one by
	// one by the tests).
	openapi3filter.RegisterBodyDecoder("application/jsonl", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
}

// loadDocument parses the embedded document with kin-openapi (3.1).
func loadDocument(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Document)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func newHarness(t *testing.T, d models.Dialect) *harness {
	t.Helper()
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	backend := credlib.New()
	t.Cleanup(backend.Close)
	store := dbtest.Open(t, d, models.Options{Now: c.Now, CheckOIDCProvider: func(context.Context, string, []string) error { return nil },
		CredentialBackend: backend})
	h := &harness{t: t, store: store, clock: c}
	h.admin = dbtest.Admin(t, store)
	if err := store.DB().Raw("SELECT id FROM auth_methods WHERE type = 'password' ORDER BY created_at LIMIT 1").Scan(&h.authID).Error; err != nil {
		t.Fatal(err)
	}
	h.adminTok = h.token(h.admin)
	h.srv = httptest.NewServer(api.New(api.Config{ExternalURL: "https://gatehouse.test", Logger: slog.New(slog.DiscardHandler), Classify: classify}, store))
	t.Cleanup(h.srv.Close)
	doc := loadDocument(t)
	doc.Servers = openapi3.Servers{{URL: h.srv.URL + api.Prefix}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h.router = r
	return h
}

// classify is the pages' classification, as web wires it.
func classify(err error) (int, string, string, map[string]string) {
	p := handlers.ProblemOf(err)
	return p.Status, p.Title, p.Message, p.Fields
}

// each runs fn on both databases.
func each(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) { fn(t, newHarness(t, d)) })
	}
}

// token makes a personal token for a (a browser login).
func (h *harness) token(a models.Actor) string {
	h.t.Helper()
	tok, err := h.store.CreateAPIToken(context.Background(), a, models.APITokenInput{Name: "test", ExpiresAt: h.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok.Token
}

// user makes a global password user and returns its browser actor.
func (h *harness) user(name string) models.Actor {
	h.t.Helper()
	if _, err := h.store.CreateUser(context.Background(), h.admin, models.GlobalScopeID,
		models.UserInput{Name: name, LoginName: name, Password: name + "-password-1"}); err != nil {
		h.t.Fatal(err)
	}
	return dbtest.Login(h.t, h.store, h.authID, name, name+"-password-1")
}

// answer is an API response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// problem decodes a problem document and checks its media type.
func (a answer) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("error answer %d has Content-Type %q, want application/problem+json:\n%s", a.status, ct, a.body)
	}
	var p api.Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != a.status || p.Code == "" || p.Title == "" || !strings.HasPrefix(p.Type, "urn:gatehouse:problem:") {
		t.Fatalf("problem %+v for status %d", p, a.status)
	}
	return p
}

// call sends a request with token tok (may be ""), body marshalled as JSON
// when not nil ([]byte is sent as is), and headers as name, value pairs.
// The response is validated against the document; so is the request,
// except for calls made with bad() (deliberately off the document).
func (h *harness) call(tok, method, path string, body any, headers ...string) answer {
	h.t.Helper()
	return h.send(true, tok, method, path, body, headers...)
}

// bad is call for requests that break the document on purpose (bad input
// tests): only the response is validated.
func (h *harness) bad(tok, method, path string, body any, headers ...string) answer {
	h.t.Helper()
	return h.send(false, tok, method, path, body, headers...)
}

func (h *harness) send(checkRequest bool, tok, method, path string, body any, headers ...string) answer {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	newReq := func() *http.Request {
		req, err := http.NewRequest(method, h.srv.URL+api.Prefix+path, bytes.NewReader(raw))
		if err != nil {
			h.t.Fatal(err)
		}
		if raw != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	vreq := newReq()
	route, params, err := h.router.FindRoute(vreq)
	if err != nil {
		h.t.Fatalf("%s %s is not in the OpenAPI document: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if checkRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			h.t.Fatalf("request %s %s does not match the document: %v", method, path, err)
		}
	}
	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(b)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Fatalf("response %d to %s %s does not match the document: %v\n%s", resp.StatusCode, method, path, err, b)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// count counts rows of a table.
func (h *harness) count(table string) int64 {
	h.t.Helper()
	var n int64
	if err := h.store.DB().Table(table).Count(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

// want fails unless the answer has status.
func want(t testing.TB, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, a.status, status, a.body)
	}
}
