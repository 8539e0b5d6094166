package api

import "github.com/go-chi/chi/v5"

// Router exposes the router to the route listing test.
func (s *Server) Router() chi.Router { return s.router }
