package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	"gatehouse/api"
	"gatehouse/models"
)

// TestDocumentIsGenerated: openapi.json (served and embedded) is
// openapi.yaml converted (go generate ./api).
func TestDocumentIsGenerated(t *testing.T) {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(src, &y); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(y)
	var j any
	if err := json.Unmarshal(api.Document, &j); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(j)
	if !bytes.Equal(a, b) {
		t.Fatal("openapi.json is not openapi.yaml: run go generate ./api")
	}
	doc := loadDocument(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
}

// TestDocumentCoversEveryRoute: every route the API serves is in the
// document with its method, and every operation of the document is served.
func TestDocumentCoversEveryRoute(t *testing.T) {
	doc := loadDocument(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+api.Prefix+path] = true
		}
	}
	srv := api.New(api.Config{}, (*models.Store)(nil))
	served := map[string]bool{}
	err := chi.Walk(srv.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/*")
		served[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("served but not documented: %v\ndocumented but not served: %v", missing, extra)
	}
}

// TestValidationCatchesDrift: the harness's validation is not a formality.
// A real response checked against a document missing one member, or
// requiring one more, fails.
func TestValidationCatchesDrift(t *testing.T) {
	h := newHarness(t, models.SQLite)
	resp := h.call(h.adminTok, http.MethodGet, "/scopes/global", nil)
	want(t, "read global", resp, http.StatusOK)
	for name, mutate := range map[string]func(s *openapi3.Schema){
		"member removed":    func(s *openapi3.Schema) { delete(s.Properties, "children") },
		"member required":   func(s *openapi3.Schema) { s.Required = append(s.Required, "owner") },
		"member type moved": func(s *openapi3.Schema) { s.Properties["children"].Value.Type = &openapi3.Types{"string"} },
	} {
		t.Run(name, func(t *testing.T) {
			doc := loadDocument(t)
			doc.Servers = openapi3.Servers{{URL: h.srv.URL + api.Prefix}}
			mutate(doc.Components.Schemas["Scope"].Value)
			router, err := legacy.NewRouter(doc)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, h.srv.URL+api.Prefix+"/scopes/global", nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 resp.status, Header: resp.header}
			in.SetBodyBytes(resp.body)
			if err := openapi3filter.ValidateResponse(context.Background(), in); err == nil {
				t.Fatal("a response that no longer matches the document was accepted")
			}
		})
	}
}

// TestDocumentKeepsSecretsWriteOnly: the items the admin API answers
// (validated with additionalProperties: false) have no secret member, and
// every body member carrying a secret is marked writeOnly.
func TestDocumentKeepsSecretsWriteOnly(t *testing.T) {
	doc := loadDocument(t)
	secrets := []string{"password", "client_secret", "private_key", "passphrase", "json", "secret", "ca_private"}
	for _, name := range []string{"User", "AuthMethod", "Credential", "CredentialLibrary", "CredentialStore", "Target"} {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			t.Fatalf("schema %s missing", name)
		}
		if ap := s.Value.AdditionalProperties.Has; ap == nil || *ap {
			t.Errorf("%s does not refuse unknown members", name)
		}
		for _, k := range secrets {
			if _, ok := s.Value.Properties[k]; ok {
				t.Errorf("%s answers the secret %q", name, k)
			}
		}
	}
	for name, body := range map[string][]string{"UserBody": {"password"}, "OIDCBody": {"client_secret"},
		"CredentialBody": {"password", "private_key", "passphrase", "json"}, "CredentialLibraryBody": {"password"}} {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			t.Fatalf("schema %s missing", name)
		}
		for _, k := range body {
			p := s.Value.Properties[k]
			if p == nil || p.Value == nil || !p.Value.WriteOnly {
				t.Errorf("%s.%s is not writeOnly", name, k)
			}
		}
	}
}
