package worker_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/tunnel"
	"gatehouse/worker"
)

// TestEndSessionIsNotQueuedBehindAMassClose: while the end user's
// end-session request (and the instance heartbeat, through Priority) runs,
// the close recorder starts no new batch: it waits for the batch in
// flight at most, never for the queue of a mass close behind it (issue
// 11, finding 10). Batches of 10 here stand for the hundreds of a real
// storm; each batch waits for the test's word.
func TestEndSessionIsNotQueuedBehindAMassClose(t *testing.T) {
	e := newEnvWith(t, func(c *worker.Config) { c.CloseBatch = 10 })
	e.session("s_m", -1, time.Hour)
	addr := e.srv.Listener.Addr().String()
	const n = 100
	for range n {
		c, _, err := open(t, addr, "tok-s_m", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var started atomic.Int32
	batchStarted, release := make(chan struct{}, n), make(chan struct{}, n)
	e.fake.CloseHook = func() { started.Add(1); batchStarted <- struct{}{}; <-release }
	endRunning, endRelease := make(chan struct{}), make(chan struct{})
	e.fake.CloseSessionHook = func() { close(endRunning); <-endRelease }
	var released atomic.Bool
	releaseAll := func() { // on failure too: nothing stays blocked
		if released.CompareAndSwap(false, true) {
			close(endRelease)
			go func() {
				for range batchStarted {
					release <- struct{}{}
				}
			}()
		}
	}
	t.Cleanup(releaseAll)

	if got := e.w.Cancel("s_m", worker.ReasonCanceled); got != n {
		t.Fatalf("Cancel cut %d, want %d", got, n)
	}
	<-batchStarted // the first batch is in flight; the other ends queue behind it
	for e.w.LiveConnections("s_m") > 0 {
		time.Sleep(5 * time.Millisecond)
	}

	// The end-session request arrives during the storm.
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+tunnel.InfoPath, nil)
		req.Header.Set("Authorization", "Bearer tok-s_m")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-endRunning
	release <- struct{}{} // the batch in flight ends
	time.Sleep(300 * time.Millisecond)
	if got := started.Load(); got != 1 {
		t.Fatalf("%d close batches started while the end-session call ran, want none after the one in flight", got-1)
	}
	releaseAll() // the call ends, and the storm goes on
	if st := <-answered; st != http.StatusOK {
		t.Fatalf("end-session: %d", st)
	}
	if err := e.fake.WaitClosed(n, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Priority work (the heartbeat's way in) holds the recorder the same
	// way, for maxPriorityYield (2 s) at most.
	e.session("s_h", -1, time.Hour)
	c, _, err := open(t, addr, "tok-s_h", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := started.Load()
	e.w.Priority(func() {
		e.w.Cancel("s_h", worker.ReasonCanceled)
		time.Sleep(300 * time.Millisecond)
		if got := started.Load(); got != before {
			t.Errorf("a close batch started during priority work")
		}
	})
	if err := e.fake.WaitClosed(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
