package tunnel

import (
	"encoding/json"
	"time"
)

// CredentialsPath is where `connect` fetches the session's credentials:
// POST with the session's bearer token and a JSON [CredentialsRequest];
// the answer is [Credentials], or a refusal. It is a request of its own
// (made once, before listening), not part of the tunnel handshake, so the
// per-connection admission path is unchanged.
const CredentialsPath = "/v1/proxy/session/credentials"

// CredentialsRequest asks for the session's credentials; SSHPublicKey (an
// authorized_keys line, the client's ephemeral key) is signed by every SSH
// certificate library of the session. The private key never leaves the
// client.
type CredentialsRequest struct {
	SSHPublicKey string `json:"ssh_public_key,omitempty"`
}

// Credential is one credential of the session, with its secret (for the
// session's user only). Type is postgres_role, ssh_certificate,
// username_password, ssh_private_key or json.
type Credential struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Username    string          `json:"username,omitempty"`
	Password    string          `json:"password,omitempty"`
	PrivateKey  string          `json:"private_key,omitempty"`
	Passphrase  string          `json:"passphrase,omitempty"`
	Object      json.RawMessage `json:"object,omitempty"`
	Principals  []string        `json:"principals,omitempty"`
	Certificate string          `json:"certificate,omitempty"`
	ValidBefore *time.Time      `json:"valid_before,omitempty"`
}

// Credentials is the JSON body answering [CredentialsPath].
type Credentials struct {
	Credentials []Credential `json:"credentials"`
}
