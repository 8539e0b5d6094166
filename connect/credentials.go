package connect

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Credential types `connect` passes on to --exec.
const (
	typePostgresRole   = "postgres_role"
	typeSSHCertificate = "ssh_certificate"
)

// credentials fetches the session's credentials, having an ephemeral
// Ed25519 key signed by its SSH certificate libraries (the private key
// never leaves this process and its 0600 temporary file). It returns the
// environment for the --exec command: PGHOST, PGPORT, PGUSER, PGPASSWORD
// for a Postgres role; GATEHOUSE_SSH_KEY, GATEHOUSE_SSH_CERT and
// GATEHOUSE_SSH_USER for an SSH certificate. cleanup removes the key files.
func (p *Proxy) credentials(ctx context.Context, addr *net.TCPAddr) (env []string, cleanup func(), err error) {
	cleanup = func() {}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, cleanup, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, cleanup, err
	}
	creds, err := p.Client.Credentials(ctx, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))))
	var refused *RefusedError
	if errors.As(err, &refused) && refused.Status == http.StatusNotFound {
		return nil, cleanup, nil // a Gatehouse without credential libraries
	}
	if err != nil {
		return nil, cleanup, fmt.Errorf("fetch the session's credentials: %w", err)
	}
	host, port := addr.IP.String(), strconv.Itoa(addr.Port)
	for _, c := range creds {
		switch {
		case c.Type == typePostgresRole:
			env = append(env, "PGHOST="+host, "PGPORT="+port, "PGUSER="+c.Username, "PGPASSWORD="+c.Password)
			fmt.Fprintf(p.Out, "Credential %s: Postgres role %s (PGUSER and PGPASSWORD are set for --exec; the password is on the session page)\n", c.Name, c.Username)
		case c.Type == typeSSHCertificate && c.Certificate != "":
			dir, err := os.MkdirTemp("", "gatehouse-ssh-")
			if err != nil {
				return nil, cleanup, err
			}
			cleanup = func() { os.RemoveAll(dir) }
			block, err := ssh.MarshalPrivateKey(priv, "gatehouse connect ephemeral key")
			if err != nil {
				return nil, cleanup, err
			}
			key, cert := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "id_ed25519-cert.pub")
			if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
				return nil, cleanup, err
			}
			if err := os.WriteFile(cert, []byte(c.Certificate+"\n"), 0o600); err != nil {
				return nil, cleanup, err
			}
			user := ""
			if len(c.Principals) > 0 {
				user = c.Principals[0]
			}
			env = append(env, "GATEHOUSE_SSH_KEY="+key, "GATEHOUSE_SSH_CERT="+cert, "GATEHOUSE_SSH_USER="+user)
			fmt.Fprintf(p.Out, "Credential %s: SSH certificate for %s, valid until the session ends:\n  ssh -i %s -o CertificateFile=%s -p %s %s@%s\n",
				c.Name, strings.Join(c.Principals, ", "), key, cert, port, user, host)
		}
	}
	return env, cleanup, nil
}
