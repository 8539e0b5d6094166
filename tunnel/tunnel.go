// Package tunnel is the wire protocol between `gatehouse connect` and the
// worker, and the byte relay both of them use. It imports only the standard
// library (and x/sys on Linux) so the client does not link the server.
//
// A tunnel is one HTTP/1.1 request on the web listener:
//
//	POST /v1/proxy HTTP/1.1
//	Authorization: Bearer <session authorization token>
//	Connection: Upgrade
//	Upgrade: gatehouse-tcp/1
//
// answered either by a refusal (a 4xx/5xx status with a JSON [Refusal] body)
// or by `101 Switching Protocols`, after which the connection is a plain byte
// stream to the session's host in both directions, with no framing.
// GET /v1/proxy/session with the same Authorization header returns [Info];
// DELETE /v1/proxy/session ends the session as closed by its end user
// (`connect` exiting because the user is done) and returns [Closed], or a
// refusal when the session ended otherwise or the token is unknown.
package tunnel

import (
	"net/http"
	"strings"
	"time"
)

const (
	// Protocol is the Upgrade token of a tunnel request.
	Protocol = "gatehouse-tcp/1"
	// Path is where tunnel requests go (POST with Upgrade).
	Path = "/v1/proxy"
	// InfoPath is where `connect` reads the session's [Info] (GET) and
	// ends the session as closed by the end user (DELETE, answered with
	// [Closed]).
	InfoPath = "/v1/proxy/session"
)

// Refusal codes: the Code of a [Refusal].
const (
	CodeBadToken     = "bad_token"     // no session has this token
	CodeSessionEnded = "session_ended" // canceling or terminated
	CodeExpired      = "expired"       // past the session's expiration time
	CodeLimitReached = "limit_reached" // the session's connection limit is used up
	CodeHostRefused  = "host_refused"  // the worker could not connect to the host
	CodeBadRequest   = "bad_request"   // not a well-formed tunnel request
	CodeUnavailable  = "unavailable"   // the worker is shutting down
	CodeRateLimited  = "rate_limited"  // too many unknown tokens from this address; see Retry-After
	CodeSystemError  = "system_error"  // an internal error (logged on the server)
)

// Refusal is the JSON body of a refused tunnel or info request.
type Refusal struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// SessionOver reports whether code means the session can never admit a
// connection again (so `connect` should exit).
func SessionOver(code string) bool {
	return code == CodeBadToken || code == CodeSessionEnded || code == CodeExpired
}

// Info is the JSON body of GET [InfoPath]: what `connect` prints.
type Info struct {
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
	// ConnectionLimit is the session's limit; -1 means unlimited.
	ConnectionLimit int `json:"connection_limit"`
	// ConnectionsLeft is how many more connections the session admits; -1 means unlimited.
	ConnectionsLeft int `json:"connections_left"`
}

// Closed is the JSON body of DELETE [InfoPath]: the session its end user
// closed. State is "terminated" (no connection was open) or "canceling"
// (its live connections are being cut; it terminates once they are
// closed); Reason is the termination reason, "closed by end-user".
type Closed struct {
	SessionID string `json:"session_id"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
}

// IsUpgrade reports whether r asks for a tunnel: a `Connection: Upgrade`
// header token and `Upgrade: gatehouse-tcp/1`.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && strings.EqualFold(strings.TrimSpace(r.Header.Get("Upgrade")), Protocol)
}

// IsUpgradeResponse reports whether resp accepts a tunnel.
func IsUpgradeResponse(resp *http.Response) bool {
	return resp.StatusCode == http.StatusSwitchingProtocols && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Upgrade")), Protocol)
}

// SwitchingProtocols is the exact response that accepts a tunnel; the worker
// writes it on the hijacked connection.
const SwitchingProtocols = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Protocol + "\r\n\r\n"

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// BearerToken returns the token of an `Authorization: Bearer …` header.
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
