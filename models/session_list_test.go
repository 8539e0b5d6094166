package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/models"
)

func TestSessionConstraints(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		id := f.start(t).Session.ID
		now := f.clock.Now()
		bad := []struct {
			name string
			sql  string
			args []any
		}{
			{"terminated without reason", "UPDATE sessions SET state = 'terminated', ended_at = ? WHERE id = ?", []any{now, id}},
			{"reason while pending", "UPDATE sessions SET termination_reason = 'canceled' WHERE id = ?", []any{id}},
			{"unknown reason", "UPDATE sessions SET state = 'terminated', termination_reason = 'unknown', ended_at = ? WHERE id = ?", []any{now, id}},
			{"unknown state", "UPDATE sessions SET state = 'paused' WHERE id = ?", []any{id}},
			{"illegal move", "UPDATE sessions SET previous_state = 'canceling', state = 'active' WHERE id = ?", []any{id}},
			{"over the limit", "UPDATE sessions SET state = 'active', connection_count = 3, open_connections = 3 WHERE id = ?", []any{id}},
			{"pending with connections", "UPDATE sessions SET connection_count = 1 WHERE id = ?", []any{id}},
			{"history: illegal move", "INSERT INTO session_states (session_id, state, previous_state, at) VALUES (?, 'pending', 'active', ?)", []any{id, now}},
			{"history: second pending", "INSERT INTO session_states (session_id, state, at) VALUES (?, 'pending', ?)", []any{id, now}},
		}
		for _, b := range bad {
			if err := f.store.DB().Exec(b.sql, b.args...).Error; err == nil {
				t.Errorf("%s: accepted", b.name)
			}
		}
	})
}

func TestListSessions(t *testing.T) {
	eachSessionDB(t, func(t *testing.T, f *sessionFixture) {
		ctx := context.Background()
		a := f.start(t).Session
		f.clock.Add(time.Minute)
		b, err := f.store.StartSession(ctx, f.alice, models.StartSessionInput{TargetID: f.direct})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.CancelSession(ctx, f.alice, a.ID); err != nil {
			t.Fatal(err)
		}
		mine, err := f.store.MySessions(ctx, f.alice, models.ListOptions{}, "")
		if err != nil || mine.Total != 2 || mine.Items[0].ID != b.Session.ID || mine.Items[1].ID != a.ID ||
			!mine.Items[0].Actions[models.ActionCancel] || mine.Items[1].Actions[models.ActionCancel] {
			t.Fatalf("mine: %v %+v", err, mine)
		}
		// My sessions sorts too: oldest first, by state (active before
		// terminated), and refuses an unknown key on its field.
		for sort, want := range map[string][]string{"started": {a.ID, b.Session.ID}, "state": {b.Session.ID, a.ID}, "-expires": {b.Session.ID, a.ID}} {
			p, err := f.store.MySessions(ctx, f.alice, models.ListOptions{}, sort)
			if err != nil || len(p.Items) != 2 || p.Items[0].ID != want[0] || p.Items[1].ID != want[1] {
				t.Fatalf("mine by %s: %v %+v", sort, err, p.Items)
			}
		}
		if _, err := f.store.MySessions(ctx, f.alice, models.ListOptions{}, "user"); models.FieldErrors(err)["sort"] == "" {
			t.Fatalf("mine by user: %v", err)
		}
		if p, err := f.store.MySessions(ctx, f.bob, models.ListOptions{}, ""); err != nil || p.Total != 0 {
			t.Fatalf("bob's: %v %+v", err, p)
		}
		if _, err := f.store.MySessions(ctx, models.Anonymous, models.ListOptions{}, ""); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
		start := f.clock.Now().Add(-time.Minute)
		cases := []struct {
			name string
			f    models.SessionFilter
			want []string
		}{
			{"all, newest first (terminated included)", models.SessionFilter{}, []string{b.Session.ID, a.ID}},
			{"oldest first", models.SessionFilter{Sort: "started"}, []string{a.ID, b.Session.ID}},
			{"by target name prefix", models.SessionFilter{Target: "POSTGR"}, []string{a.ID}},
			{"by text inside a name (the warehouse's index)", models.SessionFilter{Text: "OSTGRE"}, []string{a.ID}},
			{"by text, literally", models.SessionFilter{Text: "ostg%"}, nil},
			{"not a prefix", models.SessionFilter{Target: "ostgres"}, nil},
			{"by user name", models.SessionFilter{User: "alice l"}, []string{b.Session.ID, a.ID}},
			{"by user name, oldest first", models.SessionFilter{User: "ALICE", Sort: "started"}, []string{a.ID, b.Session.ID}},
			{"by project, paged", models.SessionFilter{Project: "data", ListOptions: models.ListOptions{Page: 2, PerPage: 1}}, []string{a.ID}},
			{"by project", models.SessionFilter{Project: "databases"}, []string{b.Session.ID, a.ID}},
			{"by other project", models.SessionFilter{Project: "nope"}, nil},
			{"by state", models.SessionFilter{State: "pending"}, []string{b.Session.ID}},
			{"live (not terminated)", models.SessionFilter{State: models.StateFilterLive}, []string{b.Session.ID}},
			{"live, oldest first", models.SessionFilter{State: models.StateFilterLive, Sort: "started"}, []string{b.Session.ID}},
			{"live, by user name", models.SessionFilter{State: models.StateFilterLive, User: "alice"}, []string{b.Session.ID}},
			{"by reason", models.SessionFilter{Reason: "canceled"}, []string{a.ID}},
			{"time range", models.SessionFilter{From: start.Add(30 * time.Second), To: start.Add(2 * time.Minute)}, []string{b.Session.ID}},
			{"paged", models.SessionFilter{ListOptions: models.ListOptions{Page: 2, PerPage: 1}}, []string{a.ID}},
		}
		// Both ways SQLite lists a name prefix (all matches sorted, or the
		// sort order's index walked) give the same pages.
		for _, filterFirstMax := range []int64{1 << 30, -1} {
			store := f.store.WithFilterFirstMax(filterFirstMax)
			for _, c := range cases {
				p, err := store.ListSessions(ctx, f.admin, c.f)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				var got []string
				for _, it := range p.Items {
					got = append(got, it.ID)
				}
				if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) || (len(got) > 1 && got[1] != c.want[1]) {
					t.Fatalf("%s (filter first up to %d): got %v, want %v", c.name, filterFirstMax, got, c.want)
				}
			}
		}
		// Live includes canceling sessions (connections still being closed)
		// and hides only terminated ones.
		f.clock.Add(time.Minute)
		cs := f.start(t)
		c := cs.Session
		if _, err := f.store.AdmitConnection(ctx, models.AdmitInput{Token: cs.Token}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.CancelSession(ctx, f.alice, c.ID); err != nil {
			t.Fatal(err)
		}
		live, err := f.store.ListSessions(ctx, f.admin, models.SessionFilter{State: models.StateFilterLive})
		if err != nil || live.Total != 2 || len(live.Items) != 2 || live.Items[0].ID != c.ID || live.Items[0].State != models.StateCanceling ||
			live.Items[1].ID != b.Session.ID {
			t.Fatalf("live: %v %+v", err, live)
		}
		for _, bad := range []models.SessionFilter{{State: "paused"}, {Reason: "unknown"}, {Sort: "id; drop"},
			{From: start, To: start.Add(-time.Hour)}} {
			if _, err := f.store.ListSessions(ctx, f.admin, bad); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("bad filter %+v: %v", bad, err)
			}
		}
		// Under the foundation's policy a plain user lists nothing here.
		if p, err := f.store.ListSessions(ctx, f.bob, models.SessionFilter{}); err != nil || p.Total != 0 {
			t.Fatalf("bob: %v %+v", err, p)
		}
	})
}
