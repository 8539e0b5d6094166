// Package models is Gatehouse's domain: the GORM types, error kinds, policy
// (authorization), the session state machine and the Store whose use-case
// methods are the only way the rest of the program reads or changes data.
//
// Every use-case method takes the acting principal (an Actor), checks what it
// may do in one place (policy.go) and runs multi-step changes in one
// transaction (Store.Transact). models imports GORM and the standard library,
// nothing else of ours.
package models
