package web

import (
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"gatehouse/models"
)

// requestInfo puts the request's client address and id in its context, so
// the change log records them for whatever the request changes.
func (s *Server) requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := models.WithRequestInfo(r.Context(), models.RequestInfo{ClientIP: s.clientIP(r), RequestID: middleware.GetReqID(r.Context())})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
