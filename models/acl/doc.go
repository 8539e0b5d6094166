// Package acl is Gatehouse's authorization engine: it parses grants in
// Boundary's text syntax and decides, for one principal holding roles, which
// actions are allowed on which resources, which items a list may show, and
// why (explanations). It is pure: no database, no I/O. The Store's glue that
// loads roles and scope trees and calls it lives in models/policy*.go.
package acl
