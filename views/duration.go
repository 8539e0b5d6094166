package views

import (
	"strconv"

	"gatehouse/models"
)

// durationUnit is one choice of DurationField's unit.
type durationUnitChoice struct {
	Key     string
	Label   string
	Seconds int
}

// durationUnits are DurationField's units, largest last.
var durationUnits = []durationUnitChoice{{"minutes", "minutes", 60}, {"hours", "hours", 3600}, {"days", "days", 86400}}

// DurationSeconds turns a DurationField's amount and unit into seconds as
// text ("" when the unit is unknown: the caller keeps what it had; "0" for
// an amount that is not a positive whole number, which the domain refuses
// with the field's message).
func DurationSeconds(amount, unit string) string {
	for _, u := range durationUnits {
		if u.Key == unit {
			n, err := strconv.Atoi(amount)
			if err != nil || n <= 0 {
				return "0"
			}
			n = min(n, 1_000_000) // far past the domain's maximum, without overflow
			return strconv.Itoa(n * u.Seconds)
		}
	}
	return ""
}

// ConnectionLimit turns a ConnectionLimitField's mode and count into the
// domain's limit as text: "-1" for unlimited, the count (or "0", refused
// with the field's message) for limited, "" for no mode.
func ConnectionLimit(mode, count string) string {
	switch mode {
	case "unlimited":
		return strconv.Itoa(models.UnlimitedConnections)
	case "limited":
		if n, err := strconv.Atoi(count); err == nil {
			return strconv.Itoa(n)
		}
		return "0"
	}
	return ""
}

// durationAmount is the amount DurationField shows: the one typed, else
// the seconds value in the largest unit that divides it.
func durationAmount(f Form, name string) string {
	if v, ok := f.Values[name+"_amount"]; ok {
		return v
	}
	n, err := strconv.Atoi(f.V(name))
	if err != nil || n <= 0 {
		return f.V(name)
	}
	u := bestUnit(n)
	return strconv.Itoa(n / u.Seconds)
}

// durationUnit is the unit DurationField shows.
func durationUnit(f Form, name string) string {
	if v, ok := f.Values[name+"_unit"]; ok && v != "" {
		return v
	}
	n, _ := strconv.Atoi(f.V(name))
	return bestUnit(n).Key
}

func bestUnit(seconds int) durationUnitChoice {
	best := durationUnits[0]
	for _, u := range durationUnits {
		if seconds > 0 && seconds%u.Seconds == 0 {
			best = u
		}
	}
	if seconds <= 0 {
		return durationUnits[1] // hours
	}
	return best
}

// limitMode is "unlimited" or "limited" for ConnectionLimitField.
func limitMode(f Form, name string) string {
	if v := f.V(name + "_mode"); v != "" {
		return v
	}
	if v := f.V(name); v == "" || v == strconv.Itoa(models.UnlimitedConnections) {
		return "unlimited"
	}
	return "limited"
}

// limitCount is the count ConnectionLimitField shows.
func limitCount(f Form, name string) string {
	if v, ok := f.Values[name+"_count"]; ok {
		return v
	}
	if v := f.V(name); v != strconv.Itoa(models.UnlimitedConnections) {
		return v
	}
	return ""
}
