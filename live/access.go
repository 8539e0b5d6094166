package live

import (
	"slices"

	"gatehouse/models"
)

func (f Filter) matchesAccess(c models.AccessChange) bool {
	return f.AccessAll || (f.AccessUserID != "" && f.AccessUserID == c.UserID)
}

// AccessChanged wakes every subscription watching access requests that one
// of the changes concerns. It never blocks (models.AccessNotifier).
func (b *Broker) AccessChanged(changes []models.AccessChange) {
	b.wake(func(f Filter) bool { return slices.ContainsFunc(changes, f.matchesAccess) })
}

// AccessFromNotification hands an access notification payload of another
// instance (models.AccessNotifyChannel) to the broker; this instance's own
// (self) are skipped, they were delivered in-process.
func (b *Broker) AccessFromNotification(self, payload string) {
	if from, changes := models.DecodeAccessChanges(payload); from != self && len(changes) > 0 {
		b.AccessChanged(changes)
	}
}
