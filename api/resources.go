package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
)

// resource is one admin resource served by the generic handlers: list
// (paginated, filtered by parent and search), read (with ETag), create,
// update (PATCH merged onto the current item, If-Match required) and
// delete (If-Match honored when sent). Every function calls one Store use
// case; the Store authorizes.
type resource struct {
	// path is the collection's path ("/targets").
	path string
	// parent is the query parameter naming the parent of a list ("scope_id");
	// parentDefault is used when it is absent ("" = required).
	parent, parentDefault string
	list                  func(ctx context.Context, a models.Actor, parent string, opt models.ListOptions) (any, error)
	get                   func(ctx context.Context, a models.Actor, id string) (view any, version int, err error)
	// create decodes body (strictly) and returns the new item's id.
	create func(ctx context.Context, a models.Actor, body []byte) (string, error)
	// update decodes body (the current item with the patch applied).
	update func(ctx context.Context, a models.Actor, id string, version int, body []byte) error
	del    func(ctx context.Context, a models.Actor, id string) error
	// patchable checks a PATCH body's members and types (strict decode).
	patchable func(body []byte) error
}

// mount registers the resource's routes.
func (s *Server) mount(r chi.Router, res resource) {
	if res.list != nil {
		r.Get(res.path, s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			opt, err := listOptions(r)
			if err != nil {
				return err
			}
			parent := r.URL.Query().Get(res.parent)
			if parent == "" {
				parent = res.parentDefault
			}
			if parent == "" && res.parent != "" {
				return badRequest(res.parent, res.parent+" is required.")
			}
			out, err := res.list(r.Context(), actorFrom(r.Context()), parent, opt)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, out)
		}))
	}
	r.Get(res.path+"/{id}", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return s.writeItem(w, r, res, chi.URLParam(r, "id"), http.StatusOK)
	}))
	if res.create != nil {
		r.Post(res.path, s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			body, err := readBody(r)
			if err != nil {
				return err
			}
			id, err := res.create(r.Context(), actorFrom(r.Context()), body)
			if err != nil {
				return err
			}
			w.Header().Set("Location", Prefix+res.path+"/"+id)
			return s.writeItem(w, r, res, id, http.StatusCreated)
		}))
	}
	if res.update != nil {
		r.Patch(res.path+"/{id}", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			id := chi.URLParam(r, "id")
			version, err := ifMatch(r)
			if err != nil {
				return err
			}
			patch, err := readBody(r)
			if err != nil {
				return err
			}
			if err := res.patchable(patch); err != nil {
				return err
			}
			a := actorFrom(r.Context())
			cur, _, err := res.get(r.Context(), a, id)
			if err != nil {
				return err
			}
			merged, err := mergePatch(cur, patch)
			if err != nil {
				return err
			}
			if err := res.update(r.Context(), a, id, version, merged); err != nil {
				return err
			}
			return s.writeItem(w, r, res, id, http.StatusOK)
		}))
	}
	if res.del != nil {
		r.Delete(res.path+"/{id}", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			id := chi.URLParam(r, "id")
			ctx, err := deleteIfMatch(r, id)
			if err != nil {
				return err
			}
			if err := res.del(ctx, actorFrom(ctx), id); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}))
	}
}

func (s *Server) writeItem(w http.ResponseWriter, r *http.Request, res resource, id string, status int) error {
	v, version, err := res.get(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, badRequest("body", "The body could not be read.")
	}
	return b, nil
}

// strict decodes body into a B, refusing unknown members and wrong types.
func strict[B any](body []byte) (B, error) {
	var b B
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, jsonError(err)
	}
	if dec.More() {
		return b, badRequest("body", "The body holds more than one JSON value.")
	}
	return b, nil
}

// loose decodes a merged item into a B, ignoring the item's read-only
// members.
func loose[B any](body []byte) (B, error) {
	var b B
	if err := json.Unmarshal(body, &b); err != nil {
		return b, jsonError(err)
	}
	return b, nil
}

// checkPatch returns a patchable function for body type B.
func checkPatch[B any](body []byte) error {
	_, err := strict[B](body)
	return err
}

// mergePatch applies a JSON merge patch (RFC 7396, top level) to the
// current item's representation.
func mergePatch(cur any, patch []byte) ([]byte, error) {
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, badRequest("body", "The body must be a JSON object.")
	}
	for k, v := range p {
		m[k] = v
	}
	return json.Marshal(m)
}

// createWith builds a create function: decode B strictly, then call fn.
func createWith[B any](fn func(ctx context.Context, a models.Actor, b B) (string, error)) func(context.Context, models.Actor, []byte) (string, error) {
	return func(ctx context.Context, a models.Actor, body []byte) (string, error) {
		b, err := strict[B](body)
		if err != nil {
			return "", err
		}
		return fn(ctx, a, b)
	}
}

// updateWith builds an update function: decode the merged B, then call fn.
func updateWith[B any](fn func(ctx context.Context, a models.Actor, id string, version int, b B) error) func(context.Context, models.Actor, string, int, []byte) error {
	return func(ctx context.Context, a models.Actor, id string, version int, body []byte) error {
		b, err := loose[B](body)
		if err != nil {
			return err
		}
		return fn(ctx, a, id, version, b)
	}
}

// listWith builds a list function from a Store list use case.
func listWith[T, U any](fn func(context.Context, models.Actor, string, models.ListOptions) (models.Page[T], error), conv func(T) U) func(context.Context, models.Actor, string, models.ListOptions) (any, error) {
	return func(ctx context.Context, a models.Actor, parent string, opt models.ListOptions) (any, error) {
		p, err := fn(ctx, a, parent, opt)
		if err != nil {
			return nil, err
		}
		return pageOf(p, conv), nil
	}
}

// getWith builds a get function from a Store read use case.
func getWith[T, U any](fn func(context.Context, models.Actor, string) (*T, error), conv func(*T) U, version func(*T) int) func(context.Context, models.Actor, string) (any, int, error) {
	return func(ctx context.Context, a models.Actor, id string) (any, int, error) {
		t, err := fn(ctx, a, id)
		if err != nil {
			return nil, 0, err
		}
		return conv(t), version(t), nil
	}
}

// idsBody is the body of the membership endpoints.
type idsBody struct {
	IDs []string `json:"ids"`
}

// members registers POST {path}/{id}/{sub} (add ids) and DELETE
// {path}/{id}/{sub}/{member} (remove one), answering the parent item.
func (s *Server) members(r chi.Router, res resource, sub string, add func(context.Context, models.Actor, string, []string) error,
	remove func(context.Context, models.Actor, string, string) error) {
	r.Post(res.path+"/{id}/"+sub, s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		var in idsBody
		if err := decode(r, &in); err != nil {
			return err
		}
		if len(in.IDs) == 0 {
			return &models.ValidationError{Fields: map[string]string{"ids": "Name at least one id."}}
		}
		if err := add(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), in.IDs); err != nil {
			return idsField(err)
		}
		return s.writeItem(w, r, res, chi.URLParam(r, "id"), http.StatusOK)
	}))
	r.Delete(res.path+"/{id}/"+sub+"/{member}", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		if err := remove(r.Context(), actorFrom(r.Context()), chi.URLParam(r, "id"), chi.URLParam(r, "member")); err != nil {
			return err
		}
		return s.writeItem(w, r, res, chi.URLParam(r, "id"), http.StatusOK)
	}))
}

// nameInput is the models input of resources whose form is a name and a
// description (groups, roles, host catalogs, credential stores).
type nameInput interface {
	~struct{ Name, Description string }
}

// namedWrites builds create (body: scope_id, name, description) and update
// (name, description) from such a resource's Store use cases.
func namedWrites[In nameInput, T, U any](create func(context.Context, models.Actor, string, In) (*T, error), idOf func(*T) string,
	update func(context.Context, models.Actor, string, int, In) (*U, error)) (func(context.Context, models.Actor, []byte) (string, error), func(context.Context, models.Actor, string, int, []byte) error) {
	return createWith(func(ctx context.Context, a models.Actor, b scopedNameBody) (string, error) {
			t, err := create(ctx, a, b.ScopeID, In{Name: b.Name, Description: b.Description})
			if err != nil {
				return "", err
			}
			return idOf(t), nil
		}), updateWith(func(ctx context.Context, a models.Actor, id string, v int, b nameBody) error {
			_, err := update(ctx, a, id, v, In{Name: b.Name, Description: b.Description})
			return err
		})
}

// idsField names the body's "ids" member in a membership's field errors:
// the Store names the form's field ("library_ids", "host_ids", …).
func idsField(err error) error {
	fields := models.FieldErrors(err)
	if fields == nil {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		if strings.HasSuffix(k, "_ids") {
			k = "ids"
		}
		out[k] = v
	}
	return &models.ValidationError{Fields: out}
}
