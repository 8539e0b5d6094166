package models

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"time"

	"gatehouse/models/acl"

	"golang.org/x/crypto/ssh"
)

// Credential types.
const (
	CredentialUsernamePassword = "username_password"
	CredentialSSHPrivateKey    = "ssh_private_key"
	CredentialJSON             = "json"
)

// CredentialTypes lists the credential types in display order.
var CredentialTypes = []string{CredentialUsernamePassword, CredentialSSHPrivateKey, CredentialJSON}

// Credential is a static credential of a credential store, without its
// secret: admins never get the secret back after saving it. Fingerprint is
// the SHA256 fingerprint of an SSH key's public half (not secret).
type Credential struct {
	ID          string
	StoreID     string
	ScopeID     string
	Type        string
	Name        string
	Description string
	Username    string
	Fingerprint string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// credentialRow is the stored row: a Credential and the ciphertext of its
// CredentialSecret (AES-256-GCM, aad = id).
type credentialRow struct {
	Credential
	Secret string
}

func (credentialRow) TableName() string { return "credentials" }

// CredentialSecret is the secret part of a credential, by type: Password
// (username_password), PrivateKey and Passphrase (ssh_private_key), Object
// (json: the whole JSON object).
type CredentialSecret struct {
	Password   string          `json:"password,omitempty"`
	PrivateKey string          `json:"private_key,omitempty"`
	Passphrase string          `json:"passphrase,omitempty"`
	Object     json.RawMessage `json:"object,omitempty"`
}

// BrokeredCredential is a credential with its decrypted secret, for the
// user of a session only.
type BrokeredCredential struct {
	Credential
	Secret CredentialSecret
}

// CredentialInput is the credential form. Type is read on create only. On
// edit, empty secret fields (Password, PrivateKey, JSON) keep the stored
// secret; Passphrase counts only with a new PrivateKey.
type CredentialInput struct {
	Type        string
	Name        string
	Description string
	Username    string
	Password    string
	PrivateKey  string
	Passphrase  string
	JSON        string
}

// CredentialItem is a credential in a list or on its page with its store's
// name and what the actor may do to it.
type CredentialItem struct {
	Credential
	StoreName string
	Actions   map[Action]bool `gorm:"-"`
}

func credentialResource(c *Credential) acl.Resource {
	return acl.Resource{Type: "credential", ID: c.ID, ScopeID: c.ScopeID, ParentID: c.StoreID}
}

func credentialPrefix(typ string) string {
	switch typ {
	case CredentialSSHPrivateKey:
		return PrefixCredSSHKey
	case CredentialJSON:
		return PrefixCredJSON
	}
	return PrefixCredUserPassword
}

// validate checks the input for a credential of type typ. It returns the
// cleaned input, the new secret (nil: keep the stored one) and the key
// fingerprint of a new SSH key.
func (in CredentialInput) validate(typ string, creating bool) (CredentialInput, *CredentialSecret, string, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	var (
		secret *CredentialSecret
		fp     string
	)
	switch typ {
	case CredentialUsernamePassword:
		in.Username = v.text("username", "Username", in.Username, true, 128)
		switch {
		case in.Password == "" && creating:
			v.add("password", "Password is required.")
		case len(in.Password) > 1024:
			v.add("password", "Password must be at most 1024 characters.")
		case in.Password != "":
			secret = &CredentialSecret{Password: in.Password}
		}
	case CredentialSSHPrivateKey:
		in.Username = v.text("username", "Username", in.Username, true, 128)
		switch {
		case in.PrivateKey == "" && creating:
			v.add("private_key", "Private key is required.")
		case in.PrivateKey == "" && in.Passphrase != "":
			v.add("private_key", "Paste the private key again to change its passphrase.")
		case len(in.PrivateKey) > 16384:
			v.add("private_key", "Private key must be at most 16384 characters.")
		case in.PrivateKey != "":
			var err error
			if fp, err = sshFingerprint(in.PrivateKey, in.Passphrase); err != nil {
				v.add(sshKeyField(err), err.Error())
			} else {
				secret = &CredentialSecret{PrivateKey: in.PrivateKey, Passphrase: in.Passphrase}
			}
		}
	case CredentialJSON:
		in.Username = ""
		switch {
		case in.JSON == "" && creating:
			v.add("json", "JSON object is required.")
		case len(in.JSON) > 65536:
			v.add("json", "JSON must be at most 65536 characters.")
		case in.JSON != "":
			obj, err := jsonObject(in.JSON)
			if err != nil {
				v.add("json", err.Error())
			} else {
				secret = &CredentialSecret{Object: obj}
			}
		}
	default:
		v.add("type", "Type must be username/password, SSH private key or JSON.")
	}
	return in, secret, fp, v.err()
}

var (
	errPassphrase    = errors.New("This key is protected by a passphrase: enter it.")
	errBadPassphrase = errors.New("The passphrase does not open this key.")
)

func sshKeyField(err error) string {
	if errors.Is(err, errPassphrase) || errors.Is(err, errBadPassphrase) {
		return "passphrase"
	}
	return "private_key"
}

// sshFingerprint parses an SSH private key (with its passphrase when it is
// encrypted) and returns its public key's SHA256 fingerprint. Errors are
// messages for people; errPassphrase and errBadPassphrase concern the
// passphrase field.
func sshFingerprint(key, passphrase string) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(key))
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return "", errPassphrase
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return "", errBadPassphrase
		}
	}
	if err != nil {
		return "", errors.New("Private key must be an SSH private key in OpenSSH or PEM format.")
	}
	return ssh.FingerprintSHA256(signer.PublicKey()), nil
}

// jsonObject checks that s is one JSON object and returns it compacted.
func jsonObject(s string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, errors.New(`JSON must be one object, like {"key": "value"}.`)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, errors.New(`JSON must be one object, like {"key": "value"}.`)
	}
	return buf.Bytes(), nil
}

// sealSecret encrypts a secret for the credential id.
func (s *Store) sealSecret(id string, sec *CredentialSecret) (string, error) {
	if s.opts.Crypter == nil {
		return "", errors.New("no root key configured: cannot store secrets")
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return "", err
	}
	return s.opts.Crypter.Encrypt(plain, id)
}
