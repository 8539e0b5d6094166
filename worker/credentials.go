package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"gatehouse/tunnel"
)

// CredentialSource gives `connect` the credentials of the session a token
// authorizes (main wires the Store). Errors: ErrBadToken, ErrSessionEnded,
// ErrExpired, a *BadRequestError, or any other error.
type CredentialSource interface {
	SessionCredentials(ctx context.Context, token, sshPublicKey string) ([]tunnel.Credential, error)
}

// BadRequestError is a request the client must change (its message is
// for the user).
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// serveCredentials answers POST [tunnel.CredentialsPath].
func (w *Worker) serveCredentials(rw http.ResponseWriter, r *http.Request) {
	token, ok := w.sessionToken(rw, r)
	if !ok {
		return
	}
	if w.cfg.Credentials == nil {
		writeRefusal(rw, http.StatusNotFound, tunnel.CodeBadRequest, "This Gatehouse hands out no credentials to connect.")
		return
	}
	var req tunnel.CredentialsRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeRefusal(rw, http.StatusBadRequest, tunnel.CodeBadRequest, "The credentials request is not JSON.")
		return
	}
	creds, err := w.cfg.Credentials.SessionCredentials(r.Context(), token, req.SSHPublicKey)
	var bad *BadRequestError
	switch {
	case errors.As(err, &bad):
		writeRefusal(rw, http.StatusBadRequest, tunnel.CodeBadRequest, bad.Message)
		return
	case err != nil:
		w.refuse(rw, r, err)
		return
	}
	if creds == nil {
		creds = []tunnel.Credential{}
	}
	writeJSON(rw, http.StatusOK, tunnel.Credentials{Credentials: creds})
}
