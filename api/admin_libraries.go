package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// credentialLibraryJSON is a credential library: a Postgres role library
// or an SSH certificate library, with the settings of its type (the other
// type's members are absent). Its secret (the Postgres password, the SSH
// CA's private key) is write-only or never leaves Gatehouse.
type credentialLibraryJSON struct {
	meta
	StoreID     string `json:"store_id"`
	ScopeID     string `json:"scope_id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`

	URL                  *string  `json:"url,omitempty"`
	UsernameTemplate     *string  `json:"username_template,omitempty"`
	GrantRoles           []string `json:"grant_roles,omitempty"`
	CreationStatements   *string  `json:"creation_statements,omitempty"`
	RevocationStatements *string  `json:"revocation_statements,omitempty"`

	PrincipalsTemplate *string  `json:"principals_template,omitempty"`
	Extensions         []string `json:"extensions,omitempty"`
	ClockSkewSeconds   *int     `json:"clock_skew_seconds,omitempty"`
	CAPublicKey        *string  `json:"ca_public_key,omitempty"`
	CAPublicKeyURL     *string  `json:"ca_public_key_url,omitempty"`
	KRLURL             *string  `json:"krl_url,omitempty"`
	SSHDConfig         *string  `json:"sshd_config,omitempty"`
}

func (s *Server) credentialLibraryOf(it *models.CredentialLibraryItem) credentialLibraryJSON {
	out := credentialLibraryJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), StoreID: it.StoreID,
		ScopeID: it.ScopeID, Type: it.Type, Name: it.Name, Description: it.Description}
	set := it.Decoded()
	switch it.Type {
	case models.LibraryPostgres:
		out.URL, out.UsernameTemplate = &set.URL, &set.UsernameTemplate
		out.CreationStatements, out.RevocationStatements = &set.CreationStatements, &set.RevocationStatements
		out.GrantRoles = set.GrantRoles
	case models.LibrarySSHCert:
		out.PrincipalsTemplate, out.Extensions, out.ClockSkewSeconds = &set.PrincipalsTemplate, set.Extensions, &set.ClockSkewSeconds
		key := strings.TrimSpace(it.PublicKey)
		keyURL := s.cfg.ExternalURL + "/credential-libraries/" + it.ID + "/ca.pub"
		krlURL := s.cfg.ExternalURL + "/credential-libraries/" + it.ID + "/krl"
		lines := models.SSHDConfigLines(it.ID)
		out.CAPublicKey, out.CAPublicKeyURL, out.KRLURL, out.SSHDConfig = &key, &keyURL, &krlURL, &lines
	}
	return out
}

// credentialLibraryBody creates (every member but the other type's) or
// updates a library. On create, absent templates, statements and
// extensions take the defaults of the web form.
type credentialLibraryBody struct {
	StoreID              string   `json:"store_id"`
	Type                 string   `json:"type"`
	Name                 string   `json:"name"`
	Description          string   `json:"description"`
	URL                  string   `json:"url"`
	Password             string   `json:"password"`
	UsernameTemplate     *string  `json:"username_template"`
	GrantRoles           []string `json:"grant_roles"`
	CreationStatements   *string  `json:"creation_statements"`
	RevocationStatements *string  `json:"revocation_statements"`
	PrincipalsTemplate   *string  `json:"principals_template"`
	Extensions           []string `json:"extensions"`
	ClockSkewSeconds     *int     `json:"clock_skew_seconds"`
}

// input converts the body; creating starts from a new library's defaults
// (models.NewLibraryInput), so what the body leaves out keeps them.
func (b credentialLibraryBody) input(creating bool) models.CredentialLibraryInput {
	var in models.CredentialLibraryInput
	if creating {
		in = models.NewLibraryInput(b.Type)
	}
	in.Type, in.Name, in.Description, in.URL, in.Password = b.Type, b.Name, b.Description, b.URL, b.Password
	in.GrantRoles = strings.Join(b.GrantRoles, ",")
	set := func(dst, p *string) {
		if p != nil {
			*dst = *p
		}
	}
	set(&in.UsernameTemplate, b.UsernameTemplate)
	set(&in.CreationStatements, b.CreationStatements)
	set(&in.RevocationStatements, b.RevocationStatements)
	set(&in.PrincipalsTemplate, b.PrincipalsTemplate)
	if b.Extensions != nil {
		in.Extensions = b.Extensions
	}
	if b.ClockSkewSeconds != nil {
		in.ClockSkewSeconds = strconv.Itoa(*b.ClockSkewSeconds)
	}
	return in
}

// libraryTestJSON is the result of testing a Postgres library's connection.
type libraryTestJSON struct {
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
}

// libraryResources are credential libraries, their connection test, and
// the libraries a target brokers (its library sources).
func (s *Server) libraryResources(r chi.Router, targets resource) {
	st := s.store
	libs := resource{path: "/credential-libraries", parent: "store_id",
		list: listWith(st.ListCredentialLibraries, func(it models.CredentialLibraryItem) credentialLibraryJSON { return s.credentialLibraryOf(&it) }),
		get:  getWith(st.GetCredentialLibrary, s.credentialLibraryOf, func(it *models.CredentialLibraryItem) int { return it.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b credentialLibraryBody) (string, error) {
			l, err := st.CreateCredentialLibrary(ctx, a, b.StoreID, b.input(true))
			return id(l, err, func(l *models.CredentialLibrary) string { return l.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b credentialLibraryBody) error {
			_, err := st.UpdateCredentialLibrary(ctx, a, id, v, b.input(false))
			return err
		}),
		del: st.DeleteCredentialLibrary, patchable: checkLibraryPatch}
	s.mount(r, libs)
	r.Post(libs.path+"/{id}/test", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		problem, err := st.TestCredentialLibrary(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, libraryTestJSON{OK: problem == "", Problem: problem})
	}))
	s.members(r, targets, "library-sources", st.AddTargetLibrarySources, st.RemoveTargetLibrarySource)
}

// checkLibraryPatch checks a library PATCH: the body's members and types;
// store_id and type never change.
func checkLibraryPatch(body []byte) error {
	b, err := strict[map[string]any](body)
	if err != nil {
		return err
	}
	for _, k := range []string{"store_id", "type"} {
		if _, ok := b[k]; ok {
			return badRequest(k, k+" cannot be changed: make a new library.")
		}
	}
	return checkPatch[credentialLibraryBody](body)
}
