// Package cli is Gatehouse's command-line client in the gatehouse binary:
// login (browser loopback redirect with PKCE, or a password), logout,
// targets, connect TARGET, sessions, cancel, history and shell completion.
// It speaks the JSON API (/api/v1) with the token it keeps per address in
// the user's config directory, and relays connections with package
// connect.
package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Exit codes of the CLI commands (documented in docs/cli.md).
const (
	ExitError       = 1 // anything else (network, server error)
	ExitUsage       = 2 // bad command line
	ExitAuth        = 3 // not logged in, login expired or revoked
	ExitDenied      = 4 // no permission, or nothing by that name you may see
	ExitConflict    = 5 // refused by a rule: invalid input, conflict, stale
	ExitAmbiguous   = 6 // a target name matches several targets
	ExitUnavailable = 7 // Gatehouse cannot be reached
)

// Error is a CLI failure with its exit code; main prints Error() and exits
// with Code.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// ExitCode is the process exit status for this failure.
func (e *Error) ExitCode() int { return e.Code }

func usageError(format string, args ...any) error {
	return &Error{Code: ExitUsage, Msg: fmt.Sprintf(format, args...)}
}

// Problem is an API error document (RFC 9457).
type Problem struct {
	Status     int               `json:"status"`
	Title      string            `json:"title"`
	Detail     string            `json:"detail"`
	Code       string            `json:"code"`
	Errors     map[string]string `json:"errors"`
	ExplainURL string            `json:"explain_url"`
}

// client calls the API of one Gatehouse with one token.
type client struct {
	addr  string // without trailing slash
	token string
	http  *http.Client
}

func newClient(addr, token string, tlsConfig *tls.Config) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	return &client{addr: strings.TrimSuffix(addr, "/"), token: token, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends a request to path (under /api/v1) and decodes a JSON answer
// into out (nil: ignore it). A problem answer becomes an *Error that says
// why and what to do.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &Error{Code: ExitError, Msg: fmt.Sprintf("read the answer of %s: %v", path, err)}
	}
	return nil
}

// send is do without decoding: the caller reads (and closes) the body of a
// successful answer.
func (c *client) send(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	u := c.addr + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, usageError("--addr %q: %v", c.addr, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", "gatehouse-cli")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: ExitUnavailable, Msg: fmt.Sprintf("cannot reach Gatehouse at %s: %v", c.addr, err)}
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, c.refusal(resp)
	}
	return resp, nil
}

// refusal explains an error answer to a person.
func (c *client) refusal(resp *http.Response) error {
	var p Problem
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &p); err != nil || p.Code == "" {
		return &Error{Code: ExitError, Msg: fmt.Sprintf("Gatehouse at %s answered %s: is --addr the Gatehouse URL?", c.addr, resp.Status)}
	}
	login := "run `gatehouse login --addr " + c.addr + "`"
	switch {
	case p.Code == "token_expired":
		return &Error{Code: ExitAuth, Msg: "your login has expired: " + login}
	case p.Code == "token_revoked":
		return &Error{Code: ExitAuth, Msg: "your login was revoked or has ended: " + login}
	case resp.StatusCode == http.StatusUnauthorized && c.token == "" && p.Code == "not_logged_in":
		return &Error{Code: ExitAuth, Msg: "not logged in: " + login}
	case resp.StatusCode == http.StatusUnauthorized:
		return &Error{Code: ExitAuth, Msg: strings.TrimSuffix(p.Detail, ".")}
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		msg := "no permission: " + strings.TrimSuffix(p.Detail, ".")
		if resp.StatusCode == http.StatusNotFound {
			msg = "not found, or you may not see it"
		}
		if p.ExplainURL != "" {
			msg += ". Why can't I? " + p.ExplainURL
		}
		return &Error{Code: ExitDenied, Msg: msg}
	case resp.StatusCode == http.StatusUnprocessableEntity || resp.StatusCode == http.StatusBadRequest:
		var parts []string
		for f, m := range p.Errors {
			parts = append(parts, f+": "+m)
		}
		return &Error{Code: ExitConflict, Msg: p.Title + ": " + strings.Join(parts, "; ")}
	case resp.StatusCode < 500:
		return &Error{Code: ExitConflict, Msg: p.Title + ": " + p.Detail}
	}
	return &Error{Code: ExitError, Msg: "Gatehouse failed: " + p.Detail}
}

// isAuth reports whether err is a refused login (exit code ExitAuth).
func isAuth(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ExitAuth
}
