package main

import (
	"context"

	"gatehouse/models"
	"gatehouse/tunnel"
	"gatehouse/worker"
)

// proxyCredentials adapts the Store to worker.CredentialSource: the
// credentials `gatehouse connect` fetches, SSH certificates signed for its
// ephemeral key.
type proxyCredentials struct{ sessions proxySessions }

var _ worker.CredentialSource = proxyCredentials{}

func (p proxyCredentials) SessionCredentials(ctx context.Context, token, sshPublicKey string) ([]tunnel.Credential, error) {
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
