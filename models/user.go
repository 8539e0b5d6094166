package models

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"gatehouse/models/acl"

	"gorm.io/gorm"
)

// User is a person known to Gatehouse, in global or an org.
type User struct {
	ID          string
	ScopeID     string
	Name        string
	FullName    string
	Email       string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// DisplayName is the best human name for the user.
func (u User) DisplayName() string {
	switch {
	case u.FullName != "":
		return u.FullName
	case u.Name != "":
		return u.Name
	case u.Email != "":
		return u.Email
	}
	return u.ID
}

// Account links a user to an auth method: a login name and password hash
// for password methods, issuer and subject for OIDC.
type Account struct {
	ID           string
	AuthMethodID string
	UserID       string
	LoginName    *string
	PasswordHash *string `json:"-"`
	// Issuer and Subject identify an OIDC account (unique together across
	// the database); nil for password accounts.
	Issuer  *string
	Subject *string
	// TokenClaims and UserinfoClaims are the JSON claims of the last OIDC
	// login's ID token and userinfo answer.
	TokenClaims    string `json:"-"`
	UserinfoClaims string `json:"-"`
	FullName       string
	Email          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int
}

// UserInput is the user form. LoginName and Password, when given, create or
// change the user's password account in the user's scope; on edit an empty
// Password keeps the current one.
type UserInput struct {
	Name        string
	FullName    string
	Email       string
	Description string
	LoginName   string
	Password    string
}

// UserItem is a user in a list.
type UserItem struct {
	User
	ScopeName  string
	LoginNames string
	Actions    map[Action]bool `gorm:"-"`
}

// AccountView is an account with its auth method, for display.
type AccountView struct {
	Account
	MethodName string
	MethodType string
	// Lock is the login throttle's state of a password account.
	Lock LoginLock `gorm:"-"`
}

// UserDetail is one user with everything shown on its page.
type UserDetail struct {
	User
	ScopeName string
	Accounts  []AccountView
	// Groups are the groups the user is a member of, by scope and name.
	Groups []UserGroup
	// ManagedGroups are the managed groups the user's accounts belong to.
	ManagedGroups []UserManagedGroup
	Actions       map[Action]bool
}

var handlePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

func (in UserInput) validate(creating bool) (UserInput, error) {
	v := validator{}
	in.Name = v.text("name", "Name", in.Name, true, 128)
	if in.Name != "" && !handlePattern.MatchString(in.Name) {
		v.add("name", "Name may contain letters, digits and . _ @ + - only, and must start with a letter or digit.")
	}
	in.FullName = v.text("full_name", "Full name", in.FullName, false, 256)
	in.Email = v.text("email", "Email", in.Email, false, 320)
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			v.add("email", "Email must be an address like name@example.com.")
		}
	}
	in.Description = v.text("description", "Description", in.Description, false, 1024)
	in.LoginName = v.text("login_name", "Login name", in.LoginName, false, 128)
	if in.LoginName != "" && !handlePattern.MatchString(in.LoginName) {
		v.add("login_name", "Login name may contain letters, digits and . _ @ + - only.")
	}
	if in.LoginName == "" && in.Password != "" {
		v.add("login_name", "A password needs a login name.")
	}
	if in.LoginName != "" && (creating || in.Password != "") {
		validatePassword(v, "password", in.Password)
	}
	return in, v.err()
}

func userResource(u *User) acl.Resource {
	return acl.Resource{Type: "user", ID: u.ID, ScopeID: u.ScopeID, OwnerUserID: u.ID}
}

// CreateUser creates a user in global or an org and, when a login name is
// given, its password account, in one transaction.
func (s *Store) CreateUser(ctx context.Context, a Actor, scopeID string, in UserInput) (*User, error) {
	var out *User
	err := s.createTx(ctx, a, "user", func() string { return out.ID }, func(tx *Store) error {
		sc, err := tx.collectionScope(ctx, a, scopeID, "user", ActionCreate)
		if err != nil {
			return err
		}
		if sc.Type == ScopeProject {
			return Invalid("scope", "Users live in global or an organization, not in a project.")
		}
		in, err = in.validate(true)
		if err := tx.checkInput(ctx, err, userUniques(sc.ID, "", in, fmt.Sprintf("%s already has a user named %q.", sc.Name, in.Name))...); err != nil {
			return err
		}
		u := &User{ID: NewID(PrefixUser), ScopeID: sc.ID, Name: in.Name, FullName: in.FullName, Email: in.Email,
			Description: in.Description, CreatedAt: tx.now(), UpdatedAt: tx.now(), Version: 1}
		if err := tx.q(ctx).Create(u).Error; err != nil {
			if isUniqueViolation(err) {
				return Invalid("name", fmt.Sprintf("%s already has a user named %q.", sc.Name, in.Name))
			}
			return fmt.Errorf("create user: %w", err)
		}
		if in.LoginName != "" {
			if err := tx.setPasswordAccount(ctx, u, in.LoginName, in.Password); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	return out, err
}

// userUniques are the values of a user form that must be unique: the name
// in the scope and the login name in the scope's password method (none yet:
// nothing to clash with; passwordMethod's choice). userID is the user being
// edited ("" creating).
func userUniques(scopeID, userID string, in UserInput, dupName string) []unique {
	return []unique{
		{Table: "users", Parent: "scope_id", ParentID: scopeID, ExceptID: userID, Value: in.Name, Message: dupName},
		{Table: "accounts", Column: "login_name", Except: "user_id", ExceptID: userID, Field: "login_name", Value: in.LoginName,
			Parent:   "auth_method_id = (SELECT id FROM auth_methods WHERE scope_id = ? AND type = '" + AuthMethodPassword + "' ORDER BY created_at LIMIT 1)",
			ParentID: scopeID, Message: fmt.Sprintf("The login name %q is already taken.", in.LoginName)},
	}
}

// setPasswordAccount creates or updates u's password account in u's scope.
// An empty password keeps the existing hash.
func (s *Store) setPasswordAccount(ctx context.Context, u *User, loginName, password string) error {
	m, err := s.passwordMethod(ctx, u.ScopeID)
	if err != nil {
		return err
	}
	var acct Account
	err = s.q(ctx).Where("user_id = ? AND auth_method_id = ?", u.ID, m.ID).Take(&acct).Error
	exists := err == nil
	if err != nil && err != gorm.ErrRecordNotFound {
		return fmt.Errorf("find account: %w", err)
	}
	if !exists && password == "" {
		return Invalid("password", "A new login needs a password.")
	}
	updates := map[string]any{"login_name": loginName, "updated_at": s.now(), "version": gorm.Expr("version + 1")}
	if password != "" {
		h, err := s.hashPassword(ctx, password)
		if err != nil {
			return err
		}
		updates["password_hash"] = h
		acct.PasswordHash = &h
	}
	if exists {
		err = s.q(ctx).Model(&Account{}).Where("id = ?", acct.ID).Updates(updates).Error
	} else {
		ln := loginName
		acct = Account{ID: NewID(PrefixPasswordAcct), AuthMethodID: m.ID, UserID: u.ID, LoginName: &ln,
			PasswordHash: acct.PasswordHash, FullName: u.FullName, Email: u.Email, CreatedAt: s.now(), UpdatedAt: s.now(), Version: 1}
		err = s.q(ctx).Create(&acct).Error
	}
	if isUniqueViolation(err) {
		return Invalid("login_name", fmt.Sprintf("The login name %q is already taken.", loginName))
	}
	if err != nil {
		return fmt.Errorf("save password account: %w", err)
	}
	if password != "" && exists {
		// A new password ends every login made with the old one.
		if _, err := s.endLogins(ctx, "account_id = ?", acct.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readUser(ctx context.Context, a Actor, id string) (*User, error) {
	return readItem(ctx, s, a, "user", id, userResource)
}

// GetUser returns a user with its accounts, groups and managed groups. A
// user may read itself.
func (s *Store) GetUser(ctx context.Context, a Actor, id string) (*UserDetail, error) {
	u, err := s.readUser(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &UserDetail{User: *u, Actions: s.Allowed(ctx, a, userResource(u), ActionUpdate, ActionDelete)}
	if u.ID == a.UserID {
		d.Actions[ActionDelete] = false
	}
	if err := s.q(ctx).Model(&Scope{}).Select("name").Where("id = ?", u.ScopeID).Scan(&d.ScopeName).Error; err != nil {
		return nil, fmt.Errorf("load scope name: %w", err)
	}
	err = s.q(ctx).Table("accounts AS a").
		Select("a.*, m.name AS method_name, m.type AS method_type").
		Joins("JOIN auth_methods m ON m.id = a.auth_method_id").
		Where("a.user_id = ?", u.ID).Order("a.created_at").Scan(&d.Accounts).Error
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	if d.Actions[ActionUpdate] {
		if err := s.loginLocks(ctx, d.Accounts); err != nil {
			return nil, err
		}
	}
	if d.Groups, err = s.userGroups(ctx, a, u.ID); err != nil {
		return nil, err
	}
	if d.ManagedGroups, err = s.userManagedGroups(ctx, a, u.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// ListUsers lists the users the actor may see (list on users in their scope
// and some action on them), optionally of one scope, matching search in
// name, full name, email or login name.
func (s *Store) ListUsers(ctx context.Context, a Actor, scopeID string, opt ListOptions) (Page[UserItem], error) {
	opt = opt.norm()
	page := Page[UserItem]{Page: opt.Page, PerPage: opt.PerPage}
	cond, args, err := s.listCondition(ctx, a, "user", ActionList, ListColumns{Scope: "u.scope_id", ID: "u.id", Owner: "u.id"})
	if err != nil {
		return page, err
	}
	q := s.q(ctx).Table("users AS u").Joins("JOIN scopes sc ON sc.id = u.scope_id").Where(cond, args...)
	if scopeID != "" {
		if _, err := s.collectionScope(ctx, a, scopeID, "user", ActionList); err != nil {
			return page, err
		}
		q = q.Where("u.scope_id = ?", scopeID)
	}
	if opt.Search != "" {
		p := likePattern(opt.Search)
		q = q.Where("("+s.ilike("u.name")+" OR "+s.ilike("u.full_name")+" OR "+s.ilike("u.email")+
			" OR EXISTS (SELECT 1 FROM accounts ac WHERE ac.user_id = u.id AND "+s.ilike("ac.login_name")+"))", p, p, p, p)
	}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count users: %w", err)
	}
	var rows []UserItem
	err = q.Select("u.*, sc.name AS scope_name").Order("lower(u.name), u.id").
		Limit(opt.PerPage).Offset(opt.offset()).Scan(&rows).Error
	if err != nil {
		return page, fmt.Errorf("list users: %w", err)
	}
	if len(rows) > 0 {
		ids := make([]string, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID
		}
		var logins []struct{ UserID, LoginName string }
		if err := s.q(ctx).Model(&Account{}).Select("user_id, login_name").
			Where("user_id IN ? AND login_name IS NOT NULL", ids).Order("login_name").Scan(&logins).Error; err != nil {
			return page, fmt.Errorf("load login names: %w", err)
		}
		names := map[string][]string{}
		for _, l := range logins {
			names[l.UserID] = append(names[l.UserID], l.LoginName)
		}
		for i := range rows {
			rows[i].LoginNames = strings.Join(names[rows[i].ID], ", ")
			rows[i].Actions = s.Allowed(ctx, a, userResource(&rows[i].User), ActionRead, ActionUpdate, ActionDelete)
			if rows[i].ID == a.UserID {
				rows[i].Actions[ActionDelete] = false
			}
		}
	}
	page.Items = rows
	return page, nil
}

// UpdateUser edits a user (and its password account, see UserInput).
// version must match. Roles are managed on the role pages.
func (s *Store) UpdateUser(ctx context.Context, a Actor, id string, version int, in UserInput) (*User, error) {
	var out *User
	err := s.changeTx(ctx, a, ActionUpdate, "user", id, func(tx *Store) error {
		u, err := tx.readUser(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionUpdate, userResource(u)); err != nil {
			return err
		}
		in, err = in.validate(false)
		dup := fmt.Sprintf("Another user in this scope is already named %q.", in.Name)
		if err := tx.checkInput(ctx, err, userUniques(u.ScopeID, id, in, dup)...); err != nil {
			return err
		}
		res := tx.q(ctx).Model(&User{}).Where("id = ? AND version = ?", id, version).Updates(map[string]any{
			"name": in.Name, "full_name": in.FullName, "email": in.Email, "description": in.Description,
			"updated_at": tx.now(), "version": gorm.Expr("version + 1"),
		})
		if res.Error != nil {
			if isUniqueViolation(res.Error) {
				return Invalid("name", dup)
			}
			return fmt.Errorf("update user %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return stale("update user " + id)
		}
		if in.LoginName != "" {
			if err := tx.setPasswordAccount(ctx, u, in.LoginName, in.Password); err != nil {
				return err
			}
		}
		out, err = first[User](tx.q(ctx), "user", id)
		return err
	})
	return out, err
}

// DeleteUser deletes a user with its accounts; its logins end at once. An
// actor cannot delete itself, and deleting the last principal of a full
// administration role is refused (see keepAnAdministrator).
func (s *Store) DeleteUser(ctx context.Context, a Actor, id string) error {
	return s.changeTx(ctx, a, ActionDelete, "user", id, func(tx *Store) error {
		u, err := tx.forUpdateUser(ctx, a, id)
		if err != nil {
			return err
		}
		if err := tx.authorize(ctx, a, ActionDelete, userResource(u)); err != nil {
			return err
		}
		if u.ID == a.UserID {
			return Conflict("delete user "+id, "You cannot delete your own user.")
		}
		if _, err := tx.CancelSessionsOf(ctx, userResource(u)); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if _, err := tx.endLogins(ctx, "user_id = ?", id); err != nil {
				return err
			}
			if err := tx.q(ctx).Where("id = ?", id).Delete(&User{}).Error; err != nil {
				return fmt.Errorf("delete user %s: %w", id, err)
			}
			return nil
		})
	})
}

func (s *Store) forUpdateUser(ctx context.Context, a Actor, id string) (*User, error) {
	u, err := first[User](s.forUpdate(s.q(ctx)), "user", id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, a, ActionRead, userResource(u)); err != nil {
		return nil, notFoundIfHidden(err)
	}
	return u, nil
}

// DeleteAccount removes one account from a user; logins made with it end.
// Removing the last full administrator this way (the account was the only
// member of an administrators' managed group) is refused.
func (s *Store) DeleteAccount(ctx context.Context, a Actor, accountID string) error {
	return s.changeTx(ctx, a, ActionDelete, "account", accountID, func(tx *Store) error {
		acct, u, err := tx.accountToUpdate(ctx, a, accountID)
		if err != nil {
			return err
		}
		if acct.ID == a.AccountID {
			return Conflict("remove account "+accountID, "You cannot remove the account you are logged in with.")
		}
		if _, err := tx.CancelSessionsOf(ctx, acl.Resource{Type: "account", ID: accountID, ScopeID: u.ScopeID}); err != nil {
			return err
		}
		return tx.keepAnAdministrator(ctx, func() error {
			if _, err := tx.endLogins(ctx, "account_id = ?", accountID); err != nil {
				return err
			}
			return tx.q(ctx).Where("id = ?", accountID).Delete(&Account{}).Error
		})
	})
}
