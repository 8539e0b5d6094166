package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Crypter encrypts secrets at rest with AES-256-GCM under the root key. It
// keeps older root keys to decrypt values written before a rotation; new
// values always use the current key. A ciphertext names its key by id.
type Crypter struct {
	current string
	keys    map[string]cipher.AEAD
}

// NewCrypter takes the current 32-byte root key and any previous ones.
func NewCrypter(current []byte, previous ...[]byte) (*Crypter, error) {
	c := &Crypter{keys: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != 32 {
			return nil, fmt.Errorf("root key %d: want 32 bytes, got %d", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(k)
		if i == 0 {
			c.current = id
		}
		c.keys[id] = aead
	}
	return c, nil
}

// KeyID is the short public identifier of a root key (not secret).
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("gatehouse-root-key:"), key...))
	return hex.EncodeToString(sum[:4])
}

// CurrentKeyID names the key new values are encrypted with.
func (c *Crypter) CurrentKeyID() string { return c.current }

// Encrypt seals plaintext; aad binds the value to its place (e.g. the row id)
// so a ciphertext cannot be moved to another row.
func (c *Crypter) Encrypt(plaintext []byte, aad string) (string, error) {
	aead := c.keys[c.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, plaintext, []byte(aad))
	return "v1:" + c.current + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value made by Encrypt with the same aad.
func (c *Crypter) Decrypt(value, aad string) ([]byte, error) {
	parts := strings.SplitN(value, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, errors.New("decrypt: unknown format")
	}
	aead, ok := c.keys[parts[1]]
	if !ok {
		return nil, fmt.Errorf("decrypt: root key %s is not configured", parts[1])
	}
	raw, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("decrypt: malformed value")
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, errors.New("decrypt: authentication failed")
	}
	return out, nil
}

// NeedsRewrap reports whether value was sealed under an older key.
func (c *Crypter) NeedsRewrap(value string) bool {
	parts := strings.SplitN(value, ":", 3)
	return len(parts) == 3 && parts[1] != c.current
}
