package acl

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseGrantValid(t *testing.T) {
	tests := []struct {
		in        string
		ids       []string
		typ       string
		actions   []string
		fields    []string
		canonical string
	}{
		{"ids=ttcp_1;actions=read", []string{"ttcp_1"}, "", []string{"read"}, nil, "ids=ttcp_1;actions=read"},
		{"ids=ttcp_1,ttcp_2;actions=read,authorize-session", []string{"ttcp_1", "ttcp_2"}, "", []string{"authorize-session", "read"}, nil, "ids=ttcp_1,ttcp_2;actions=authorize-session,read"},
		{"actions=update,read;ids=t_9", []string{"t_9"}, "", []string{"read", "update"}, nil, "ids=t_9;actions=read,update"},
		{" ids = hc_1 ; type = host ; actions = list , read ", []string{"hc_1"}, "host", []string{"list", "read"}, nil, "ids=hc_1;type=host;actions=list,read"},
		{"ids=hc_1;type=*;actions=read", []string{"hc_1"}, "*", []string{"read"}, nil, "ids=hc_1;type=*;actions=read"},
		{"ids=hc_1;type=host-set;actions=add-hosts", []string{"hc_1"}, "host-set", []string{"add-hosts"}, nil, "ids=hc_1;type=host-set;actions=add-hosts"},
		{"ids=ampw_1;type=account;actions=create,set-password", []string{"ampw_1"}, "account", []string{"create", "set-password"}, nil, "ids=ampw_1;type=account;actions=create,set-password"},
		{"ids=csvlt_1;type=credential-library;actions=*", []string{"csvlt_1"}, "credential-library", []string{"*"}, nil, "ids=csvlt_1;type=credential-library;actions=*"},
		{"ids=*;type=target;actions=read,list", []string{"*"}, "target", []string{"list", "read"}, nil, "ids=*;type=target;actions=list,read"},
		{"ids=*;type=host;actions=create", []string{"*"}, "host", []string{"create"}, nil, "ids=*;type=host;actions=create"},
		{"ids=*;type=*;actions=*", []string{"*"}, "*", []string{"*"}, nil, "ids=*;type=*;actions=*"},
		{"ids=*;type=*;actions=authorize-session", []string{"*"}, "*", []string{"authorize-session"}, nil, "ids=*;type=*;actions=authorize-session"},
		{"type=target;actions=list,create", nil, "target", []string{"create", "list"}, nil, "type=target;actions=create,list"},
		{"type=scope;actions=list,no-op", nil, "scope", []string{"list", "no-op"}, nil, "type=scope;actions=list,no-op"},
		{"type=session;actions=list", nil, "session", []string{"list"}, nil, "type=session;actions=list"},
		{"type=Target;actions=LIST", nil, "target", []string{"list"}, nil, "type=target;actions=list"},
		{"ids={{.User.Id}};actions=read", []string{"{{.User.Id}}"}, "", []string{"read"}, nil, "ids={{.User.Id}};actions=read"},
		{"ids={{ user.id }};actions=read,update", []string{"{{.User.Id}}"}, "", []string{"read", "update"}, nil, "ids={{.User.Id}};actions=read,update"},
		{"ids={{account.id}};actions=change-password", []string{"{{.Account.Id}}"}, "", []string{"change-password"}, nil, "ids={{.Account.Id}};actions=change-password"},
		{"ids={{.User.Id}},u_2;actions=read", []string{"{{.User.Id}}", "u_2"}, "", []string{"read"}, nil, "ids={{.User.Id}},u_2;actions=read"},
		{"ids=*;type=session;actions=read:self,cancel:self", []string{"*"}, "session", []string{"cancel:self", "read:self"}, nil, "ids=*;type=session;actions=cancel:self,read:self"},
		{"ids=s_1;actions=cancel", []string{"s_1"}, "", []string{"cancel"}, nil, "ids=s_1;actions=cancel"},
		{"ids=global;actions=read", []string{"global"}, "", []string{"read"}, nil, "ids=global;actions=read"},
		{"ids=o_1,p_1;actions=read", []string{"o_1", "p_1"}, "", []string{"read"}, nil, "ids=o_1,p_1;actions=read"},
		{"ids=*;type=target;actions=read;output_fields=id,name", []string{"*"}, "target", []string{"read"}, []string{"id", "name"}, "ids=*;type=target;actions=read;output_fields=id,name"},
		{"ids=*;type=target;actions=read;output_fields=", []string{"*"}, "target", []string{"read"}, []string{}, "ids=*;type=target;actions=read;output_fields="},
		{"ids=g_1;actions=add-members,remove-members", []string{"g_1"}, "", []string{"add-members", "remove-members"}, nil, "ids=g_1;actions=add-members,remove-members"},
		{"ids=r_1;actions=add-principals,set-grants", []string{"r_1"}, "", []string{"add-principals", "set-grants"}, nil, "ids=r_1;actions=add-principals,set-grants"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := ParseGrant(tt.in)
			if err != nil {
				t.Fatalf("ParseGrant: %v", err)
			}
			want := Grant{Raw: tt.in, IDs: tt.ids, Type: tt.typ, Actions: tt.actions, OutputFields: tt.fields}
			if !reflect.DeepEqual(g, want) {
				t.Fatalf("ParseGrant = %#v, want %#v", g, want)
			}
			if got := g.String(); got != tt.canonical {
				t.Fatalf("String = %q, want %q", got, tt.canonical)
			}
			again, err := ParseGrant(g.String())
			if err != nil {
				t.Fatalf("reparse: %v", err)
			}
			want.Raw = tt.canonical
			if !reflect.DeepEqual(again, want) {
				t.Fatalf("reparse = %#v, want %#v", again, want)
			}
		})
	}
}

func TestParseGrantInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty grant"},
		{"   ", "empty grant"},
		{"ids=*;actions=read", "ids=* needs a type (add type=<type>, or type=* for every type)"},
		{"idz=ttcp_1;actions=read", `unknown key "idz" (did you mean "ids"?)`},
		{"id=ttcp_1;actions=read", `unknown key "id" (did you mean "ids"?)`},
		{"colour=red;actions=read", `unknown key "colour" (the keys are ids, type, actions and output_fields)`},
		{"ids=ttcp_1;actions=raed", `unknown action "raed" for type target (did you mean "read"?)`},
		{"ids=ttcp_1;actions=fly", `unknown action "fly" for type target (valid: no-op, read, update, delete, add-host-sources, set-host-sources, remove-host-sources, add-credential-sources, set-credential-sources, remove-credential-sources, authorize-session, request-access, approve-access, list, create)`},
		{"ids=hst_1;actions=authorize-session", `action "authorize-session" is not valid for type host (valid: no-op, read, update, delete, list, create)`},
		{"ids=ttcp_1;actions=read;actions=update", `duplicate key "actions"`},
		{"ids=ttcp_1;actions=", "empty actions"},
		{"ids=;actions=read", "empty ids"},
		{"ids=*;type=;actions=read", "empty type"},
		{"ids=ttcp_1", `missing actions (add "actions=<action,...>")`},
		{"ids=ttcp_1;actions=read,,update", `empty action in "read,,update"`},
		{"ids=ttcp_1,,ttcp_2;actions=read", `empty id in "ttcp_1,,ttcp_2"`},
		{"ids=ttcp_1;actions=read,read", `duplicate action "read"`},
		{"ids=ttcp_1,ttcp_1;actions=read", `duplicate id "ttcp_1"`},
		{"ids=*;type=foo;actions=read", `type "foo" is not a resource type`},
		{"ids=*;type=taget;actions=read", `type "taget" is not a resource type (did you mean "target"?)`},
		{"ids=ttcp_1;actions=create", `"create" is a collection action and cannot be granted on specific ids; use "type=target;actions=create" or "ids=*;type=target;actions=create"`},
		{"ids=hst_1;actions=list", `"list" is a collection action and cannot be granted on specific ids; use "ids=<host-catalog id>;type=host;actions=list" or "ids=*;type=host;actions=list"`},
		{"type=target;actions=read", `type=target without ids allows only collection actions (list, create, no-op) and reveals no item; for "read" use "ids=*;type=target;actions=read" or name the ids`},
		{"type=target;actions=list,authorize-session", `type=target without ids allows only collection actions (list, create, no-op) and reveals no item; for "authorize-session" use "ids=*;type=target;actions=authorize-session" or name the ids`},
		{"type=target;actions=*", `type=target without ids allows only collection actions (list, create, no-op) and reveals no item; for "*" use "ids=*;type=target;actions=*" or name the ids`},
		{"type=session;actions=create", `action "create" is not valid for type session (valid: no-op, read, read:self, cancel, cancel:self, read-history, list)`},
		{"type=host;actions=list", `type host is a child type of host-catalog and needs ids: use "ids=<host-catalog id>;type=host;actions=list" or "ids=*;type=host;actions=list"`},
		{"type=*;actions=list", `type=* needs ids; use "ids=*;type=*;actions=list"`},
		{"actions=read", `a grant needs ids or a type (e.g. "ids=*;type=target;actions=read")`},
		{"ids=*,ttcp_1;type=target;actions=read", "ids=* cannot be combined with other ids"},
		{"ids=ttcp_1;actions=*,read", "actions=* already allows every action; remove the others"},
		{"ids=ttcp_1,hst_1;actions=read", `ids "ttcp_1" (target) and "hst_1" (host) are of different types; use one grant per type`},
		{"ids=foo;actions=read", `id "foo" does not start with a known resource prefix (such as ttcp_, hc_, u_)`},
		{"ids=zz_1;actions=read", `id "zz_1" does not start with a known resource prefix (such as ttcp_, hc_, u_)`},
		{"ids={{.User.Name}};actions=read", `unknown template "{{.User.Name}}" (use {{.User.Id}} or {{.Account.Id}})`},
		{"ids={{.User.Id}};type=*;actions=read", "type=* with specific ids needs ids of a type that has child types (auth-method, credential-store, host-catalog); user has none"},
		{"ids=ttcp_1;type=target;actions=read", `type=target names the type of the ids themselves; drop it: "ids=ttcp_1;actions=read"`},
		{"ids=ttcp_1;type=host;actions=read", "type host is a child type of host-catalog, but the ids are target ids; name host-catalog ids or use ids=*"},
		{"ids=hc_1;type=target;actions=read", `type target is not a child type of host-catalog (the type of "hc_1"); drop type or use "ids=*;type=target;actions=read"`},
		{"ids=hc_1;type=host;actions=authorize-session", `action "authorize-session" is not valid for type host (valid: no-op, read, update, delete, list, create)`},
		{"ids=hc_1;type=*;actions=cancel", `action "cancel" is not valid for any child type of host-catalog (valid: no-op, read, update, delete, list, create, add-hosts, set-hosts, remove-hosts)`},
		{"ids=*;type=*;actions=rread", `unknown action "rread" for any type (did you mean "read"?)`},
		{"ids=ttcp_1;actions=read;", `empty segment; remove the stray ";"`},
		{"ids=ttcp_1;;actions=read", `empty segment; remove the stray ";"`},
		{"ids=ttcp_1;read", `segment "read" is not key=value`},
		{"ids=ttcp_1;actions=read=update", `segment "actions=read=update" has more than one "="`},
		{"=ttcp_1;actions=read", `segment "=ttcp_1" has no key`},
		{"ids=*;type=target;actions=read;output_fields=id,,name", `empty output field in "id,,name"`},
		{"ids=*;type=target;output_fields=id", `missing actions (add "actions=<action,...>")`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := ParseGrant(tt.in)
			if err == nil {
				t.Fatalf("ParseGrant = %#v, want error %q", g, tt.reason)
			}
			var ge *GrantError
			if !errors.As(err, &ge) {
				t.Fatalf("error %T is not *GrantError", err)
			}
			want := GrantError{Index: -1, Grant: tt.in, Reason: tt.reason}
			if *ge != want {
				t.Fatalf("error = %#v, want %#v", *ge, want)
			}
			if msg := `grant "` + tt.in + `": ` + tt.reason; err.Error() != msg {
				t.Fatalf("Error() = %q, want %q", err.Error(), msg)
			}
			if !reflect.DeepEqual(g, Grant{}) {
				t.Fatalf("grant on error = %#v, want zero", g)
			}
		})
	}
}

func TestGrantErrorMessage(t *testing.T) {
	_, err := ParseGrant("ids=*;actions=read")
	if got, want := err.Error(), `grant "ids=*;actions=read": ids=* needs a type (add type=<type>, or type=* for every type)`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestParseGrants(t *testing.T) {
	gs, err := ParseGrants([]string{"ids=ttcp_1;actions=read", "type=target;actions=list"})
	if err != nil {
		t.Fatalf("ParseGrants: %v", err)
	}
	want := []Grant{
		{Raw: "ids=ttcp_1;actions=read", IDs: []string{"ttcp_1"}, Actions: []string{"read"}},
		{Raw: "type=target;actions=list", Type: "target", Actions: []string{"list"}},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Fatalf("ParseGrants = %#v, want %#v", gs, want)
	}

	gs, err = ParseGrants([]string{"ids=ttcp_1;actions=read", "ids=*;actions=read", "idz=1"})
	if gs != nil {
		t.Fatalf("grants on error = %#v, want nil", gs)
	}
	var ge *GrantError
	if !errors.As(err, &ge) {
		t.Fatalf("error %T is not *GrantError", err)
	}
	wantErr := GrantError{Index: 1, Grant: "ids=*;actions=read", Reason: "ids=* needs a type (add type=<type>, or type=* for every type)"}
	if *ge != wantErr {
		t.Fatalf("error = %#v, want %#v", *ge, wantErr)
	}
	if got, want := err.Error(), `grants[1]: grant "ids=*;actions=read": ids=* needs a type (add type=<type>, or type=* for every type)`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}

	gs, err = ParseGrants(nil)
	if err != nil || len(gs) != 0 {
		t.Fatalf("ParseGrants(nil) = %#v, %v; want empty, nil", gs, err)
	}
}

func TestResourceTypeOfID(t *testing.T) {
	tests := []struct {
		id, typ string
		ok      bool
	}{
		{"global", "scope", true}, {"o_1", "scope", true}, {"p_123", "scope", true},
		{"u_1", "user", true}, {"g_1", "group", true}, {"r_1", "role", true},
		{"ampw_1", "auth-method", true}, {"amoidc_1", "auth-method", true},
		{"acctpw_1", "account", true}, {"acctoidc_1", "account", true}, {"mgoidc_1", "managed-group", true},
		{"hc_1", "host-catalog", true}, {"hcst_1", "host-catalog", true}, {"hst_1", "host", true}, {"hsst_1", "host-set", true},
		{"ttcp_1", "target", true}, {"csvlt_1", "credential-store", true}, {"clvlt_1", "credential-library", true},
		{"credup_1", "credential", true}, {"s_1", "session", true}, {"at_1", "auth-token", true},
		{"ev_1", "event", true}, {"wh_1", "webhook", true},
		{"foo", "", false}, {"zz_1", "", false}, {"ttcp_", "", false}, {"", "", false}, {"_1", "", false},
	}
	for _, tt := range tests {
		typ, ok := ResourceTypeOfID(tt.id)
		if typ != tt.typ || ok != tt.ok {
			t.Errorf("ResourceTypeOfID(%q) = %q, %v; want %q, %v", tt.id, typ, ok, tt.typ, tt.ok)
		}
	}
}

func TestValidActions(t *testing.T) {
	tests := []struct {
		typ  string
		want []string
	}{
		{"host", []string{"no-op", "read", "update", "delete", "list", "create"}},
		{"session", []string{"no-op", "read", "read:self", "cancel", "cancel:self", "read-history", "list"}},
		{"account", []string{"no-op", "read", "update", "delete", "set-password", "change-password", "list", "create"}},
		{"group", []string{"no-op", "read", "update", "delete", "add-members", "set-members", "remove-members", "list", "create"}},
		{"nope", nil},
		{"*", nil},
	}
	for _, tt := range tests {
		if got := ValidActions(tt.typ); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ValidActions(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
	// Every type of the domain has a row, and only child types have parents.
	domain := []string{"scope", "user", "group", "role", "auth-method", "account", "managed-group", "host-catalog", "host", "host-set", "target", "credential-store", "credential-library", "credential", "session", "auth-token", "event", "webhook"}
	if got := aclAllTypes(); len(got) != len(domain) {
		t.Fatalf("types = %q, want %q", got, domain)
	}
	for _, typ := range domain {
		if ValidActions(typ) == nil {
			t.Errorf("ValidActions(%q) = nil", typ)
		}
	}
}
