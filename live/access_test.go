package live

import (
	"testing"

	"gatehouse/models"
)

// TestAccessChanges: access changes wake the approvers' (AccessAll) and the
// requester's (AccessUserID) subscriptions only; session changes never wake
// them, nor access changes a session subscription; a notification from
// this instance itself is skipped.
func TestAccessChanges(t *testing.T) {
	b := New()
	all := b.Subscribe(Filter{AccessAll: true})
	bob := b.Subscribe(Filter{AccessUserID: "u_bob"})
	carol := b.Subscribe(Filter{AccessUserID: "u_carol"})
	sessions := b.Subscribe(Filter{All: true})
	woken := func(s *Subscription) bool {
		select {
		case <-s.C:
			return true
		default:
			return false
		}
	}
	b.AccessChanged([]models.AccessChange{{RequestID: "ar_1", UserID: "u_bob"}})
	if !woken(all) || !woken(bob) || woken(carol) || woken(sessions) {
		t.Fatal("an access change woke the wrong subscriptions")
	}
	b.SessionsChanged([]models.SessionChange{{SessionID: "s_1", UserID: "u_bob"}})
	if woken(all) || woken(bob) || !woken(sessions) {
		t.Fatal("a session change woke an access subscription")
	}
	payload := models.EncodeSessionChanges("other", []models.SessionChange{{SessionID: "ar_2", UserID: "u_carol"}})[0]
	b.AccessFromNotification("self", payload)
	if !woken(carol) || !woken(all) || woken(bob) {
		t.Fatal("another instance's access change did not arrive")
	}
	b.AccessFromNotification("other", payload)
	if woken(carol) {
		t.Fatal("this instance's own notification was delivered twice")
	}
}
