package models

import (
	"context"
	"time"
)

// Group commit of admissions (issue 17). Admissions on one session take
// turns on its row lock, each for one statement and its commit's WAL flush,
// so one session's admission rate was bounded by the flush time however
// many connections waited. Here the admissions that arrive for one token
// while an earlier batch of it is being admitted wait together and are then
// admitted by one statement (admitActive), all or none: if they do not all
// fit (the session is pending, ended, expired or near its limit), they are
// admitted one by one, the general way, so the limit stays exact (min(N, L))
// and the first connection still moves the session pending → active. A
// lone admission goes at once: no added wait.

// maxAdmitBatch bounds the connections admitted by one statement.
const maxAdmitBatch = 128

// admitBatchTimeout bounds one batch's statements (they run for several
// requests, so no single request's context may cut them short).
const admitBatchTimeout = 30 * time.Second

type admitRequest struct {
	ctx context.Context
	in  AdmitInput
	adm *Admission
	err error
}

// admitGrouped queues in with the admissions of its token (s.admits) and
// returns its admission once its batch has been admitted.
func (s *Store) admitGrouped(ctx context.Context, in AdmitInput) (*Admission, error) {
	r := &admitRequest{ctx: ctx, in: in}
	s.admits.do(in.Token, r, s.admitBatch)
	return r.adm, r.err
}

// admitBatch admits a batch of one token's admissions and answers each.
func (s *Store) admitBatch(batch []*admitRequest) {
	if len(batch) == 1 {
		r := batch[0]
		r.adm, r.err = s.admitOne(r.ctx, r.in)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), admitBatchTimeout)
	defer cancel()
	rest := batch
	for len(rest) > 1 {
		ins := make([]AdmitInput, len(rest))
		for i, r := range rest {
			ins[i] = r.in
		}
		adms, ok, err := s.admitActive(ctx, rest[0].in.Token, ins)
		if err != nil {
			for _, r := range rest {
				r.err = err
			}
			return
		}
		if ok {
			for i, r := range rest {
				r.adm = adms[i]
			}
			return
		}
		// Not all of them fit (or the session is not active): the first
		// goes the general way, then the others are tried together again.
		rest[0].adm, rest[0].err = s.admitOne(ctx, rest[0].in)
		rest = rest[1:]
	}
	if len(rest) == 1 {
		rest[0].adm, rest[0].err = s.admitOne(ctx, rest[0].in)
	}
}
