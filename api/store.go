package api

import (
	"context"

	"gatehouse/models"
)

// Store is every use case the API calls (models.Store implements it). The
// Store authorizes each call; the API only translates.
type Store interface {
	ActorByAPIToken(ctx context.Context, token string) (models.Actor, *models.APIToken, error)
	PasswordAPIToken(ctx context.Context, in models.PasswordLogin, name string) (*models.NewAPIToken, error)
	ExchangeCLILoginCode(ctx context.Context, code, verifier, redirectURI string) (*models.NewAPIToken, error)
	RevokeOwnAPIToken(ctx context.Context, a models.Actor, token string) error
	ListAPITokens(ctx context.Context, a models.Actor) ([]models.APIToken, error)
	RevokeAPIToken(ctx context.Context, a models.Actor, id string) error
	PublicAuthMethods(ctx context.Context) ([]models.LoginOption, error)

	ListMyTargets(ctx context.Context, a models.Actor, opt models.MyTargetsOptions) (models.MyTargetsPage, error)
	TargetForSession(ctx context.Context, a models.Actor, id string) (*models.SessionTarget, error)
	StartSession(ctx context.Context, a models.Actor, in models.StartSessionInput) (*models.StartedSession, error)
	GetSession(ctx context.Context, a models.Actor, id string) (*models.SessionDetail, error)
	CancelSession(ctx context.Context, a models.Actor, id string) (*models.Session, error)
	SignSessionSSHKey(ctx context.Context, a models.Actor, sessionID, publicKey string) ([]models.IssuedCredential, error)
	RetryRevocation(ctx context.Context, a models.Actor, sessionID, credentialID string) error
	ListSessions(ctx context.Context, a models.Actor, f models.SessionFilter) (models.Page[models.SessionItem], error)
	HistorySessions(ctx context.Context, a models.Actor, req models.HistoryPageRequest) (*models.HistoryPage, error)
	ExportHistory(ctx context.Context, a models.Actor, f models.HistoryFilter, emit func(*models.HistoryRow) error) error

	ListScopes(ctx context.Context, a models.Actor, parentID string, opt models.ListOptions) (models.Page[models.ScopeItem], error)
	GetScope(ctx context.Context, a models.Actor, id string) (*models.ScopeItem, error)
	CreateScope(ctx context.Context, a models.Actor, parentID string, in models.ScopeInput) (*models.Scope, error)
	UpdateScope(ctx context.Context, a models.Actor, id string, version int, in models.ScopeInput) (*models.Scope, error)
	DeleteScope(ctx context.Context, a models.Actor, id string) error

	ListUsers(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.UserItem], error)
	GetUser(ctx context.Context, a models.Actor, id string) (*models.UserDetail, error)
	CreateUser(ctx context.Context, a models.Actor, scopeID string, in models.UserInput) (*models.User, error)
	UpdateUser(ctx context.Context, a models.Actor, id string, version int, in models.UserInput) (*models.User, error)
	DeleteUser(ctx context.Context, a models.Actor, id string) error
	DeleteAccount(ctx context.Context, a models.Actor, accountID string) error

	ListGroups(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.GroupItem], error)
	GetGroup(ctx context.Context, a models.Actor, id string) (*models.GroupDetail, error)
	CreateGroup(ctx context.Context, a models.Actor, scopeID string, in models.GroupInput) (*models.Group, error)
	UpdateGroup(ctx context.Context, a models.Actor, id string, version int, in models.GroupInput) (*models.Group, error)
	DeleteGroup(ctx context.Context, a models.Actor, id string) error
	AddGroupMembers(ctx context.Context, a models.Actor, id string, userIDs []string) error
	RemoveGroupMembers(ctx context.Context, a models.Actor, id string, userIDs []string) error

	ListRoles(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.RoleItem], error)
	GetRole(ctx context.Context, a models.Actor, id string) (*models.RoleDetail, error)
	CreateRole(ctx context.Context, a models.Actor, scopeID string, in models.RoleInput) (*models.Role, error)
	UpdateRole(ctx context.Context, a models.Actor, id string, version int, in models.RoleInput) (*models.Role, error)
	DeleteRole(ctx context.Context, a models.Actor, id string) error
	SetRoleGrants(ctx context.Context, a models.Actor, id string, version int, lines []string) error
	SetRoleGrantScopes(ctx context.Context, a models.Actor, id string, version int, grantScopes []string) error
	AddRolePrincipals(ctx context.Context, a models.Actor, roleID string, ids []string) error
	RemoveRolePrincipals(ctx context.Context, a models.Actor, roleID string, ids []string) error

	ListAuthMethods(ctx context.Context, a models.Actor, scopeID string, opt models.ListOptions) (models.Page[models.AuthMethodItem], error)
	GetOIDCMethod(ctx context.Context, a models.Actor, id string) (*models.OIDCMethod, error)
	CreateOIDCMethod(ctx context.Context, a models.Actor, scopeID string, in models.OIDCMethodInput) (*models.OIDCMethod, error)
	UpdateOIDCMethod(ctx context.Context, a models.Actor, id string, version int, in models.OIDCMethodInput) (*models.OIDCMethod, error)
	ChangeAuthMethodState(ctx context.Context, a models.Actor, id string, version int, state string) error
	DeleteAuthMethod(ctx context.Context, a models.Actor, id string) error

	ListManagedGroups(ctx context.Context, a models.Actor, methodID string, opt models.ListOptions) (models.Page[models.ManagedGroupItem], error)
	GetManagedGroup(ctx context.Context, a models.Actor, id string) (*models.ManagedGroupDetail, error)
	CreateManagedGroup(ctx context.Context, a models.Actor, methodID string, in models.ManagedGroupInput) (*models.ManagedGroup, error)
	UpdateManagedGroup(ctx context.Context, a models.Actor, id string, version int, in models.ManagedGroupInput) error
	DeleteManagedGroup(ctx context.Context, a models.Actor, id string) error

	ListHostCatalogs(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.HostCatalogItem], error)
	GetHostCatalog(ctx context.Context, a models.Actor, id string) (*models.HostCatalogItem, error)
	CreateHostCatalog(ctx context.Context, a models.Actor, projectID string, in models.HostCatalogInput) (*models.HostCatalog, error)
	UpdateHostCatalog(ctx context.Context, a models.Actor, id string, version int, in models.HostCatalogInput) (*models.HostCatalog, error)
	DeleteHostCatalog(ctx context.Context, a models.Actor, id string) error

	ListHosts(ctx context.Context, a models.Actor, catalogID string, opt models.ListOptions) (models.Page[models.HostItem], error)
	GetHost(ctx context.Context, a models.Actor, id string) (*models.HostItem, error)
	CreateHost(ctx context.Context, a models.Actor, catalogID string, in models.HostInput) (*models.Host, error)
	UpdateHost(ctx context.Context, a models.Actor, id string, version int, in models.HostInput) (*models.Host, error)
	DeleteHost(ctx context.Context, a models.Actor, id string) error

	ListHostSets(ctx context.Context, a models.Actor, catalogID string, opt models.ListOptions) (models.Page[models.HostSetItem], error)
	GetHostSet(ctx context.Context, a models.Actor, id string) (*models.HostSetItem, error)
	CreateHostSet(ctx context.Context, a models.Actor, catalogID string, in models.HostSetInput, hostIDs []string) (*models.HostSet, error)
	UpdateHostSet(ctx context.Context, a models.Actor, id string, version int, in models.HostSetInput) (*models.HostSet, error)
	DeleteHostSet(ctx context.Context, a models.Actor, id string) error
	AddHostSetMembers(ctx context.Context, a models.Actor, hostSetID string, hostIDs []string) error
	RemoveHostSetMember(ctx context.Context, a models.Actor, hostSetID, hostID string) error

	ListTargets(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.TargetItem], error)
	GetTarget(ctx context.Context, a models.Actor, id string) (*models.TargetDetail, error)
	CreateTarget(ctx context.Context, a models.Actor, projectID string, in models.TargetInput) (*models.Target, error)
	UpdateTarget(ctx context.Context, a models.Actor, id string, version int, in models.TargetInput) (*models.Target, error)
	DeleteTarget(ctx context.Context, a models.Actor, id string) error
	AddTargetHostSources(ctx context.Context, a models.Actor, targetID string, hostSetIDs []string) error
	RemoveTargetHostSource(ctx context.Context, a models.Actor, targetID, hostSetID string) error
	AddTargetCredentialSources(ctx context.Context, a models.Actor, targetID string, credentialIDs []string) error
	RemoveTargetCredentialSource(ctx context.Context, a models.Actor, targetID, credentialID string) error

	ListCredentialStores(ctx context.Context, a models.Actor, projectID string, opt models.ListOptions) (models.Page[models.CredentialStoreItem], error)
	GetCredentialStore(ctx context.Context, a models.Actor, id string) (*models.CredentialStoreItem, error)
	CreateCredentialStore(ctx context.Context, a models.Actor, projectID string, in models.CredentialStoreInput) (*models.CredentialStore, error)
	UpdateCredentialStore(ctx context.Context, a models.Actor, id string, version int, in models.CredentialStoreInput) (*models.CredentialStore, error)
	DeleteCredentialStore(ctx context.Context, a models.Actor, id string) error

	ListCredentials(ctx context.Context, a models.Actor, storeID string, opt models.ListOptions) (models.Page[models.CredentialItem], error)
	GetCredential(ctx context.Context, a models.Actor, id string) (*models.CredentialItem, error)
	CreateCredential(ctx context.Context, a models.Actor, storeID string, in models.CredentialInput) (*models.Credential, error)
	UpdateCredential(ctx context.Context, a models.Actor, id string, version int, in models.CredentialInput) (*models.Credential, error)
	DeleteCredential(ctx context.Context, a models.Actor, id string) error

	ListCredentialLibraries(ctx context.Context, a models.Actor, storeID string, opt models.ListOptions) (models.Page[models.CredentialLibraryItem], error)
	GetCredentialLibrary(ctx context.Context, a models.Actor, id string) (*models.CredentialLibraryItem, error)
	CreateCredentialLibrary(ctx context.Context, a models.Actor, storeID string, in models.CredentialLibraryInput) (*models.CredentialLibrary, error)
	UpdateCredentialLibrary(ctx context.Context, a models.Actor, id string, version int, in models.CredentialLibraryInput) (*models.CredentialLibrary, error)
	DeleteCredentialLibrary(ctx context.Context, a models.Actor, id string) error
	TestCredentialLibrary(ctx context.Context, a models.Actor, id string) (string, error)
	AddTargetLibrarySources(ctx context.Context, a models.Actor, targetID string, libraryIDs []string) error
	RemoveTargetLibrarySource(ctx context.Context, a models.Actor, targetID, libraryID string) error
}

var _ Store = (*models.Store)(nil)
