package models

import (
	"net/netip"
	"strings"
)

// address checks a host name or IP address (no port, no scheme).
func (v validator) address(field, label, value string, required bool) string {
	value = v.text(field, label, value, required, 253)
	if value == "" || v[field] != "" {
		return value
	}
	if ip, err := netip.ParseAddr(value); err == nil {
		if ip.Zone() != "" {
			v.add(field, label+" must not have a zone.")
		}
		return ip.String()
	}
	if strings.HasPrefix(value, "[") || strings.Count(value, ":") == 1 || strings.Contains(value, "://") {
		v.add(field, label+" must be a host name or IP address, without a scheme or port.")
		return value
	}
	if !validHostname(value) {
		v.add(field, label+" must be a host name (like db.example.com) or an IP address.")
	}
	return strings.ToLower(value)
}

// validHostname reports an RFC 1123 host name whose last label is not all
// digits (so "999.1.1.1" is neither an IP nor a name).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
