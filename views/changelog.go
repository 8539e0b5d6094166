package views

import (
	"slices"
	"strings"

	"gatehouse/models"
)

// actorLabel names who made a change: the user's name, or "anonymous" for
// a refused login, or "system" for background work.
func actorLabel(e *models.ChangeEvent) string {
	switch {
	case e.ActorName != "":
		return e.ActorName
	case e.ActorID != "":
		return e.ActorID
	case e.Action == models.ChangeLoginRefused:
		return "anonymous"
	}
	return "system"
}

// webhookEventGroup is a titled set of subscribable event types.
type webhookEventGroup struct {
	title string
	types []string
}

// webhookEventGroups lists the event types of the webhook form.
func webhookEventGroups() []webhookEventGroup {
	var sessions, access []string
	for _, t := range models.WebhookEventTypes {
		if strings.HasPrefix(t, "session.") {
			sessions = append(sessions, t)
		} else {
			access = append(access, t)
		}
	}
	changes := []string{"change.*"}
	for _, t := range models.ChangeLogResourceTypes {
		changes = append(changes, "change."+t)
	}
	return []webhookEventGroup{
		{"Sessions", append([]string{"session.*"}, sessions...)},
		{"Access requests", append([]string{"access.*"}, access...)},
		{"Change log (by resource type)", changes},
	}
}

// hasWord reports whether the space-separated list holds w.
func hasWord(list, w string) bool { return slices.Contains(strings.Fields(list), w) }

// deliveryBadge is the badge class of a delivery state.
func deliveryBadge(state string) string {
	switch state {
	case "delivered":
		return "badge-ok"
	case "failed":
		return "badge-danger"
	}
	return "badge-pending"
}

// deliveryExcerpt is the last attempt's error or response excerpt.
func deliveryExcerpt(d *models.WebhookDelivery) string {
	s := d.LastError
	if s == "" {
		s = d.LastResponse
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
