package models

import (
	"context"
	"fmt"
	"time"
)

// LoginLock is the throttle's state for one password account when it was
// loaded: its failed attempts within the last hour (from anywhere) and,
// when attempts must wait, until when the next one is refused (from the
// address worst off; zero when none must wait).
type LoginLock struct {
	Failures    int
	LockedUntil time.Time
}

// loginLocks fills each password account's Lock from the throttle's counters.
func (s *Store) loginLocks(ctx context.Context, accounts []AccountView) error {
	keys := map[string]int{}
	for i, ac := range accounts {
		if ac.LoginName != nil {
			keys[accountThrottleKey(ac.AuthMethodID, *ac.LoginName)] = i
		}
	}
	if len(keys) == 0 {
		return nil
	}
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	var rows []loginFailure
	if err := s.q(ctx).Where("account_key IN ?", list).Find(&rows).Error; err != nil {
		return fmt.Errorf("load login locks: %w", err)
	}
	now := s.now()
	for _, r := range rows {
		if now.Sub(r.LastFailureAt) > failureMemory {
			continue
		}
		lock := &accounts[keys[r.AccountKey]].Lock
		free := freeFailuresPerAccountAddress
		if r.Key == "acct:"+r.AccountKey {
			free = freeFailuresPerAccount
			lock.Failures = r.Failures
		}
		if until := r.throttledUntil(free, now); until.After(now) && until.After(lock.LockedUntil) {
			lock.LockedUntil = until
		}
	}
	return nil
}

// ChangeClearLoginLock is the change-log action of ClearLoginLock (on the
// account).
const ChangeClearLoginLock = "clear-login-lock"

// ClearLoginLock forgets the failed password attempts counted against an
// account (from every address), so that its owner may log in again at
// once, and records it in the change log (failed_attempts before and
// after; nothing when there were none). Who may update the account's user
// may clear it. Errors: ErrNotFound, ErrForbidden, ErrInvalid (not a
// password account).
func (s *Store) ClearLoginLock(ctx context.Context, a Actor, accountID string) error {
	return s.Transact(ctx, func(tx *Store) error {
		acct, _, err := tx.accountToUpdate(ctx, a, accountID)
		if err != nil {
			return err
		}
		if acct.LoginName == nil {
			return Invalid("account", "Only password accounts are locked after failed attempts.")
		}
		key := accountThrottleKey(acct.AuthMethodID, *acct.LoginName)
		var rows []loginFailure
		if err := tx.forUpdate(tx.q(ctx)).Where("account_key = ?", key).Find(&rows).Error; err != nil {
			return fmt.Errorf("clear login lock of %s: %w", accountID, err)
		}
		failures := 0
		for _, r := range rows {
			if r.Key == "acct:"+key && tx.now().Sub(r.LastFailureAt) <= failureMemory {
				failures = r.Failures
			}
		}
		res := tx.q(ctx).Where("account_key = ?", key).Delete(&loginFailure{})
		if res.Error != nil {
			return fmt.Errorf("clear login lock of %s: %w", accountID, res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // nothing was counted: nothing changed
		}
		st, err := tx.snapshot(ctx, "account", accountID)
		if err != nil || st == nil {
			return err
		}
		e := ChangeEvent{Action: ChangeClearLoginLock, ResourceType: "account", ResourceID: accountID, ResourceName: st.name, ScopeID: st.scopeID}
		return tx.writeChange(ctx, a, &e, map[string]any{"failed_attempts": failures}, map[string]any{"failed_attempts": 0})
	})
}

// accountToUpdate loads an account and its user for a change that needs
// update on the user (ErrNotFound when the actor may not see the user).
func (s *Store) accountToUpdate(ctx context.Context, a Actor, accountID string) (*Account, *User, error) {
	acct, err := first[Account](s.q(ctx), "account", accountID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.readUser(ctx, a, acct.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("account %s: %w", accountID, ErrNotFound)
	}
	if err := s.authorize(ctx, a, ActionUpdate, userResource(u)); err != nil {
		return nil, nil, err
	}
	return acct, u, nil
}
