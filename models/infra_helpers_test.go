package models_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ssh"

	"gatehouse/dbtest"
	"gatehouse/models"
)

// project creates an org and a project under it and returns the project.
func project(t testing.TB, store *models.Store, admin models.Actor, org, name string) *models.Scope {
	t.Helper()
	ctx := context.Background()
	o, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: org})
	if err != nil {
		// The org may exist already (several projects in one org).
		page, lerr := store.ListScopes(ctx, admin, models.GlobalScopeID, models.ListOptions{Search: org})
		if lerr != nil || len(page.Items) == 0 {
			t.Fatalf("create org %s: %v", org, err)
		}
		o = &page.Items[0].Scope
	}
	p, err := store.CreateScope(ctx, admin, o.ID, models.ScopeInput{Name: name})
	if err != nil {
		t.Fatalf("create project %s: %v", name, err)
	}
	return p
}

// plainUser creates a non-admin user with a password login and logs it in.
func plainUser(t testing.TB, store *models.Store, admin models.Actor, name string) models.Actor {
	t.Helper()
	ctx := context.Background()
	if _, err := store.CreateUser(ctx, admin, models.GlobalScopeID, models.UserInput{Name: name, LoginName: name, Password: "password-" + name}); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	boot, err := store.Bootstrap(ctx, models.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dbtest.Login(t, store, boot.AuthMethodID, name, "password-"+name)
}

// sshKey returns a fresh ed25519 private key in OpenSSH PEM form, encrypted
// when passphrase is not empty, and its fingerprint.
func sshKey(t testing.TB, passphrase string) (string, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), ssh.FingerprintSHA256(sshPub)
}

// count returns the number of rows of a table matching where.
func count(t testing.TB, store *models.Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := store.DB().Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
