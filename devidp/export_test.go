package devidp

import "time"

// SetClock makes p read time from now; tests use it to move past expiry without sleeping.
func SetClock(p *Provider, now func() time.Time) { p.store.setClock(now) }
