package proxywire

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"gatehouse/dbtest"
	"gatehouse/metrics"
	"gatehouse/models"
	"gatehouse/worker"
)

func TestWorkerErrMapsTheStoreKinds(t *testing.T) {
	other := errors.New("database gone")
	cases := []struct {
		in, want error
	}{
		{nil, nil},
		{fmt.Errorf("session s_1: %w", models.ErrSessionEnded), worker.ErrSessionEnded},
		{fmt.Errorf("session s_1: %w", models.ErrSessionExpired), worker.ErrExpired},
		{fmt.Errorf("session s_1: %w", models.ErrLimitReached), worker.ErrLimitReached},
		{fmt.Errorf("token: %w", models.ErrNotFound), worker.ErrBadToken},
		{other, other},
	}
	for _, c := range cases {
		if got := workerErr(c.in); got != c.want {
			t.Errorf("workerErr(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestConnectionsLeft(t *testing.T) {
	cases := []struct{ limit, count, want int }{{-1, 5, -1}, {3, 1, 2}, {3, 3, 0}, {2, 5, 0}}
	for _, c := range cases {
		if got := connectionsLeft(models.Session{ConnectionLimit: c.limit, ConnectionCount: c.count}); got != c.want {
			t.Errorf("limit %d count %d: left %d, want %d", c.limit, c.count, got, c.want)
		}
	}
}

// TestCountBytesTurnsRunningTotalsIntoIncrements: the worker reports running
// totals per connection; the counters grow by the differences, a total
// that goes back counts nothing, and a close forgets the connection.
func TestCountBytesTurnsRunningTotalsIntoIncrements(t *testing.T) {
	m := metrics.New()
	p := NewSessions(nil, m)
	p.countBytes("c_1", 10, 5, false)
	p.countBytes("c_1", 25, 4, false)
	p.countBytes("c_2", 1, 1, false)
	p.countBytes("c_1", 30, 8, true)
	if up, down := value(m.ProxiedBytes.WithLabelValues("up")), value(m.ProxiedBytes.WithLabelValues("down")); up != 31 || down != 9 {
		t.Fatalf("bytes up %v down %v, want 31 and 9", up, down)
	}
	if n := value(m.Connections.WithLabelValues("closed")); n != 1 {
		t.Fatalf("closed = %v", n)
	}
	if _, ok := p.flushed.Load("c_1"); ok {
		t.Fatal("a closed connection's totals are still kept")
	}
	p.Throttled()
	if n := value(m.Connections.WithLabelValues("throttled")); n != 1 {
		t.Fatalf("throttled = %v", n)
	}
	NewSessions(nil, nil).countBytes("c_3", 1, 1, true) // no metrics: nothing to count, no panic
}

// TestAdmitConnectionRefusesAnUnknownToken goes through the real Store on
// both databases: an unknown token is the worker's bad token, counted as
// refused.
func TestAdmitConnectionRefusesAnUnknownToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store) {
		m := metrics.New()
		p := NewSessions(store, m)
		_, err := p.AdmitConnection(context.Background(), "no-such-token", worker.ClientInfo{})
		if !errors.Is(err, worker.ErrBadToken) {
			t.Fatalf("err = %v, want the worker's bad token", err)
		}
		if n := value(m.Connections.WithLabelValues("refused")); n != 1 {
			t.Fatalf("refused = %v", n)
		}
		if _, err := p.SessionInfo(context.Background(), "no-such-token"); !errors.Is(err, worker.ErrBadToken) {
			t.Fatalf("session info err = %v", err)
		}
	})
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
