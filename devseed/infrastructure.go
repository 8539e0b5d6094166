package devseed

import (
	"context"
	"fmt"
	"strings"

	"gatehouse/models"
)

// Dev seed names (issue 4): what `gatehouse dev` shows on a first run.
const (
	// EchoPort is the port of the dev echo service (worker.ServeEcho, run by
	// `gatehouse dev`) and of the seeded target echo.
	EchoPort = 9201

	devOrgName     = "Dev org"
	devProjectName = "Dev project"
	devCatalogName = "Dev catalog"
	devHostName    = "localhost"
	devHostSetName = "Local hosts"
	devEchoTarget  = "echo"
	devPGTarget    = "postgres-local"
)

// infrastructure makes the dev org and project with a static catalog
// holding 127.0.0.1 in a host set, and the targets echo (direct address,
// port 9201) and postgres-local (the host set, port 5432). It finds what an
// earlier run made by name, so it is idempotent across restarts. It returns
// the dev project's id.
func infrastructure(ctx context.Context, store *models.Store, admin models.Actor) (string, error) {
	org, err := findOrCreate(func(o models.ListOptions) ([]models.ScopeItem, error) {
		p, err := store.ListScopes(ctx, admin, models.GlobalScopeID, o)
		return p.Items, err
	}, func(s models.ScopeItem) (string, string) { return s.Name, s.ID }, devOrgName, func() (string, error) {
		sc, err := store.CreateScope(ctx, admin, models.GlobalScopeID, models.ScopeInput{Name: devOrgName, Description: "Seeded by gatehouse dev"})
		return id(sc, err)
	})
	if err != nil {
		return "", fmt.Errorf("dev org: %w", err)
	}
	proj, err := findOrCreate(func(o models.ListOptions) ([]models.ScopeItem, error) {
		p, err := store.ListScopes(ctx, admin, org, o)
		return p.Items, err
	}, func(s models.ScopeItem) (string, string) { return s.Name, s.ID }, devProjectName, func() (string, error) {
		sc, err := store.CreateScope(ctx, admin, org, models.ScopeInput{Name: devProjectName, Description: "Seeded by gatehouse dev"})
		return id(sc, err)
	})
	if err != nil {
		return "", fmt.Errorf("dev project: %w", err)
	}
	catalog, err := findOrCreate(func(o models.ListOptions) ([]models.HostCatalogItem, error) {
		p, err := store.ListHostCatalogs(ctx, admin, proj, o)
		return p.Items, err
	}, func(c models.HostCatalogItem) (string, string) { return c.Name, c.ID }, devCatalogName, func() (string, error) {
		c, err := store.CreateHostCatalog(ctx, admin, proj, models.HostCatalogInput{Name: devCatalogName, Description: "This machine"})
		return id(c, err)
	})
	if err != nil {
		return "", fmt.Errorf("dev catalog: %w", err)
	}
	host, err := findOrCreate(func(o models.ListOptions) ([]models.HostItem, error) {
		p, err := store.ListHosts(ctx, admin, catalog, o)
		return p.Items, err
	}, func(h models.HostItem) (string, string) { return h.Name, h.ID }, devHostName, func() (string, error) {
		h, err := store.CreateHost(ctx, admin, catalog, models.HostInput{Name: devHostName, Address: "127.0.0.1"})
		return id(h, err)
	})
	if err != nil {
		return "", fmt.Errorf("dev host: %w", err)
	}
	set, err := findOrCreate(func(o models.ListOptions) ([]models.HostSetItem, error) {
		p, err := store.ListHostSets(ctx, admin, catalog, o)
		return p.Items, err
	}, func(h models.HostSetItem) (string, string) { return h.Name, h.ID }, devHostSetName, func() (string, error) {
		hs, err := store.CreateHostSet(ctx, admin, catalog, models.HostSetInput{Name: devHostSetName}, []string{host})
		return id(hs, err)
	})
	if err != nil {
		return "", fmt.Errorf("dev host set: %w", err)
	}
	listTargets := func(o models.ListOptions) ([]models.TargetItem, error) {
		p, err := store.ListTargets(ctx, admin, proj, o)
		return p.Items, err
	}
	targetName := func(t models.TargetItem) (string, string) { return t.Name, t.ID }
	if _, err := findOrCreate(listTargets, targetName, devEchoTarget, func() (string, error) {
		t, err := store.CreateTarget(ctx, admin, proj, models.TargetInput{Name: devEchoTarget, Description: "The dev echo service",
			DefaultPort: EchoPort, Address: "127.0.0.1", SessionMaxSeconds: models.DefaultSessionMaxSeconds,
			SessionConnectionLimit: models.UnlimitedConnections})
		return id(t, err)
	}); err != nil {
		return "", fmt.Errorf("dev target %s: %w", devEchoTarget, err)
	}
	if _, err := findOrCreate(listTargets, targetName, devPGTarget, func() (string, error) {
		t, err := store.CreateTarget(ctx, admin, proj, models.TargetInput{Name: devPGTarget, Description: "A Postgres on this machine",
			DefaultPort: 5432, SessionMaxSeconds: 3600, SessionConnectionLimit: models.UnlimitedConnections})
		if err != nil {
			return "", err
		}
		return t.ID, store.AddTargetHostSources(ctx, admin, t.ID, []string{set})
	}); err != nil {
		return "", fmt.Errorf("dev target %s: %w", devPGTarget, err)
	}
	return proj, nil
}

// findOrCreate returns the id of the listed item named name (exact, case
// insensitive), creating it when there is none.
func findOrCreate[T any](list func(models.ListOptions) ([]T, error), nameID func(T) (string, string), name string, create func() (string, error)) (string, error) {
	items, err := list(models.ListOptions{Search: name, PerPage: 200})
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if n, id := nameID(it); strings.EqualFold(n, name) {
			return id, nil
		}
	}
	return create()
}

type hasID interface {
	*models.Scope | *models.HostCatalog | *models.Host | *models.HostSet | *models.Target
}

func id[P hasID](v P, err error) (string, error) {
	if err != nil {
		return "", err
	}
	switch x := any(v).(type) {
	case *models.Scope:
		return x.ID, nil
	case *models.HostCatalog:
		return x.ID, nil
	case *models.Host:
		return x.ID, nil
	case *models.HostSet:
		return x.ID, nil
	case *models.Target:
		return x.ID, nil
	}
	return "", fmt.Errorf("no id")
}
