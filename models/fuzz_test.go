package models_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-bexpr"

	"gatehouse/models"
)

// FuzzParseDatabaseURL: any value is refused with an error that never
// repeats a password, or accepted as one of the two dialects (issue 11).
func FuzzParseDatabaseURL(f *testing.F) {
	for _, s := range []string{"postgres://u:secretpw@h/db", "POSTGRESQL://h/db", "/var/lib/gatehouse/db.sqlite", "sqlite://x.db",
		"file:x.db", "mysql://u:secretpw@h/db", "://", "a1+-.://secretpw", "postgres:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, u, err := models.ParseDatabaseURL(s)
		if err != nil {
			// The error may name what was typed as the scheme (it is the
			// scheme, not a password: "secretpw://" is named as such);
			// nothing after it is ever repeated.
			msg := err.Error()
			if scheme, _, ok := strings.Cut(s, "://"); ok {
				msg = strings.ReplaceAll(msg, strings.ToLower(scheme)+"://", "")
			}
			if strings.Contains(s, "secretpw") && strings.Contains(msg, "secretpw") {
				t.Fatalf("%q: the error repeats the password: %v", s, err)
			}
			return
		}
		if d != models.Postgres && d != models.SQLite {
			t.Fatalf("%q: dialect %q", s, d)
		}
		if d2, u2, err := models.ParseDatabaseURL(u); err != nil || d2 != d || u2 != u {
			t.Fatalf("%q: normal form %q does not parse to itself: %q %q %v", s, u, d2, u2, err)
		}
	})
}

// FuzzManagedGroupFilter: a managed group's filter (go-bexpr, as the
// Store compiles and evaluates it against an identity's claims) never
// panics, whatever an administrator types.
func FuzzManagedGroupFilter(f *testing.F) {
	for _, s := range []string{`"admins" in "/groups"`, `"/email" matches ".*@example\\.com"`, `"/token/email_verified" == true`,
		`not ("x" in "/groups") and "/name" != ""`, `(((`, `"/a/b/c" contains "z"`, `"/groups/0" == "ops"`} {
		f.Add(s)
	}
	claims := map[string]any{"groups": []any{"ops", "admins"}, "email": "a@example.com", "name": "A",
		"token": map[string]any{"email_verified": true}, "a": map[string]any{"b": map[string]any{"c": []any{"z", 1.0}}}}
	f.Fuzz(func(t *testing.T, filter string) {
		ev, err := bexpr.CreateEvaluator(filter)
		if err != nil {
			return
		}
		_, _ = ev.Evaluate(claims)
	})
}
