// Package devseed fills a fresh `gatehouse dev` database with something to
// try: the built-in OpenID provider and its auth method, a dev org and
// project with a catalog, hosts and targets, and a role for the provider's
// SRE group. It acts only through the Store's use cases, as the bootstrap
// administrator, and is idempotent across restarts.
package devseed

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"gatehouse/models"
)

// AdminLoginName is the login name of the bootstrap administrator the seeds
// act as.
const AdminLoginName = "admin"

// Seed runs every dev seed: the provider (mounted at <ext>/dev-idp in
// mounts), the infrastructure and the SRE group's access.
func Seed(ctx context.Context, store *models.Store, ext *url.URL, mounts map[string]http.Handler, logger *slog.Logger) error {
	admin, err := store.SeedActor(ctx, AdminLoginName)
	if err != nil {
		return fmt.Errorf("find the dev administrator: %w", err)
	}
	methodID, err := provider(ctx, store, ext, mounts, logger)
	if err != nil {
		return err
	}
	projectID, err := infrastructure(ctx, store, admin)
	if err != nil {
		return err
	}
	return access(ctx, store, admin, projectID, methodID)
}
