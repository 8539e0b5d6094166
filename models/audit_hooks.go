package models

import (
	"time"

	"gatehouse/models/acl"
)

// This file is the contract between the session lifecycle and the data
// warehouse: the session code calls these inside the transaction of the
// change they describe; the warehouse code implements them. They must never
// delete or rewrite history.

// NamedRef is an id with the name it had at the time.
type NamedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CredentialRef describes a credential brokered to a session (never its secret).
type CredentialRef struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Purpose   string `json:"purpose"`
	StoreID   string `json:"store_id"`
	StoreName string `json:"store_name"`
	// A library-issued credential's library and non-secret facts: the
	// Postgres role's name, the SSH certificate's principals, and when it
	// stops being valid (each certificate's serial, principals and validity:
	// warehouse_ssh_certificates).
	LibraryID   string     `json:"library_id,omitempty"`
	Role        string     `json:"role,omitempty"`
	Principals  []string   `json:"principals,omitempty"`
	ValidBefore *time.Time `json:"valid_before,omitempty"`
}

// roleOf is the Postgres role name of an issued credential ("" for others).
func roleOf(c IssuedCredential) string {
	if c.Type == CredentialPostgresRole {
		return c.Username
	}
	return ""
}

// SessionSnapshot is everything that authorized a session, as it was when
// the session was created.
type SessionSnapshot struct {
	SessionID       string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	ConnectionLimit int // -1 unlimited

	UserID, UserName, UserFullName, UserEmail string
	AccountID, AuthMethodID                   string
	AuthMethodName, AuthMethodType            string
	Groups, ManagedGroups                     []NamedRef
	Grants                                    []acl.GrantMatch // what allowed authorize-session
	TargetID, TargetName, TargetType          string
	TargetDescription                         string
	TargetPort                                int
	TargetSessionMaxSeconds                   int
	TargetConnectionLimit                     int
	HostID, HostName, HostAddress             string
	HostSetID, HostSetName                    string
	HostCatalogID, HostCatalogName            string
	Endpoint                                  string // host:port dialled by the worker
	ProjectID, ProjectName, OrgID, OrgName    string
	Credentials                               []CredentialRef
	ClientIP, UserAgent                       string
}

// WarehouseConnection describes one connection's facts at a point in time.
type WarehouseConnection struct {
	ConnectionID, SessionID string
	ClientAddr              string // client address:port as seen by the worker
	UserIP                  string // the person's IP (after trusted proxies)
	EndpointAddr            string // host address:port
	AuthorizedAt            time.Time
	ConnectedAt, ClosedAt   *time.Time
	BytesUp, BytesDown      int64
	ClosedReason            string
}

// The three hooks the session code calls (warehouseSessionCreated,
// warehouseSessionsState, warehouseConnection) are implemented in warehouse.go.
