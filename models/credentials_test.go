package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/dbtest"
	"gatehouse/models"
)

func TestCredentialsEncryptedAndWriteOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		cs, err := store.CreateCredentialStore(ctx, admin, p.ID, models.CredentialStoreInput{Name: "Static"})
		if err != nil || !strings.HasPrefix(cs.ID, "csst_") || cs.Type != "static" {
			t.Fatalf("store = %+v, %v", cs, err)
		}
		key, fp := sshKey(t, "")
		encKey, encFP := sshKey(t, "open sesame")
		up, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "pg", Username: "postgres", Password: "hunter2-plaintext"})
		if err != nil || !strings.HasPrefix(up.ID, "credup_") || up.Username != "postgres" {
			t.Fatalf("username/password = %+v, %v", up, err)
		}
		sk, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialSSHPrivateKey, Name: "deploy", Username: "deploy", PrivateKey: key})
		if err != nil || !strings.HasPrefix(sk.ID, "credspk_") || sk.Fingerprint != fp {
			t.Fatalf("ssh = %+v, %v (want fingerprint %s)", sk, err, fp)
		}
		esk, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialSSHPrivateKey, Name: "locked", Username: "root", PrivateKey: encKey, Passphrase: "open sesame"})
		if err != nil || esk.Fingerprint != encFP {
			t.Fatalf("encrypted ssh = %+v, %v", esk, err)
		}
		js, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialJSON, Name: "api", Username: "ignored", JSON: `{ "token": "json-plaintext" }`})
		if err != nil || !strings.HasPrefix(js.ID, "credjson_") || js.Username != "" {
			t.Fatalf("json = %+v, %v", js, err)
		}
		// At rest: the secret column holds ciphertext, never the plaintext.
		for id, plain := range map[string]string{up.ID: "hunter2-plaintext", sk.ID: "PRIVATE KEY", esk.ID: "open sesame", js.ID: "json-plaintext"} {
			var raw string
			if err := store.DB().Raw("SELECT secret FROM credentials WHERE id = ?", id).Scan(&raw).Error; err != nil {
				t.Fatal(err)
			}
			if raw == "" || strings.Contains(raw, plain) || !strings.HasPrefix(raw, "v1:") {
				t.Errorf("credential %s stored as %q", id, raw)
			}
		}
		// The ciphertext is bound to its row: moved to another row it does not open.
		if err := store.DB().Exec("UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE id = ?) WHERE id = ?", up.ID, js.ID).Error; err != nil {
			t.Fatal(err)
		}
		list, err := store.ListCredentials(ctx, admin, cs.ID, models.ListOptions{})
		if err != nil || list.Total != 4 || list.Items[0].Name != "api" || list.Items[0].StoreName != "Static" || !list.Items[0].Actions[models.ActionUpdate] {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if page, _ := store.ListCredentials(ctx, admin, cs.ID, models.ListOptions{Search: "postgres"}); page.Total != 1 || page.Items[0].ID != up.ID {
			t.Fatalf("search by username = %+v", page)
		}
		// Brokered to a session: decrypted.
		tg, _ := store.CreateTarget(ctx, admin, p.ID, tcp("db", 5432, "10.0.0.1"))
		if err := store.AddTargetCredentialSources(ctx, admin, tg.ID, []string{up.ID, sk.ID, esk.ID}); err != nil {
			t.Fatal(err)
		}
		creds, err := store.BrokeredCredentials(ctx, admin, tg.ID)
		if err != nil || len(creds) != 3 {
			t.Fatalf("brokered = %+v, %v", creds, err)
		}
		got := map[string]models.BrokeredCredential{}
		for _, c := range creds {
			got[c.ID] = c
		}
		if got[up.ID].Secret.Password != "hunter2-plaintext" || got[up.ID].Username != "postgres" || got[sk.ID].Secret.PrivateKey != key ||
			got[esk.ID].Secret.Passphrase != "open sesame" {
			t.Fatalf("decrypted = %+v", got)
		}
		moved, _ := store.CreateTarget(ctx, admin, p.ID, tcp("moved", 22, "10.0.0.2"))
		if err := store.AddTargetCredentialSources(ctx, admin, moved.ID, []string{js.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.BrokeredCredentials(ctx, admin, moved.ID); err == nil || !strings.Contains(err.Error(), "decrypt") {
			t.Fatalf("a ciphertext moved to another row opened: %v", err)
		}
		// Editing without secrets keeps them; with a new one replaces it.
		u2, err := store.UpdateCredential(ctx, admin, up.ID, up.Version, models.CredentialInput{Name: "pg2", Username: "admin"})
		if err != nil || u2.Name != "pg2" || u2.Username != "admin" || u2.Type != models.CredentialUsernamePassword || u2.Version != 2 {
			t.Fatalf("update = %+v, %v", u2, err)
		}
		key2, fp2 := sshKey(t, "")
		if _, err := store.UpdateCredential(ctx, admin, sk.ID, sk.Version, models.CredentialInput{Name: "deploy", Username: "deploy", PrivateKey: key2}); err != nil {
			t.Fatal(err)
		}
		creds, _ = store.BrokeredCredentials(ctx, admin, tg.ID)
		for _, c := range creds {
			if c.ID == up.ID && c.Secret.Password != "hunter2-plaintext" {
				t.Errorf("password lost on edit: %+v", c)
			}
			if c.ID == sk.ID && (c.Secret.PrivateKey != key2 || c.Fingerprint != fp2) {
				t.Errorf("new key not saved: %+v", c)
			}
		}
		d, err := store.GetTarget(ctx, admin, tg.ID)
		if err != nil || len(d.CredentialSources) != 3 || d.CredentialSources[0].CredentialName != "deploy" || d.CredentialSources[0].StoreName != "Static" {
			t.Fatalf("target credentials = %+v, %v", d.CredentialSources, err)
		}
		if err := store.RemoveTargetCredentialSource(ctx, admin, tg.ID, esk.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.RemoveTargetCredentialSource(ctx, admin, tg.ID, esk.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("remove twice: %v", err)
		}
		if err := store.DeleteCredential(ctx, admin, sk.ID); err != nil {
			t.Fatal(err)
		}
		if d, _ := store.GetTarget(ctx, admin, tg.ID); len(d.CredentialSources) != 1 {
			t.Fatalf("deleted credential still brokered: %+v", d.CredentialSources)
		}
		if err := store.DeleteCredentialStore(ctx, admin, cs.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(t, store, "credentials", ""); n != 0 {
			t.Fatalf("%d credentials outlived their store", n)
		}
	})
}

func TestCredentialBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		ctx := context.Background()
		admin := dbtest.Admin(t, store)
		p := project(t, store, admin, "Acme", "Prod")
		cs, _ := store.CreateCredentialStore(ctx, admin, p.ID, models.CredentialStoreInput{Name: "Static"})
		key, _ := sshKey(t, "")
		encKey, _ := sshKey(t, "right")
		up := func(f func(*models.CredentialInput)) models.CredentialInput {
			in := models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "c", Username: "u", Password: "p"}
			f(&in)
			return in
		}
		ssh := func(f func(*models.CredentialInput)) models.CredentialInput {
			in := models.CredentialInput{Type: models.CredentialSSHPrivateKey, Name: "c", Username: "u", PrivateKey: key}
			f(&in)
			return in
		}
		js := func(s string) models.CredentialInput {
			return models.CredentialInput{Type: models.CredentialJSON, Name: "c", JSON: s}
		}
		const notObject = `JSON must be one object, like {"key": "value"}.`
		cases := []struct {
			name  string
			in    models.CredentialInput
			field string
			want  string
		}{
			{"empty name", up(func(in *models.CredentialInput) { in.Name = "" }), "name", "Name is required."},
			{"long name", up(func(in *models.CredentialInput) { in.Name = strings.Repeat("n", 129) }), "name", "Name must be at most 128 characters."},
			{"bad type", up(func(in *models.CredentialInput) { in.Type = "kerberos" }), "type", "Type must be username/password, SSH private key or JSON."},
			{"no username", up(func(in *models.CredentialInput) { in.Username = "" }), "username", "Username is required."},
			{"long username", up(func(in *models.CredentialInput) { in.Username = strings.Repeat("u", 129) }), "username", "Username must be at most 128 characters."},
			{"no password", up(func(in *models.CredentialInput) { in.Password = "" }), "password", "Password is required."},
			{"long password", up(func(in *models.CredentialInput) { in.Password = strings.Repeat("p", 1025) }), "password", "Password must be at most 1024 characters."},
			{"no key", ssh(func(in *models.CredentialInput) { in.PrivateKey = "" }), "private_key", "Private key is required."},
			{"bad key", ssh(func(in *models.CredentialInput) {
				in.PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n-----END OPENSSH PRIVATE KEY-----\n"
			}), "private_key", "Private key must be an SSH private key in OpenSSH or PEM format."},
			{"not a key", ssh(func(in *models.CredentialInput) { in.PrivateKey = "hello" }), "private_key", "Private key must be an SSH private key in OpenSSH or PEM format."},
			{"key without its passphrase", ssh(func(in *models.CredentialInput) { in.PrivateKey = encKey }), "passphrase", "This key is protected by a passphrase: enter it."},
			{"wrong passphrase", ssh(func(in *models.CredentialInput) { in.PrivateKey, in.Passphrase = encKey, "wrong" }), "passphrase", "The passphrase does not open this key."},
			{"ssh no username", ssh(func(in *models.CredentialInput) { in.Username = "" }), "username", "Username is required."},
			{"no json", js(""), "json", "JSON object is required."},
			{"json array", js(`[1,2]`), "json", notObject},
			{"json string", js(`"x"`), "json", notObject},
			{"json null", js(`null`), "json", notObject},
			{"json number", js(`42`), "json", notObject},
			{"json two objects", js(`{} {}`), "json", notObject},
			{"json broken", js(`{"a":`), "json", notObject},
		}
		for _, tc := range cases {
			_, err := store.CreateCredential(ctx, admin, cs.ID, tc.in)
			if got := models.FieldErrors(err)[tc.field]; got != tc.want {
				t.Errorf("%s: %s = %q, want %q (err %v)", tc.name, tc.field, got, tc.want, err)
			}
		}
		if n := count(t, store, "credentials", ""); n != 0 {
			t.Fatalf("bad input wrote %d credentials", n)
		}
		c, err := store.CreateCredential(ctx, admin, cs.ID, up(func(*models.CredentialInput) {}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateCredential(ctx, admin, cs.ID, up(func(in *models.CredentialInput) { in.Name = "C" })); models.FieldErrors(err)["name"] == "" {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, err := store.UpdateCredential(ctx, admin, c.ID, c.Version, models.CredentialInput{Name: "c", Username: ""}); models.FieldErrors(err)["username"] == "" {
			t.Fatalf("edit without username: %v", err)
		}
		// Cross-project credential sources are refused, by Go and by the database.
		q := project(t, store, admin, "Acme", "Other")
		tg, _ := store.CreateTarget(ctx, admin, q.ID, tcp("t", 22, "10.0.0.1"))
		if err := store.AddTargetCredentialSources(ctx, admin, tg.ID, []string{c.ID}); models.FieldErrors(err)["credential_ids"] == "" {
			t.Fatalf("cross-project credential: %v", err)
		}
		if err := store.AddTargetCredentialSources(ctx, admin, tg.ID, nil); models.FieldErrors(err)["credential_ids"] == "" {
			t.Fatalf("no credential: %v", err)
		}
		if err := store.DB().Exec("INSERT INTO target_credential_sources (target_id, credential_id, scope_id, purpose, created_at) VALUES (?, ?, ?, 'brokered', ?)",
			tg.ID, c.ID, q.ID, store.Now()).Error; err == nil {
			t.Fatal("database accepted a credential of another project")
		}
		if err := store.DB().Exec("UPDATE credentials SET type = 'kerberos' WHERE id = ?", c.ID).Error; err == nil {
			t.Fatal("database accepted an unknown credential type")
		}
	})
}

func TestRewrapCredentialSecrets(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			oldKey, newKey := make([]byte, 32), make([]byte, 32)
			newKey[0] = 1
			oldC, _ := models.NewCrypter(oldKey)
			store := dbtest.Open(t, d, models.Options{Crypter: oldC})
			admin := dbtest.Admin(t, store)
			p := project(t, store, admin, "Acme", "Prod")
			cs, _ := store.CreateCredentialStore(ctx, admin, p.ID, models.CredentialStoreInput{Name: "s"})
			c, err := store.CreateCredential(ctx, admin, cs.ID, models.CredentialInput{Type: models.CredentialUsernamePassword, Name: "c", Username: "u", Password: "rotate-me"})
			if err != nil {
				t.Fatal(err)
			}
			tg, _ := store.CreateTarget(ctx, admin, p.ID, tcp("t", 22, "10.0.0.1"))
			if err := store.AddTargetCredentialSources(ctx, admin, tg.ID, []string{c.ID}); err != nil {
				t.Fatal(err)
			}
			// Rotation: the new key is current, the old one still accepted.
			both, _ := models.NewCrypter(newKey, oldKey)
			rotating := models.NewStore(store.DB(), store.Dialect(), models.Options{Crypter: both})
			if n, err := rotating.RewrapCredentialSecrets(ctx); err != nil || n != 1 {
				t.Fatalf("rewrap = %d, %v", n, err)
			}
			if n, _ := rotating.RewrapCredentialSecrets(ctx); n != 0 {
				t.Fatalf("second rewrap changed %d", n)
			}
			// The old key can go now.
			newOnly, _ := models.NewCrypter(newKey)
			after := models.NewStore(store.DB(), store.Dialect(), models.Options{Crypter: newOnly})
			creds, err := after.BrokeredCredentials(ctx, admin, tg.ID)
			if err != nil || len(creds) != 1 || creds[0].Secret.Password != "rotate-me" {
				t.Fatalf("after rotation = %+v, %v", creds, err)
			}
		})
	}
}
