package models_test

import (
	"regexp"
	"testing"
	"time"

	"gatehouse/models"
)

func TestNewOrderedIDSortsByTime(t *testing.T) {
	shape := regexp.MustCompile(`^msg_[0-9A-Za-z]{20}$`)
	seen := map[string]bool{}
	prev := models.NewOrderedID("msg")
	for range 5 {
		time.Sleep(2 * time.Millisecond)
		id := models.NewOrderedID("msg")
		if !shape.MatchString(id) {
			t.Fatalf("id %q: not msg_ and 20 base62 characters", id)
		}
		if id <= prev {
			t.Fatalf("id %q made after %q sorts before it", id, prev)
		}
		prev = id
	}
	// The same millisecond: still unique (the random part).
	for range 1000 {
		id := models.NewOrderedID("msg")
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
	}
}
