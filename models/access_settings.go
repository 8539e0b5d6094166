package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Access actions on targets (issue 15): request-access lets a person ask
// for time-boxed authorize-session on a target; approve-access lets a
// person decide those requests, revoke the grants they made and change the
// target's access settings' decisions. Both are given through roles like
// any other action.
const (
	ActionRequestAccess Action = "request-access"
	ActionApproveAccess Action = "approve-access"
)

// Id prefixes of access requests and the grants approvals make.
const (
	PrefixAccessRequest = "ar"
	PrefixAccessGrant   = "ag"
	PrefixAccessEvent   = "ae"
)

// Bounds of the access settings (the migration's CHECKs say the same).
const (
	accessMinSeconds = 60
	accessMaxSeconds = 30 * 24 * 3600
)

// TargetAccessSettings are a target's just-in-time access settings. A
// target without a row has DefaultAccessSettings.
type TargetAccessSettings struct {
	TargetID string
	// RequestMaxSeconds is the longest access a request may ask for.
	RequestMaxSeconds int
	// ApprovalsRequired is 1 or 2 (two different approvers).
	ApprovalsRequired int
	// RequestTTLSeconds: a request nobody decides expires this long after
	// it was made.
	RequestTTLSeconds int
	// ExtensionMaxSeconds is how much a session may be extended in total
	// (0: never).
	ExtensionMaxSeconds int
	// ExtensionNeedsApproval makes every extension a request.
	ExtensionNeedsApproval bool
	UpdatedAt              time.Time
	Version                int
}

// TableName is the settings table.
func (TargetAccessSettings) TableName() string { return "target_access_settings" }

// DefaultAccessSettings are the settings of a target nobody configured:
// requests up to 8 hours, one approval, undecided requests expire after a
// day, sessions are never extended.
func DefaultAccessSettings(targetID string) TargetAccessSettings {
	return TargetAccessSettings{TargetID: targetID, RequestMaxSeconds: 8 * 3600, ApprovalsRequired: 1, RequestTTLSeconds: 24 * 3600}
}

// AccessSettingsInput is the settings form: durations as people write them
// ("1h", "90m", "45" minutes; "0" for no extension).
type AccessSettingsInput struct {
	RequestMax             string
	ApprovalsRequired      string
	RequestTTL             string
	ExtensionMax           string
	ExtensionNeedsApproval bool
	Version                int
}

// accessSettings returns the target's settings (the defaults when unset).
func (s *Store) accessSettings(ctx context.Context, targetID string) (TargetAccessSettings, error) {
	var st TargetAccessSettings
	err := s.q(ctx).Where("target_id = ?", targetID).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return DefaultAccessSettings(targetID), nil
	}
	if err != nil {
		return st, fmt.Errorf("access settings of %s: %w", targetID, err)
	}
	return st, nil
}

// TargetAccessSettings returns a target's access settings to someone who
// may read the target. Errors: ErrUnauthenticated, ErrNotFound.
func (s *Store) TargetAccessSettings(ctx context.Context, a Actor, targetID string) (*TargetAccessSettings, error) {
	if _, err := s.readTarget(ctx, a, targetID); err != nil {
		return nil, err
	}
	st, err := s.accessSettings(ctx, targetID)
	return &st, err
}

// UpdateTargetAccessSettings saves a target's access settings; it needs
// update on the target. Sessions already running keep the extension
// settings they started with. Errors: ErrUnauthenticated, ErrNotFound,
// ErrForbidden, ErrInvalid (fields request_max, approvals_required,
// request_ttl, extension_max), ErrConflict (changed meanwhile).
func (s *Store) UpdateTargetAccessSettings(ctx context.Context, a Actor, targetID string, in AccessSettingsInput) (*TargetAccessSettings, error) {
	var out TargetAccessSettings
	// The change log shows the settings as the target's access_* values.
	err := s.changeTx(ctx, a, ChangeUpdateAccessSettings, "target", targetID, func(tx *Store) error {
		t, err := tx.lockTarget(ctx, a, targetID)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, targetResource(t)); err != nil {
			return err
		}
		cur, err := tx.accessSettings(ctx, targetID)
		if err != nil {
			return err
		}
		if in.Version != cur.Version {
			return stale("update access settings of " + targetID)
		}
		v := validator{}
		out = cur
		out.RequestMaxSeconds = v.seconds("request_max", "Longest access", in.RequestMax, accessMinSeconds, accessMaxSeconds)
		out.RequestTTLSeconds = v.seconds("request_ttl", "Requests expire after", in.RequestTTL, accessMinSeconds, accessMaxSeconds)
		out.ExtensionMaxSeconds = v.seconds("extension_max", "Total extension", in.ExtensionMax, 0, accessMaxSeconds)
		switch strings.TrimSpace(in.ApprovalsRequired) {
		case "1", "":
			out.ApprovalsRequired = 1
		case "2":
			out.ApprovalsRequired = 2
		default:
			v.add("approvals_required", "Choose one or two approvals.")
		}
		out.ExtensionNeedsApproval = in.ExtensionNeedsApproval
		if err := v.err(); err != nil {
			return err
		}
		out.UpdatedAt, out.Version = tx.now(), cur.Version+1
		if cur.Version == 0 {
			return tx.q(ctx).Create(&out).Error
		}
		res := tx.q(ctx).Model(&TargetAccessSettings{}).Where("target_id = ? AND version = ?", targetID, cur.Version).
			Updates(map[string]any{"request_max_seconds": out.RequestMaxSeconds, "approvals_required": out.ApprovalsRequired,
				"request_ttl_seconds": out.RequestTTLSeconds, "extension_max_seconds": out.ExtensionMaxSeconds,
				"extension_needs_approval": out.ExtensionNeedsApproval, "updated_at": out.UpdatedAt, "version": out.Version})
		if res.Error != nil {
			return fmt.Errorf("save access settings: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return stale("update access settings of " + targetID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update access settings of %s: %w", targetID, err)
	}
	return &out, nil
}

// ChangeUpdateAccessSettings is the change-log action of
// UpdateTargetAccessSettings (on the target).
const ChangeUpdateAccessSettings Action = "update-access-settings"

// accessSettingsSnapshotSQL reads a target's access settings for its
// change-log values (the defaults when it has none), as access_* columns.
var accessSettingsSnapshotSQL = func() string {
	d := DefaultAccessSettings("")
	return fmt.Sprintf(`SELECT COALESCE(s.request_max_seconds, %d) AS access_request_max_seconds,
		COALESCE(s.approvals_required, %d) AS access_approvals_required,
		COALESCE(s.request_ttl_seconds, %d) AS access_request_ttl_seconds,
		COALESCE(s.extension_max_seconds, %d) AS access_extension_max_seconds,
		COALESCE(s.extension_needs_approval, %t) AS access_extension_needs_approval
		FROM targets t LEFT JOIN target_access_settings s ON s.target_id = t.id WHERE t.id = ?`,
		d.RequestMaxSeconds, d.ApprovalsRequired, d.RequestTTLSeconds, d.ExtensionMaxSeconds, d.ExtensionNeedsApproval)
}()

// ParseDurationText reads a duration as people type it: Go's form ("1h30m",
// "90m", "2h"), or a whole number of minutes ("45"). ok is false for
// anything else, and for negative durations.
func ParseDurationText(s string) (time.Duration, bool) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Minute, true
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "in"), "ins") // "15min", "15mins"
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// seconds checks a duration field and returns it in whole seconds.
func (v validator) seconds(field, label, value string, minSec, maxSec int) int {
	d, ok := ParseDurationText(value)
	switch {
	case !ok:
		v.add(field, label+": enter a duration such as 30m, 1h or 1h30m.")
	case int(d.Seconds()) < minSec:
		v.add(field, fmt.Sprintf("%s must be at least %s.", label, DurationText(time.Duration(minSec)*time.Second)))
	case int(d.Seconds()) > maxSec:
		v.add(field, fmt.Sprintf("%s must be at most %s.", label, DurationText(time.Duration(maxSec)*time.Second)))
	}
	return int(d.Seconds())
}

// DurationText writes a duration in people's words: "1 hour", "1 hour 30
// minutes", "45 minutes", "2 days".
func DurationText(d time.Duration) string {
	d = d.Round(time.Minute)
	if d <= 0 {
		return "0 minutes"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	add := func(n int, unit string) {
		if n == 1 {
			parts = append(parts, "1 "+unit)
		} else if n > 1 {
			parts = append(parts, strconv.Itoa(n)+" "+unit+"s")
		}
	}
	add(days, "day")
	add(hours, "hour")
	add(mins, "minute")
	return strings.Join(parts, " ")
}
