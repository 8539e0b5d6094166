package credlib

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"gatehouse/models"
)

// NewSSHCA generates an Ed25519 user CA.
func (b *Backend) NewSSHCA() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "gatehouse user CA")
	if err != nil {
		return "", "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(block)), authorizedLine(sp, "gatehouse-user-ca"), nil
}

// authorizedLine is a key in authorized_keys format with a comment.
func authorizedLine(k ssh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

// SignSSHCertificate signs a user certificate for req with the CA.
func (b *Backend) SignSSHCertificate(caPrivate string, req models.SSHCertRequest) (string, error) {
	signer, err := ssh.ParsePrivateKey([]byte(caPrivate))
	if err != nil {
		return "", fmt.Errorf("parse CA key: %w", err)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		return "", fmt.Errorf("parse public key: %w", err)
	}
	ext := map[string]string{}
	for _, e := range req.Extensions {
		ext[e] = ""
	}
	cert := &ssh.Certificate{
		Key: pk, Serial: req.Serial, CertType: ssh.UserCert, KeyId: req.KeyID,
		ValidPrincipals: req.Principals,
		ValidAfter:      uint64(req.ValidAfter.Unix()), ValidBefore: uint64(req.ValidBefore.Unix()),
		Permissions: ssh.Permissions{Extensions: ext},
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		return "", fmt.Errorf("sign certificate: %w", err)
	}
	return authorizedLine(cert, ""), nil
}

// KRL format constants (OpenSSH PROTOCOL.krl).
const (
	krlMagic              = 0x5353484b524c0a00 // "SSHKRL\n\0"
	krlFormatVersion      = 1
	krlSectionCerts       = 1
	krlSectionExplicitKey = 2
	krlSectionCertSerials = 0x20
)

// KRL builds an OpenSSH key revocation list (PROTOCOL.krl, format 1) that
// revokes the certificates of the CA caPublic (authorized_keys format) with
// the given serials, and, when revokeCA, the CA key itself: OpenSSH then
// refuses every certificate the CA signed (sshd checks the signing key of
// a certificate against the KRL too). x/crypto/ssh has no KRL support, so
// it is written here from the specification: a header, then one
// certificates section for the CA holding one serial list, then an
// explicit-key section holding the CA key.
func (b *Backend) KRL(caPublic string, serials []uint64, revokeCA bool, version uint64, generated time.Time) ([]byte, error) {
	ca, _, _, _, err := ssh.ParseAuthorizedKey([]byte(caPublic))
	if err != nil {
		return nil, fmt.Errorf("parse CA public key: %w", err)
	}
	return buildKRL(ca.Marshal(), serials, revokeCA, version, generated), nil
}

func buildKRL(caBlob []byte, serials []uint64, revokeCA bool, version uint64, generated time.Time) []byte {
	var out bytes.Buffer
	u64 := func(w *bytes.Buffer, v uint64) { _ = binary.Write(w, binary.BigEndian, v) }
	str := func(w *bytes.Buffer, s []byte) {
		_ = binary.Write(w, binary.BigEndian, uint32(len(s)))
		w.Write(s)
	}
	u64(&out, krlMagic)
	_ = binary.Write(&out, binary.BigEndian, uint32(krlFormatVersion))
	u64(&out, version)
	u64(&out, uint64(generated.Unix()))
	u64(&out, 0)                           // flags
	str(&out, nil)                         // reserved
	str(&out, []byte("gatehouse revoked")) // comment
	if revokeCA {
		var keys bytes.Buffer
		str(&keys, caBlob)
		out.WriteByte(krlSectionExplicitKey)
		str(&out, keys.Bytes())
	}
	if len(serials) == 0 {
		return out.Bytes()
	}
	sorted := slices.Clone(serials)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var list bytes.Buffer
	for _, s := range sorted {
		u64(&list, s)
	}
	var sec bytes.Buffer
	str(&sec, caBlob)
	str(&sec, nil) // reserved
	sec.WriteByte(krlSectionCertSerials)
	str(&sec, list.Bytes())
	out.WriteByte(krlSectionCerts)
	str(&out, sec.Bytes())
	return out.Bytes()
}

// KRLSerials parses a KRL made by KRL and returns its CA key blob and the
// serials it revokes (tests, and operators' tooling).
func KRLSerials(krl []byte) (ca []byte, serials []uint64, err error) {
	ca, serials, _, err = ParseKRL(krl)
	return ca, serials, err
}

// ParseKRL parses a KRL made by KRL: its CA key blob, the serials it
// revokes, and the keys it revokes outright (wire-format blobs).
func ParseKRL(krl []byte) (ca []byte, serials []uint64, keys [][]byte, err error) {
	r := bytes.NewReader(krl)
	var magic, version, gen, flags uint64
	var format uint32
	for _, v := range []any{&magic, &format, &version, &gen, &flags} {
		if err := binary.Read(r, binary.BigEndian, v); err != nil {
			return nil, nil, nil, err
		}
	}
	if magic != krlMagic || format != krlFormatVersion {
		return nil, nil, nil, errors.New("not an OpenSSH KRL")
	}
	readStr := func(r *bytes.Reader) ([]byte, error) {
		var n uint32
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return nil, err
		}
		if int(n) > r.Len() {
			return nil, errors.New("truncated KRL")
		}
		b := make([]byte, n)
		_, err := r.Read(b)
		return b, err
	}
	for range 2 { // reserved, comment
		if _, err := readStr(r); err != nil {
			return nil, nil, nil, err
		}
	}
	for r.Len() > 0 {
		typ, _ := r.ReadByte()
		data, err := readStr(r)
		if err != nil {
			return nil, nil, nil, err
		}
		if typ == krlSectionExplicitKey {
			kr := bytes.NewReader(data)
			for kr.Len() > 0 {
				k, err := readStr(kr)
				if err != nil {
					return nil, nil, nil, err
				}
				keys = append(keys, k)
			}
			continue
		}
		if typ != krlSectionCerts {
			continue
		}
		sr := bytes.NewReader(data)
		if ca, err = readStr(sr); err != nil {
			return nil, nil, nil, err
		}
		if _, err := readStr(sr); err != nil {
			return nil, nil, nil, err
		}
		for sr.Len() > 0 {
			st, _ := sr.ReadByte()
			sd, err := readStr(sr)
			if err != nil {
				return nil, nil, nil, err
			}
			if st != krlSectionCertSerials {
				continue
			}
			for i := 0; i+8 <= len(sd); i += 8 {
				serials = append(serials, binary.BigEndian.Uint64(sd[i:]))
			}
		}
	}
	return ca, serials, keys, nil
}
