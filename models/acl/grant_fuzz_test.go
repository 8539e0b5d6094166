package acl_test

import (
	"testing"

	"gatehouse/models/acl"
)

// FuzzParseGrant: any text either parses into a grant that parses again to
// the same grant from its canonical form, or is refused with a reason; never
// a panic (issue 11, fuzzing).
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{
		"ids=*;type=target;actions=read,authorize-session", "ids={{.User.Id}};actions=read", "type=*;actions=*",
		"ids=t_1,t_2;actions=read", "ids=*;type=scope;actions=list,no-op", "", ";;", "ids=;actions=", "type=target;actions=list;ids=t_x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := acl.ParseGrant(s)
		if err != nil {
			var ge *acl.GrantError
			if !asGrantError(err, &ge) || ge.Reason == "" {
				t.Fatalf("%q: refusal without a reason: %v", s, err)
			}
			return
		}
		again, err := acl.ParseGrant(g.String())
		if err != nil {
			t.Fatalf("%q parsed, but its canonical form %q does not: %v", s, g.String(), err)
		}
		if again.String() != g.String() {
			t.Fatalf("%q: canonical form unstable: %q then %q", s, g.String(), again.String())
		}
	})
}

func asGrantError(err error, target **acl.GrantError) bool {
	ge, ok := err.(*acl.GrantError)
	if ok {
		*target = ge
	}
	return ok
}
