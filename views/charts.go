package views

import (
	"net/url"
	"strconv"
	"time"

	"gatehouse/models"
)

// chartBar is one bar of a chart, ready for the SVG.
type chartBar struct {
	X, Y, W, H string
	Label      string
	Value      string
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func dayLabels(days []models.DayCount) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.Day
	}
	return out
}

func daySessions(days []models.DayCount) []int64 {
	out := make([]int64, len(days))
	for i, d := range days {
		out[i] = d.Sessions
	}
	return out
}

func dayBytes(days []models.DayCount) []int64 {
	out := make([]int64, len(days))
	for i, d := range days {
		out[i] = d.BytesUp + d.BytesDown
	}
	return out
}

func maxOf(values []int64) int64 {
	var m int64
	for _, v := range values {
		m = max(m, v)
	}
	return m
}

func sumOf(values []int64) int64 {
	var s int64
	for _, v := range values {
		s += v
	}
	return s
}

// historyLink returns base with the filter of q (without its page position)
// and the given extra parameters (name, value pairs).
func historyLink(base string, q url.Values, kv ...string) string {
	c := url.Values{}
	for k, v := range q {
		if k != "after" && k != "back" {
			c[k] = v
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	if len(c) == 0 {
		return base
	}
	return base + "?" + c.Encode()
}

func timePtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func limitText(n int) string {
	if n < 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// hostLabel names a session's host as recorded: "name (address)", or only
// the address for a target with a direct address (no host resource).
func hostLabel(name, address string) string {
	switch {
	case name == "":
		return address
	case address == "" || address == name:
		return name
	}
	return name + " (" + address + ")"
}

// percentColumns lays values out as vertical bars in a 100 × 100 box (the
// SVG stretches it to the plot's size).
func percentColumns(labels []string, values []int64, format func(int64) string) []chartBar {
	top := max(maxOf(values), 1)
	step := 100 / float64(max(len(values), 1))
	bars := make([]chartBar, len(values))
	for i, v := range values {
		h := 100 * float64(v) / float64(top)
		bars[i] = chartBar{X: f1(float64(i)*step + step*0.1), W: f1(step * 0.8), Y: f1(100 - h), H: f1(h), Label: labels[i], Value: format(v)}
	}
	return bars
}

// percentRows gives each item a bar width out of 100.
func percentRows(items []models.LabelCount) []chartBar {
	var top int64 = 1
	for _, it := range items {
		top = max(top, it.Count)
	}
	bars := make([]chartBar, len(items))
	for i, it := range items {
		bars[i] = chartBar{W: f1(100 * float64(it.Count) / float64(top)), Label: it.Label, Value: strconv.FormatInt(it.Count, 10)}
	}
	return bars
}

func labelsOf(xs []models.LabelCount) []string {
	return pluck(xs, func(x models.LabelCount) string { return x.Label })
}

func countsOf(xs []models.LabelCount) []int64 {
	return pluck(xs, func(x models.LabelCount) int64 { return x.Count })
}

// liveCount is the count the history gives sessions not ended ("live").
func liveCount(reasons []models.LabelCount) int64 {
	for _, r := range reasons {
		if r.Label == "live" {
			return r.Count
		}
	}
	return 0
}

// endedReasons drops "live", which is no termination reason.
func endedReasons(reasons []models.LabelCount) []models.LabelCount {
	var out []models.LabelCount
	for _, r := range reasons {
		if r.Label != "live" {
			out = append(out, r)
		}
	}
	return out
}

func isAre(n int64) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
