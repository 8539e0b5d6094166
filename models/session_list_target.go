package models

import "context"

// MySessionsOnTarget lists the actor's own latest sessions on one target
// (newest first, at most limit), for the target's page. Errors:
// ErrUnauthenticated.
func (s *Store) MySessionsOnTarget(ctx context.Context, a Actor, targetID string, limit int) ([]SessionItem, error) {
	if !a.Authenticated() {
		return nil, ErrUnauthenticated
	}
	page, err := s.listSessions(ctx, a, "s.user_id = ? AND s.target_id = ?", []any{a.UserID, targetID},
		SessionFilter{Sort: "-started", ListOptions: ListOptions{PerPage: limit}.norm()})
	return page.Items, err
}

// Manageable reports whether the target's reader may change it (edit,
// delete, or change its sources): its page is then the administrator's.
func (t *TargetDetail) Manageable() bool {
	for _, act := range []Action{ActionUpdate, ActionDelete, ActionAddHostSources, ActionRemoveHostSources,
		ActionAddCredentialSources, ActionRemoveCredentialSources} {
		if t.Actions[act] {
			return true
		}
	}
	return false
}
