package api

import (
	"context"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// hostCatalogJSON is a static host catalog.
type hostCatalogJSON struct {
	meta
	ScopeID      string `json:"scope_id"`
	Type         string `json:"type"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	HostCount    int64  `json:"host_count"`
	HostSetCount int64  `json:"host_set_count"`
}

func hostCatalogOf(it *models.HostCatalogItem) hostCatalogJSON {
	return hostCatalogJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Type: it.Type,
		Name: it.Name, Description: it.Description, HostCount: it.Hosts, HostSetCount: it.HostSets}
}

// hostJSON is a host.
type hostJSON struct {
	meta
	CatalogID   string `json:"catalog_id"`
	ScopeID     string `json:"scope_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Address     string `json:"address"`
}

func hostOf(it *models.HostItem) hostJSON {
	return hostJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), CatalogID: it.CatalogID, ScopeID: it.ScopeID,
		Name: it.Name, Description: it.Description, Address: it.Address}
}

type hostBody struct {
	CatalogID   string `json:"catalog_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Address     string `json:"address"`
}

// hostSetJSON is a host set with its hosts.
type hostSetJSON struct {
	meta
	CatalogID   string        `json:"catalog_id"`
	ScopeID     string        `json:"scope_id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	HostCount   int64         `json:"host_count"`
	Hosts       []principalJS `json:"hosts,omitempty"`
}

func hostSetOf(it *models.HostSetItem) hostSetJSON {
	out := hostSetJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), CatalogID: it.CatalogID, ScopeID: it.ScopeID,
		Name: it.Name, Description: it.Description, HostCount: it.Members}
	if it.Hosts != nil {
		out.Hosts = []principalJS{}
		for _, h := range it.Hosts {
			out.Hosts = append(out.Hosts, principalJS{ID: h.ID, Type: "host", Name: h.Name})
		}
	}
	return out
}

type hostSetBody struct {
	CatalogID   string   `json:"catalog_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	HostIDs     []string `json:"host_ids"`
}

// targetJSON is a tcp target with its host and credential sources.
type targetJSON struct {
	meta
	ScopeID                string         `json:"scope_id"`
	Type                   string         `json:"type"`
	Name                   string         `json:"name"`
	Description            string         `json:"description"`
	DefaultPort            int            `json:"default_port"`
	Address                *string        `json:"address"`
	SessionMaxSeconds      int            `json:"session_max_seconds"`
	SessionConnectionLimit int            `json:"session_connection_limit"`
	HostSourceCount        int64          `json:"host_source_count"`
	CredentialSourceCount  int64          `json:"credential_source_count"`
	HostSources            []namedRefJSON `json:"host_sources,omitempty"`
	CredentialSources      []namedRefJSON `json:"credential_sources,omitempty"`
	// LibrarySources are the attached credential libraries (on reads).
	LibrarySources []namedRefJSON `json:"library_sources,omitempty"`
}

func targetItemOf(it models.TargetItem) targetJSON {
	t := it.Target
	return targetJSON{meta: metaOf(t.ID, t.CreatedAt, t.UpdatedAt, t.Version, it.Actions), ScopeID: t.ScopeID, Type: t.Type, Name: t.Name,
		Description: t.Description, DefaultPort: t.DefaultPort, Address: t.Address, SessionMaxSeconds: t.SessionMaxSeconds,
		SessionConnectionLimit: t.SessionConnectionLimit, HostSourceCount: it.HostSources, CredentialSourceCount: it.CredentialSources}
}

func targetOf(d *models.TargetDetail) targetJSON {
	out := targetItemOf(models.TargetItem{Target: d.Target, HostSources: int64(len(d.HostSources)),
		CredentialSources: int64(len(d.CredentialSources)), Actions: d.Actions})
	out.HostSources, out.CredentialSources = []namedRefJSON{}, []namedRefJSON{}
	for _, h := range d.HostSources {
		out.HostSources = append(out.HostSources, namedRefJSON{ID: h.HostSetID, Name: h.HostSetName})
	}
	for _, c := range d.CredentialSources {
		out.CredentialSources = append(out.CredentialSources, namedRefJSON{ID: c.CredentialID, Name: c.CredentialName, Type: c.CredentialType})
	}
	out.LibrarySources = []namedRefJSON{}
	for _, l := range d.LibrarySources {
		out.LibrarySources = append(out.LibrarySources, namedRefJSON{ID: l.LibraryID, Name: l.LibraryName, Type: l.LibraryType})
	}
	return out
}

type targetBody struct {
	ScopeID                string  `json:"scope_id"`
	Name                   string  `json:"name"`
	Description            string  `json:"description"`
	DefaultPort            int     `json:"default_port"`
	Address                *string `json:"address"`
	SessionMaxSeconds      int     `json:"session_max_seconds"`
	SessionConnectionLimit int     `json:"session_connection_limit"`
}

func (b targetBody) input() models.TargetInput {
	in := models.TargetInput{Name: b.Name, Description: b.Description, DefaultPort: b.DefaultPort,
		SessionMaxSeconds: b.SessionMaxSeconds, SessionConnectionLimit: b.SessionConnectionLimit}
	if b.Address != nil {
		in.Address = *b.Address
	}
	return in
}

// credentialStoreJSON is a static credential store.
type credentialStoreJSON struct {
	meta
	ScopeID         string `json:"scope_id"`
	Type            string `json:"type"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	CredentialCount int64  `json:"credential_count"`
}

func credentialStoreOf(it *models.CredentialStoreItem) credentialStoreJSON {
	return credentialStoreJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Type: it.Type,
		Name: it.Name, Description: it.Description, CredentialCount: it.Credentials}
}

// staticCredentialJSON is a static credential (secrets are write-only).
type staticCredentialJSON struct {
	meta
	StoreID     string `json:"store_id"`
	ScopeID     string `json:"scope_id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Username    string `json:"username"`
	Fingerprint string `json:"fingerprint"`
}

func staticCredentialOf(it *models.CredentialItem) staticCredentialJSON {
	return staticCredentialJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), StoreID: it.StoreID,
		ScopeID: it.ScopeID, Type: it.Type, Name: it.Name, Description: it.Description, Username: it.Username, Fingerprint: it.Fingerprint}
}

type credentialBody struct {
	StoreID     string `json:"store_id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	PrivateKey  string `json:"private_key"`
	Passphrase  string `json:"passphrase"`
	JSON        string `json:"json"`
}

func (b credentialBody) input() models.CredentialInput {
	return models.CredentialInput{Type: b.Type, Name: b.Name, Description: b.Description, Username: b.Username, Password: b.Password,
		PrivateKey: b.PrivateKey, Passphrase: b.Passphrase, JSON: b.JSON}
}

// infraResources are host catalogs, hosts, host sets, targets, credential
// stores, credentials and credential libraries.
func (s *Server) infraResources(r chi.Router) {
	st := s.store
	catalogsCreate, catalogsUpdate := namedWrites(st.CreateHostCatalog, func(x *models.HostCatalog) string { return x.ID }, st.UpdateHostCatalog)
	catalogs := resource{path: "/host-catalogs", parent: "scope_id",
		list:   listWith(st.ListHostCatalogs, func(it models.HostCatalogItem) hostCatalogJSON { return hostCatalogOf(&it) }),
		get:    getWith(st.GetHostCatalog, hostCatalogOf, func(it *models.HostCatalogItem) int { return it.Version }),
		create: catalogsCreate, update: catalogsUpdate, del: st.DeleteHostCatalog, patchable: checkPatch[nameBody]}
	s.mount(r, catalogs)

	hosts := resource{path: "/hosts", parent: "catalog_id",
		list: listWith(st.ListHosts, func(it models.HostItem) hostJSON { return hostOf(&it) }),
		get:  getWith(st.GetHost, hostOf, func(it *models.HostItem) int { return it.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b hostBody) (string, error) {
			h, err := st.CreateHost(ctx, a, b.CatalogID, models.HostInput{Name: b.Name, Description: b.Description, Address: b.Address})
			return id(h, err, func(h *models.Host) string { return h.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b hostBody) error {
			_, err := st.UpdateHost(ctx, a, id, v, models.HostInput{Name: b.Name, Description: b.Description, Address: b.Address})
			return err
		}),
		del: st.DeleteHost, patchable: checkPatch[hostBody]}
	s.mount(r, hosts)

	sets := resource{path: "/host-sets", parent: "catalog_id",
		list: listWith(st.ListHostSets, func(it models.HostSetItem) hostSetJSON { return hostSetOf(&it) }),
		get:  getWith(st.GetHostSet, hostSetOf, func(it *models.HostSetItem) int { return it.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b hostSetBody) (string, error) {
			h, err := st.CreateHostSet(ctx, a, b.CatalogID, models.HostSetInput{Name: b.Name, Description: b.Description}, b.HostIDs)
			return id(h, err, func(h *models.HostSet) string { return h.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b nameBody) error {
			_, err := st.UpdateHostSet(ctx, a, id, v, models.HostSetInput{Name: b.Name, Description: b.Description})
			return err
		}),
		del: st.DeleteHostSet, patchable: checkPatch[nameBody]}
	s.mount(r, sets)
	s.members(r, sets, "hosts", st.AddHostSetMembers, st.RemoveHostSetMember)

	targets := resource{path: "/targets", parent: "scope_id",
		list: listWith(st.ListTargets, targetItemOf),
		get:  getWith(st.GetTarget, targetOf, func(d *models.TargetDetail) int { return d.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b targetBody) (string, error) {
			t, err := st.CreateTarget(ctx, a, b.ScopeID, b.input())
			return id(t, err, func(t *models.Target) string { return t.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b targetBody) error {
			_, err := st.UpdateTarget(ctx, a, id, v, b.input())
			return err
		}),
		del: st.DeleteTarget, patchable: checkPatch[targetBody]}
	s.mount(r, targets)
	s.members(r, targets, "host-sources", st.AddTargetHostSources, st.RemoveTargetHostSource)
	s.members(r, targets, "credential-sources", st.AddTargetCredentialSources, st.RemoveTargetCredentialSource)

	storesCreate, storesUpdate := namedWrites(st.CreateCredentialStore, func(x *models.CredentialStore) string { return x.ID }, st.UpdateCredentialStore)
	stores := resource{path: "/credential-stores", parent: "scope_id",
		list:   listWith(st.ListCredentialStores, func(it models.CredentialStoreItem) credentialStoreJSON { return credentialStoreOf(&it) }),
		get:    getWith(st.GetCredentialStore, credentialStoreOf, func(it *models.CredentialStoreItem) int { return it.Version }),
		create: storesCreate, update: storesUpdate, del: st.DeleteCredentialStore, patchable: checkPatch[nameBody]}
	s.mount(r, stores)

	creds := resource{path: "/credentials", parent: "store_id",
		list: listWith(st.ListCredentials, func(it models.CredentialItem) staticCredentialJSON { return staticCredentialOf(&it) }),
		get:  getWith(st.GetCredential, staticCredentialOf, func(it *models.CredentialItem) int { return it.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b credentialBody) (string, error) {
			c, err := st.CreateCredential(ctx, a, b.StoreID, b.input())
			return id(c, err, func(c *models.Credential) string { return c.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b credentialBody) error {
			_, err := st.UpdateCredential(ctx, a, id, v, b.input())
			return err
		}),
		del: st.DeleteCredential, patchable: checkPatch[credentialBody]}
	s.mount(r, creds)
	s.libraryResources(r, targets)
}

func (s *Server) adminRoutes(r chi.Router) {
	s.iamResources(r)
	s.infraResources(r)
}
