package views

import (
	"strconv"
	"strings"
	"time"

	"gatehouse/models"
)

// LibraryTest is the outcome of a library's Test button: OK, or Message
// saying what is wrong.
type LibraryTest struct {
	OK      bool
	Message string
}

// LibraryForm is the edit form of a library, filled from its settings.
func LibraryForm(l *models.CredentialLibrary) Form {
	s := l.Decoded()
	f := Form{Values: map[string]string{"type": l.Type, "name": l.Name, "description": l.Description, "url": s.URL,
		"username_template": s.UsernameTemplate, "grant_roles": strings.Join(s.GrantRoles, ", "),
		"creation_statements": s.CreationStatements, "revocation_statements": s.RevocationStatements,
		"principals_template": s.PrincipalsTemplate, "clock_skew_seconds": strconv.Itoa(s.ClockSkewSeconds)}}
	for _, e := range s.Extensions {
		f.Values["ext_"+e] = "on"
	}
	return f
}

// caKeyPath is where the docs and the library page suggest hosts keep the CA key.
func caKeyPath(l *models.CredentialLibraryItem) string {
	return models.SSHCAKeyPath(l.ID)
}

func krlPath(l *models.CredentialLibraryItem) string {
	return models.SSHKRLPath(l.ID)
}

// revocationText says where a credential's revocation stands.
func revocationText(r *models.Revocation) string {
	switch r.State {
	case models.RevocationRevoked:
		return "revoked"
	case models.RevocationFailed:
		return "revocation failed (attempt " + strconv.Itoa(r.Attempts) + "), retrying"
	}
	return "revocation pending"
}

func timePtrText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return timeText(*t)
}
