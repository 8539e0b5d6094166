package metrics

import "github.com/prometheus/client_golang/prometheus"

// CounterVec registers and returns a counter with the given labels (for
// instruments that belong to one feature, registered where it is wired).
func (r *Registry) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.reg.MustRegister(c)
	return c
}
