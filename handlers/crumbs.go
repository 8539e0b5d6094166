package handlers

import (
	"context"

	"gatehouse/models"
	"gatehouse/views"
)

// PathStore gives the scope path for breadcrumbs (no authorization gate)
// and the create checks for "New …" buttons and forms.
type PathStore interface {
	ScopePath(ctx context.Context, a models.Actor, id string) ([]models.Scope, error)
	AuthorizeCreate(ctx context.Context, a models.Actor, resourceType, scopeID string) error
	ProjectSections(ctx context.Context, a models.Actor, projectID string) models.ProjectSections
	MayCreate(ctx context.Context, a models.Actor, resourceType, scopeID, parentID string) bool
}

// crumbs builds breadcrumbs from label/href pairs.
func crumbs(pairs ...string) []views.Crumb {
	out := make([]views.Crumb, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, views.Crumb{Label: pairs[i], Href: pairs[i+1]})
	}
	return out
}
