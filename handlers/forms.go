package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"gatehouse/views"
)

// Helpers shared by the infrastructure pages (host catalogs, hosts, host
// sets, targets, credential stores, credentials).

// intField reads a number field: empty gives def, anything that is not a
// whole number gives 0, which the domain refuses with the field's message.
func intField(f views.Form, name string, def int) int {
	v := strings.TrimSpace(f.V(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}

// multiValues reads a multi-select and keeps it in the form (comma-joined)
// so a re-rendered form shows the same choice.
func multiValues(r *http.Request, f *views.Form, name string) []string {
	_ = r.ParseForm()
	vals := r.PostForm[name]
	f.Values[name] = strings.Join(vals, ",")
	return vals
}

// nameDesc returns a form prefilled with a name and description.
func nameDesc(name, description string) views.Form {
	return views.Form{Values: map[string]string{"name": name, "description": description}}
}

// plural writes "1 host" or "n hosts".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
