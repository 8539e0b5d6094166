package views

import (
	"net/url"
	"strconv"
	"time"

	"gatehouse/models"
)

// Chart geometry (SVG user units). Charts are drawn server-side: no script.
const (
	chartW, chartH         = 720.0, 220.0
	chartLeft, chartBottom = 56.0, 24.0
	chartTop               = 8.0
	hbarRow                = 22.0
	hbarLeft               = 180.0
)

// chartBar is one bar of a chart, ready for the SVG.
type chartBar struct {
	X, Y, W, H string
	Label      string
	Value      string
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// columnBars lays values out as vertical bars over the plot area.
func columnBars(labels []string, values []int64, format func(int64) string) []chartBar {
	var top int64 = 1
	for _, v := range values {
		top = max(top, v)
	}
	plotW, plotH := chartW-chartLeft, chartH-chartTop-chartBottom
	step := plotW / float64(max(len(values), 1))
	bars := make([]chartBar, len(values))
	for i, v := range values {
		h := plotH * float64(v) / float64(top)
		bars[i] = chartBar{
			X: f1(chartLeft + float64(i)*step + step*0.1), W: f1(step * 0.8),
			Y: f1(chartTop + plotH - h), H: f1(h), Label: labels[i], Value: format(v),
		}
	}
	return bars
}

// rowBars lays values out as horizontal bars, one row each.
func rowBars(items []models.LabelCount) []chartBar {
	var top int64 = 1
	for _, it := range items {
		top = max(top, it.Count)
	}
	bars := make([]chartBar, len(items))
	for i, it := range items {
		w := (chartW - hbarLeft - 60) * float64(it.Count) / float64(top)
		bars[i] = chartBar{X: f1(hbarLeft), Y: f1(float64(i)*hbarRow + 4), W: f1(w), H: f1(hbarRow - 6),
			Label: it.Label, Value: strconv.FormatInt(it.Count, 10)}
	}
	return bars
}

func rowsHeight(n int) string { return f1(float64(max(n, 1))*hbarRow + 8) }

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

func countText(n int64) string { return strconv.FormatInt(n, 10) }

// bytesText formats a byte count for people (1.5 MiB).
func bytesText(n int64) string { return humanBytes(n) }

func chartW_() string      { return f1(chartW) }
func chartViewBox() string { return "0 0 " + f1(chartW) + " " + f1(chartH) }
func chartBaseY() string   { return f1(chartH - chartBottom) }
func chartLeftX() string   { return f1(chartLeft) }
func chartTopY() string    { return f1(chartTop + 10) }
func chartLabelY() string  { return f1(chartH - 6) }
func chartRightX() string  { return f1(chartW) }
func hbarLabelX() string   { return f1(hbarLeft - 8) }
func hbarValueX(b chartBar) string {
	w, _ := strconv.ParseFloat(b.W, 64)
	return f1(hbarLeft + w + 6)
}
func hbarTextY(b chartBar) string {
	y, _ := strconv.ParseFloat(b.Y, 64)
	return f1(y + hbarRow/2 + 1)
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
