package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// meta is what every admin item carries.
type meta struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
	Actions   []string  `json:"actions"`
}

func metaOf(id string, created, updated time.Time, version int, actions map[models.Action]bool) meta {
	return meta{ID: id, CreatedAt: created, UpdatedAt: updated, Version: version, Actions: actionsOf(actions)}
}

// nameBody is the body of resources that have only a name and description.
type nameBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// scopeJSON is a scope.
type scopeJSON struct {
	meta
	Type        string  `json:"type"`
	ParentID    *string `json:"parent_id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Children    int64   `json:"children"`
}

func scopeOf(it *models.ScopeItem) scopeJSON {
	return scopeJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), Type: it.Type, ParentID: it.ParentID,
		Name: it.Name, Description: it.Description, Children: it.Children}
}

type scopeCreate struct {
	ParentID    string `json:"parent_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// userJSON is a user.
type userJSON struct {
	meta
	ScopeID     string        `json:"scope_id"`
	Name        string        `json:"name"`
	FullName    string        `json:"full_name"`
	Email       string        `json:"email"`
	Description string        `json:"description"`
	LoginName   string        `json:"login_name"`
	Accounts    []accountJSON `json:"accounts,omitempty"`
}

// accountJSON is one of a user's accounts.
type accountJSON struct {
	ID           string  `json:"id"`
	AuthMethodID string  `json:"auth_method_id"`
	MethodName   string  `json:"auth_method_name"`
	MethodType   string  `json:"auth_method_type"`
	LoginName    *string `json:"login_name"`
	Issuer       *string `json:"issuer"`
	Subject      *string `json:"subject"`
	FullName     string  `json:"full_name"`
	Email        string  `json:"email"`
	// Version is the account's ETag value, for a conditional
	// DELETE /accounts/{id} (If-Match: "<version>").
	Version int `json:"version"`
}

func userItemOf(it models.UserItem) userJSON {
	return userJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Name: it.Name,
		FullName: it.FullName, Email: it.Email, Description: it.Description, LoginName: it.LoginNames}
}

func userOf(d *models.UserDetail) userJSON {
	u := userJSON{meta: metaOf(d.ID, d.CreatedAt, d.UpdatedAt, d.Version, d.Actions), ScopeID: d.ScopeID, Name: d.Name,
		FullName: d.FullName, Email: d.Email, Description: d.Description, Accounts: []accountJSON{}}
	for _, ac := range d.Accounts {
		u.Accounts = append(u.Accounts, accountJSON{ID: ac.ID, AuthMethodID: ac.AuthMethodID, MethodName: ac.MethodName, MethodType: ac.MethodType,
			LoginName: ac.LoginName, Issuer: ac.Issuer, Subject: ac.Subject, FullName: ac.FullName, Email: ac.Email, Version: ac.Version})
		if ac.LoginName != nil && ac.MethodType == models.AuthMethodPassword && ac.AuthMethodID != "" && u.LoginName == "" {
			u.LoginName = *ac.LoginName
		}
	}
	return u
}

// userBody is the user form: a password account is made or changed when
// login_name and password are given (password is write-only).
type userBody struct {
	ScopeID     string `json:"scope_id"`
	Name        string `json:"name"`
	FullName    string `json:"full_name"`
	Email       string `json:"email"`
	Description string `json:"description"`
	LoginName   string `json:"login_name"`
	Password    string `json:"password"`
}

func (b userBody) input() models.UserInput {
	return models.UserInput{Name: b.Name, FullName: b.FullName, Email: b.Email, Description: b.Description, LoginName: b.LoginName, Password: b.Password}
}

// groupJSON is a group.
type groupJSON struct {
	meta
	ScopeID     string        `json:"scope_id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	MemberCount int64         `json:"member_count"`
	Members     []principalJS `json:"members,omitempty"`
}

type principalJS struct {
	ID   string `json:"id"`
	Type string `json:"type,omitempty"`
	Name string `json:"name"`
}

func groupItemOf(it models.GroupItem) groupJSON {
	return groupJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Name: it.Name,
		Description: it.Description, MemberCount: it.Members}
}

func groupOf(d *models.GroupDetail) groupJSON {
	g := groupJSON{meta: metaOf(d.ID, d.CreatedAt, d.UpdatedAt, d.Version, d.Actions), ScopeID: d.ScopeID, Name: d.Name,
		Description: d.Description, MemberCount: int64(len(d.Members)), Members: []principalJS{}}
	for _, m := range d.Members {
		g.Members = append(g.Members, principalJS{ID: m.ID, Type: "user", Name: m.Name})
	}
	return g
}

type scopedNameBody struct {
	ScopeID     string `json:"scope_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// roleJSON is a role with its grants, grant scopes and principals.
type roleJSON struct {
	meta
	ScopeID        string        `json:"scope_id"`
	Name           string        `json:"name"`
	Description    string        `json:"description"`
	PrincipalCount int64         `json:"principal_count"`
	GrantCount     int64         `json:"grant_count"`
	Grants         []string      `json:"grants,omitempty"`
	GrantScopes    []string      `json:"grant_scopes,omitempty"`
	Principals     []principalJS `json:"principals,omitempty"`
}

func roleItemOf(it models.RoleItem) roleJSON {
	return roleJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Name: it.Name,
		Description: it.Description, PrincipalCount: it.Principals, GrantCount: it.Grants}
}

func roleOf(d *models.RoleDetail) roleJSON {
	r := roleJSON{meta: metaOf(d.ID, d.CreatedAt, d.UpdatedAt, d.Version, d.Actions), ScopeID: d.ScopeID, Name: d.Name,
		Description: d.Description, PrincipalCount: int64(len(d.Principals)), GrantCount: int64(len(d.Grants)),
		Grants: nonNil(d.Grants), GrantScopes: nonNil(d.GrantScopes), Principals: []principalJS{}}
	for _, p := range d.Principals {
		r.Principals = append(r.Principals, principalJS{ID: p.ID, Type: p.Type, Name: p.Name})
	}
	return r
}

// authMethodJSON is an auth method; OIDC settings are present for OIDC
// methods read one at a time (the client secret never is).
type authMethodJSON struct {
	meta
	ScopeID           string   `json:"scope_id"`
	Type              string   `json:"type"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	State             string   `json:"state"`
	IsPrimary         bool     `json:"is_primary"`
	Issuer            string   `json:"issuer,omitempty"`
	ClientID          string   `json:"client_id,omitempty"`
	HasClientSecret   bool     `json:"has_client_secret,omitempty"`
	ClaimsScopes      []string `json:"claims_scopes,omitempty"`
	AllowedAudiences  []string `json:"allowed_audiences,omitempty"`
	SigningAlgorithms []string `json:"signing_algorithms,omitempty"`
	MaxAge            *int     `json:"max_age,omitempty"`
	Prompts           []string `json:"prompts,omitempty"`
	NameClaim         string   `json:"name_claim,omitempty"`
	EmailClaim        string   `json:"email_claim,omitempty"`
}

func authMethodItemOf(it models.AuthMethodItem) authMethodJSON {
	return authMethodJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), ScopeID: it.ScopeID, Type: it.Type,
		Name: it.Name, Description: it.Description, State: it.State, IsPrimary: it.IsPrimary, Issuer: it.Issuer}
}

func oidcMethodOf(m *models.OIDCMethod) authMethodJSON {
	out := authMethodJSON{meta: metaOf(m.ID, m.CreatedAt, m.UpdatedAt, m.Version, m.Actions), ScopeID: m.ScopeID, Type: m.Type,
		Name: m.Name, Description: m.Description, State: m.State, IsPrimary: m.IsPrimary, Issuer: m.Issuer, ClientID: m.ClientID,
		HasClientSecret: m.HasClientSecret, ClaimsScopes: m.ClaimsScopes, AllowedAudiences: m.AllowedAudiences,
		SigningAlgorithms: m.SigningAlgorithms, Prompts: m.Prompts, NameClaim: m.NameClaim, EmailClaim: m.EmailClaim}
	if m.MaxAge >= 0 {
		ma := m.MaxAge
		out.MaxAge = &ma
	}
	return out
}

// oidcBody is an OIDC auth method's settings (client_secret write-only;
// empty on update keeps the current one).
type oidcBody struct {
	ScopeID           string   `json:"scope_id"`
	Type              string   `json:"type"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Issuer            string   `json:"issuer"`
	ClientID          string   `json:"client_id"`
	ClientSecret      string   `json:"client_secret"`
	ClaimsScopes      []string `json:"claims_scopes"`
	AllowedAudiences  []string `json:"allowed_audiences"`
	SigningAlgorithms []string `json:"signing_algorithms"`
	MaxAge            *int     `json:"max_age"`
	Prompts           []string `json:"prompts"`
	NameClaim         string   `json:"name_claim"`
	EmailClaim        string   `json:"email_claim"`
	IsPrimary         bool     `json:"is_primary"`
}

func (b oidcBody) input() models.OIDCMethodInput {
	in := models.OIDCMethodInput{Name: b.Name, Description: b.Description, Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret,
		ClaimsScopes: strings.Join(b.ClaimsScopes, " "), AllowedAudiences: strings.Join(b.AllowedAudiences, " "),
		SigningAlgorithms: strings.Join(b.SigningAlgorithms, " "), Prompts: strings.Join(b.Prompts, " "),
		NameClaim: b.NameClaim, EmailClaim: b.EmailClaim, Primary: b.IsPrimary}
	if b.MaxAge != nil {
		in.MaxAge = strconv.Itoa(*b.MaxAge)
	}
	return in
}

// managedGroupJSON is a managed group of an OIDC auth method.
type managedGroupJSON struct {
	meta
	AuthMethodID string        `json:"auth_method_id"`
	ScopeID      string        `json:"scope_id"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Filter       string        `json:"filter"`
	MemberCount  int64         `json:"member_count"`
	Members      []principalJS `json:"members,omitempty"`
}

func managedGroupItemOf(it models.ManagedGroupItem) managedGroupJSON {
	return managedGroupJSON{meta: metaOf(it.ID, it.CreatedAt, it.UpdatedAt, it.Version, it.Actions), AuthMethodID: it.AuthMethodID,
		ScopeID: it.ScopeID, Name: it.Name, Description: it.Description, Filter: it.Filter, MemberCount: it.Members}
}

func managedGroupOf(d *models.ManagedGroupDetail) managedGroupJSON {
	g := managedGroupItemOf(d.ManagedGroupItem)
	g.Members = []principalJS{}
	for _, m := range d.MemberList {
		g.Members = append(g.Members, principalJS{ID: m.AccountID, Type: "account", Name: m.UserName})
	}
	return g
}

type managedGroupBody struct {
	AuthMethodID string `json:"auth_method_id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Filter       string `json:"filter"`
}

func id[T any](t *T, err error, idOf func(*T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return idOf(t), nil
}

// iamResources are scopes, users, groups, roles, auth methods and managed
// groups.
func (s *Server) iamResources(r chi.Router) {
	st := s.store
	scopes := resource{path: "/scopes", parent: "parent_id", parentDefault: models.GlobalScopeID,
		list: listWith(st.ListScopes, func(it models.ScopeItem) scopeJSON { return scopeOf(&it) }),
		get:  getWith(st.GetScope, scopeOf, func(it *models.ScopeItem) int { return it.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b scopeCreate) (string, error) {
			sc, err := st.CreateScope(ctx, a, b.ParentID, models.ScopeInput{Name: b.Name, Description: b.Description})
			return id(sc, err, func(s *models.Scope) string { return s.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b nameBody) error {
			_, err := st.UpdateScope(ctx, a, id, v, models.ScopeInput{Name: b.Name, Description: b.Description})
			return err
		}),
		del: st.DeleteScope, patchable: checkPatch[nameBody]}
	s.mount(r, scopes)

	users := resource{path: "/users", parent: "scope_id", parentDefault: models.GlobalScopeID,
		list: listWith(st.ListUsers, userItemOf),
		get:  getWith(st.GetUser, userOf, func(d *models.UserDetail) int { return d.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b userBody) (string, error) {
			u, err := st.CreateUser(ctx, a, b.ScopeID, b.input())
			return id(u, err, func(u *models.User) string { return u.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b userBody) error {
			_, err := st.UpdateUser(ctx, a, id, v, b.input())
			return err
		}),
		del: st.DeleteUser, patchable: checkPatch[userBody]}
	s.mount(r, users)
	r.Delete("/accounts/{id}", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		ctx, err := deleteIfMatch(r, chi.URLParam(r, "id"))
		if err != nil {
			return err
		}
		if err := st.DeleteAccount(ctx, actorFrom(ctx), chi.URLParam(r, "id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))

	groupsCreate, groupsUpdate := namedWrites(st.CreateGroup, func(x *models.Group) string { return x.ID }, st.UpdateGroup)
	groups := resource{path: "/groups", parent: "scope_id", parentDefault: models.GlobalScopeID,
		list:   listWith(st.ListGroups, groupItemOf),
		get:    getWith(st.GetGroup, groupOf, func(d *models.GroupDetail) int { return d.Version }),
		create: groupsCreate, update: groupsUpdate, del: st.DeleteGroup, patchable: checkPatch[nameBody]}
	s.mount(r, groups)
	s.members(r, groups, "members", st.AddGroupMembers, func(ctx context.Context, a models.Actor, id, m string) error {
		return st.RemoveGroupMembers(ctx, a, id, []string{m})
	})

	rolesCreate, rolesUpdate := namedWrites(st.CreateRole, func(x *models.Role) string { return x.ID }, st.UpdateRole)
	roles := resource{path: "/roles", parent: "scope_id", parentDefault: models.GlobalScopeID,
		list:   listWith(st.ListRoles, roleItemOf),
		get:    getWith(st.GetRole, roleOf, func(d *models.RoleDetail) int { return d.Version }),
		create: rolesCreate, update: rolesUpdate, del: st.DeleteRole, patchable: checkPatch[nameBody]}
	s.mount(r, roles)
	s.members(r, roles, "principals", st.AddRolePrincipals, func(ctx context.Context, a models.Actor, id, m string) error {
		return st.RemoveRolePrincipals(ctx, a, id, []string{m})
	})
	s.setList(r, roles, "grants", "grants", st.SetRoleGrants)
	s.setList(r, roles, "grant-scopes", "grant_scopes", st.SetRoleGrantScopes)

	methods := resource{path: "/auth-methods", parent: "scope_id", parentDefault: models.GlobalScopeID,
		list: listWith(st.ListAuthMethods, authMethodItemOf),
		get:  getWith(st.GetOIDCMethod, oidcMethodOf, func(m *models.OIDCMethod) int { return m.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b oidcBody) (string, error) {
			if b.Type != "oidc" {
				return "", &models.ValidationError{Fields: map[string]string{"type": "Only oidc auth methods are made here; each scope's password method is made with its first password user."}}
			}
			m, err := st.CreateOIDCMethod(ctx, a, b.ScopeID, b.input())
			return id(m, err, func(m *models.OIDCMethod) string { return m.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b oidcBody) error {
			b.ClientSecret = strings.TrimSpace(b.ClientSecret)
			_, err := st.UpdateOIDCMethod(ctx, a, id, v, b.input())
			return err
		}),
		del: st.DeleteAuthMethod, patchable: checkPatch[oidcBody]}
	s.mount(r, methods)
	r.Post("/auth-methods/{id}/state", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		v, err := ifMatch(r)
		if err != nil {
			return err
		}
		var in struct {
			State string `json:"state"`
		}
		if err := decode(r, &in); err != nil {
			return err
		}
		if err := st.ChangeAuthMethodState(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), v, in.State); err != nil {
			return err
		}
		return s.writeItem(w, r, methods, chi.URLParam(r, "id"), http.StatusOK)
	}))

	mgs := resource{path: "/managed-groups", parent: "auth_method_id",
		list: listWith(st.ListManagedGroups, managedGroupItemOf),
		get:  getWith(st.GetManagedGroup, managedGroupOf, func(d *models.ManagedGroupDetail) int { return d.Version }),
		create: createWith(func(ctx context.Context, a models.Actor, b managedGroupBody) (string, error) {
			g, err := st.CreateManagedGroup(ctx, a, b.AuthMethodID, models.ManagedGroupInput{Name: b.Name, Description: b.Description, Filter: b.Filter})
			return id(g, err, func(g *models.ManagedGroup) string { return g.ID })
		}),
		update: updateWith(func(ctx context.Context, a models.Actor, id string, v int, b managedGroupBody) error {
			return st.UpdateManagedGroup(ctx, a, id, v, models.ManagedGroupInput{Name: b.Name, Description: b.Description, Filter: b.Filter})
		}),
		del: st.DeleteManagedGroup, patchable: checkPatch[managedGroupBody]}
	s.mount(r, mgs)
}

// setList registers PUT {path}/{id}/{sub} replacing a list member of the
// item (If-Match required), answering the item.
func (s *Server) setList(r chi.Router, res resource, sub, member string,
	set func(ctx context.Context, a models.Actor, id string, version int, list []string) error) {
	r.Put(res.path+"/{id}/"+sub, s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		v, err := ifMatch(r)
		if err != nil {
			return err
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		var in map[string][]string
		if in, err = strict[map[string][]string](body); err != nil {
			return err
		}
		list, ok := in[member]
		if !ok || len(in) != 1 {
			return badRequest(member, "Send {\""+member+"\": [...]}.")
		}
		if err := set(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), v, list); err != nil {
			return err
		}
		return s.writeItem(w, r, res, chi.URLParam(r, "id"), http.StatusOK)
	}))
}
