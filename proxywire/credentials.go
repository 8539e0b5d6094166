package proxywire

import (
	"context"

	"gatehouse/models"
	"gatehouse/tunnel"
	"gatehouse/worker"
)

// Credentials adapts the Store to worker.CredentialSource: the
// credentials `gatehouse connect` fetches, SSH certificates signed for its
// ephemeral key.
type Credentials struct{ sessions Sessions }

var _ worker.CredentialSource = Credentials{}

// NewCredentials serves connect's credentials from the sessions' Store.
func NewCredentials(sessions Sessions) Credentials { return Credentials{sessions: sessions} }

// SessionCredentials returns the live session's credentials with their
// secrets, signing sshPublicKey for its SSH certificate libraries.
func (p Credentials) SessionCredentials(ctx context.Context, token, sshPublicKey string) ([]tunnel.Credential, error) {
	creds, err := p.sessions.store.SessionCredentialsByToken(ctx, token, sshPublicKey)
	if err != nil {
		if fe := models.FieldErrors(err); fe != nil {
			return nil, &worker.BadRequestError{Message: fe["public_key"]}
		}
		return nil, p.sessions.refusal(ctx, token, workerErr(err))
	}
	out := make([]tunnel.Credential, len(creds))
	for i, c := range creds {
		out[i] = tunnel.Credential{ID: c.ID, Name: c.Name, Type: c.Type, Username: c.Username, Password: c.Password,
			PrivateKey: c.PrivateKey, Passphrase: c.Passphrase, Object: c.Object, Principals: c.Principals,
			Certificate: c.Certificate, ValidBefore: c.ValidBefore}
	}
	return out, nil
}
