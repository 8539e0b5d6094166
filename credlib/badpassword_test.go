package credlib_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"gatehouse/credlib"
	"gatehouse/models"
)

// refusingServer speaks the Postgres wire protocol as far as a server
// refusing a password does: it asks for the password, then answers FATAL
// 28P01 (invalid_password) with Postgres's own message. The shared test
// server trusts every local connection (pg_hba "trust"), so a wrong
// password can not be refused by it. It returns the server's address.
func refusingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				b := pgproto3.NewBackend(c, c)
				msg, err := b.ReceiveStartupMessage()
				if err != nil {
					return
				}
				start, ok := msg.(*pgproto3.StartupMessage)
				if !ok {
					return
				}
				b.Send(&pgproto3.AuthenticationCleartextPassword{})
				if b.Flush() != nil || b.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
					return
				}
				if _, err := b.Receive(); err != nil {
					return
				}
				b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "28P01",
					Message: fmt.Sprintf("password authentication failed for user %q", start.Parameters["user"])})
				_ = b.Flush()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestTestPostgresBadPassword: the Test button names a refused password as
// such (SQLSTATE 28P01), with the server and the role.
func TestTestPostgresBadPassword(t *testing.T) {
	addr := refusingServer(t)
	b := credlib.New()
	defer b.Close()
	b.ConnectTimeout = 5 * time.Second
	err := b.TestPostgres(context.Background(), models.PostgresConn{URL: "postgres://gatehouse_admin@" + addr + "/app?sslmode=disable", Password: "wrong"})
	want := "The server at " + addr + " refused the password of role gatehouse_admin."
	if err == nil || err.Error() != want {
		t.Fatalf("bad password: %v\nwant: %s", err, want)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the message repeats the password: %v", err)
	}
}
