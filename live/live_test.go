package live

import (
	"testing"

	"gatehouse/models"
)

func TestBroker(t *testing.T) {
	b := New()
	one := b.Subscribe(Filter{SessionID: "s_1"})
	user := b.Subscribe(Filter{UserID: "u_1"})
	all := b.Subscribe(Filter{All: true})
	b.SessionsChanged([]models.SessionChange{{SessionID: "s_2", UserID: "u_2"}})
	b.SessionsChanged([]models.SessionChange{{SessionID: "s_3", UserID: "u_2"}}) // coalesces
	woken := func(s *Subscription) bool {
		select {
		case <-s.C:
			return true
		default:
			return false
		}
	}
	if woken(one) || woken(user) || !woken(all) || woken(all) {
		t.Fatal("only the all-sessions subscription must wake, once")
	}
	b.SessionsChanged([]models.SessionChange{{SessionID: "s_1", UserID: "u_1"}})
	if !woken(one) || !woken(user) || !woken(all) {
		t.Fatal("every matching subscription must wake")
	}
	one.Close()
	one.Close()
	if b.Subscribers() != 2 {
		t.Fatalf("subscribers = %d", b.Subscribers())
	}
	b.Close()
	if _, ok := <-user.C; ok {
		t.Fatal("closing the broker must close subscriptions")
	}
	late := b.Subscribe(Filter{All: true})
	if _, ok := <-late.C; ok {
		t.Fatal("a closed broker hands out closed subscriptions")
	}
}
