package credlib

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestExplainBadPassword: SQLSTATE 28P01, wrapped as pgx wraps a failed
// connect, reads as a refused password of the configured role.
func TestExplainBadPassword(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://app_admin@db.example.com:6432/app")
	if err != nil {
		t.Fatal(err)
	}
	pgErr := &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "app_admin"`}
	got := explain(cfg, fmt.Errorf("failed to connect to `user=app_admin database=app`: %w", pgErr))
	if want := "The server at db.example.com:6432 refused the password of role app_admin."; got == nil || got.Error() != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
}
