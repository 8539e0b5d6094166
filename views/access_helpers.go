package views

import (
	"context"
	"strconv"
	"time"

	"gatehouse/models"
)

// clockText is a time of day people read at a glance ("14:30 UTC"), with
// the date when it is not today.
func clockText(t time.Time) string {
	t = t.UTC()
	if y, m, d := t.Date(); y == time.Now().UTC().Year() && m == time.Now().UTC().Month() && d == time.Now().UTC().Day() {
		return t.Format("15:04 UTC")
	}
	return t.Format("Jan 2 15:04 UTC")
}

func secondsDuration(n int) time.Duration { return time.Duration(n) * time.Second }

// extendChoice is one Extend button.
type extendChoice struct{ Value, Label string }

// extendChoices are the Extend buttons that fit in what is left: +15 min,
// +30 min, +1 h, +2 h, +4 h, then the rest when it is not one of them.
func extendChoices(left time.Duration) []extendChoice {
	var out []extendChoice
	for _, d := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour} {
		if d <= left {
			out = append(out, extendChoice{Value: d.String(), Label: models.DurationText(d)})
		}
	}
	if left >= time.Minute && (len(out) == 0 || out[len(out)-1].Value != left.String()) {
		out = append(out, extendChoice{Value: left.Truncate(time.Minute).String(), Label: models.DurationText(left) + " (all that is left)"})
	}
	return out
}

// accessEventText says what an access event did, in people's words.
func accessEventText(e models.AccessEvent) string {
	span := func() string {
		if e.FromAt == nil || e.ToAt == nil {
			return ""
		}
		return e.FromAt.UTC().Format("15:04") + " → " + e.ToAt.UTC().Format("15:04 UTC")
	}
	switch e.Kind {
	case "requested":
		if e.RequestKind == models.RequestKindExtension {
			return e.UserName + " asked to extend a session by " + models.DurationText(secondsDuration(e.DurationSeconds)) + ": " + e.Reason
		}
		return e.UserName + " asked for " + models.DurationText(secondsDuration(e.DurationSeconds)) + ": " + e.Reason
	case "approved", "denied":
		return e.Kind + " by " + e.ActorName
	case "granted":
		return "access " + span()
	case "revoked":
		return "access revoked by " + e.ActorName
	case "grant-ended":
		return "access ended"
	case "session-started":
		return "session started, until " + e.ToAt.UTC().Format("15:04 UTC")
	case "extended", "shortened":
		return "expiration " + span() + " by " + e.ActorName
	case "expired":
		return "nobody decided in time"
	case "canceled":
		return "withdrawn by " + e.UserName
	}
	return e.Kind
}

// AccessSettingsForm fills the settings form from saved settings.
func AccessSettingsForm(st *models.TargetAccessSettings) Form {
	f := Form{Values: map[string]string{
		"request_max":        shortDuration(st.RequestMaxSeconds),
		"approvals_required": strconv.Itoa(st.ApprovalsRequired),
		"request_ttl":        shortDuration(st.RequestTTLSeconds),
		"extension_max":      shortDuration(st.ExtensionMaxSeconds),
		"version":            strconv.Itoa(st.Version),
	}}
	if st.ExtensionNeedsApproval {
		f.Values["extension_needs_approval"] = "on"
	}
	return f
}

// shortDuration writes seconds as the form reads them back ("1h30m", "0").
func shortDuration(n int) string {
	if n == 0 {
		return "0"
	}
	s := (time.Duration(n) * time.Second).String()
	for _, suf := range []string{"m0s", "h0m"} {
		if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
			s = s[:len(s)-len(suf)+1]
		}
	}
	return s
}

// sessionFormKey keys a refused Extend or Shorten form in a context.
type sessionFormKey struct{ action string }

// WithSessionForm returns ctx carrying the refused form of a session action
// ("extend" or "shorten"): the session page rendered with it shows the form
// with its messages next to the fields, where the person clicked.
func WithSessionForm(ctx context.Context, action string, f Form) context.Context {
	return context.WithValue(ctx, sessionFormKey{action}, f)
}

// sessionForm is the refused form of action carried by ctx, else an empty
// one.
func sessionForm(ctx context.Context, action string) Form {
	f, _ := ctx.Value(sessionFormKey{action}).(Form)
	return f
}

// accessEventWords are the plain words for each kind of access event
// (models.AccessEventKinds), as people read them in the history.
var accessEventWords = map[string]string{
	"requested": "requested", "approved": "approved", "denied": "denied", "expired": "expired undecided",
	"canceled": "canceled", "granted": "access granted", "revoked": "access revoked", "grant-ended": "access ended",
	"session-started": "session started", "extended": "session extended", "shortened": "session shortened",
}

// accessKindText is the plain words for an access event kind.
func accessKindText(kind string) string {
	if w, ok := accessEventWords[kind]; ok {
		return w
	}
	return kind
}
