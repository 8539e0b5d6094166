package models

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Public id prefixes, one per resource type.
const (
	PrefixOrg            = "o"
	PrefixProject        = "p"
	PrefixUser           = "u"
	PrefixPasswordMethod = "ampw"
	PrefixOIDCMethod     = "amoidc"
	PrefixPasswordAcct   = "acctpw"
	PrefixOIDCAcct       = "acctoidc"
	PrefixLogin          = "at"
	PrefixGroup          = "g"
	PrefixRole           = "r"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix + "_" + 12 random base62 characters (about 71 bits).
func NewID(prefix string) string {
	const n = 12
	buf := make([]byte, n)
	out := make([]byte, 0, len(prefix)+1+n)
	out = append(out, prefix...)
	out = append(out, '_')
	for len(out) < len(prefix)+1+n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			// Rejection sampling keeps the distribution uniform.
			if b < 248 && len(out) < len(prefix)+1+n {
				out = append(out, idAlphabet[int(b)%62])
			}
		}
	}
	return string(out)
}

// newSecret returns a random URL-safe secret of n bytes of entropy.
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how secrets (login tokens, session tokens) are kept at rest.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// PrefixManagedGroup is the id prefix of OIDC managed groups.
const PrefixManagedGroup = "mgoidc"

// Id prefixes of the infrastructure resources (Boundary's, as listed in
// grant_types.go's aclIDPrefixes).
const (
	PrefixHostCatalog      = "hcst"
	PrefixHost             = "hst"
	PrefixHostSet          = "hsst"
	PrefixTarget           = "ttcp"
	PrefixCredentialStore  = "csst"
	PrefixCredUserPassword = "credup"
	PrefixCredSSHKey       = "credspk"
	PrefixCredJSON         = "credjson"
)

// PrefixSession and PrefixConnection are the id prefixes of sessions and
// their connections (grant_types.go maps "s" to type session; connections
// are not a grantable type).
const (
	PrefixSession    = "s"
	PrefixConnection = "sc"
)

// NewOrderedID returns prefix + "_" + the current millisecond in 8 base62
// digits + 12 random base62 characters: unique as NewID, and in the order
// they were made (to the millisecond) in a byte-wise sort. Rows keyed by
// such ids are appended at the end of their index instead of dirtying a
// random page of it at each insert (webhook message and delivery ids: issue
// 16's benchmark, docs/benchmarks.md).
func NewOrderedID(prefix string) string {
	ms := time.Now().UnixMilli()
	var ts [8]byte
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i] = idAlphabet[ms%62]
		ms /= 62
	}
	return prefix + "_" + string(ts[:]) + NewID("")[1:]
}
