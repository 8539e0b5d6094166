package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gatehouse/models"
	"gatehouse/views"
)

// WebhookStore is what the webhook pages need from the domain.
type WebhookStore interface {
	ListWebhooks(ctx context.Context, a models.Actor) ([]models.Webhook, error)
	GetWebhook(ctx context.Context, a models.Actor, id string) (*models.Webhook, error)
	CreateWebhook(ctx context.Context, a models.Actor, in models.WebhookInput) (*models.Webhook, string, error)
	UpdateWebhook(ctx context.Context, a models.Actor, id string, version int, in models.WebhookInput) error
	DeleteWebhook(ctx context.Context, a models.Actor, id string) error
	ListWebhookDeliveries(ctx context.Context, a models.Actor, endpointID string, before int64) (*models.WebhookDeliveryPage, error)
	RedeliverWebhook(ctx context.Context, a models.Actor, endpointID, deliveryID string) error
}

// Webhooks serves the webhook endpoint pages and their delivery logs.
type Webhooks struct {
	Base
	Store WebhookStore
}

var webhookFields = []string{"name", "url", "format", "expiring_lead", "enabled", "version"}

// List renders the endpoints (GET /webhooks).
func (h Webhooks) List(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Store.ListWebhooks(r.Context(), ActorFrom(r.Context()))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.WebhooksPage(h.Meta(r, "Webhooks", "webhooks"), list))
}

// New renders the create form (GET /webhooks/new).
func (h Webhooks) New(w http.ResponseWriter, r *http.Request) error {
	f := views.Form{Values: map[string]string{"expiring_lead": "15", "event_types": "session.*"}}
	return render(w, r, http.StatusOK, views.WebhookFormPage(h.Meta(r, "New webhook", "webhooks"), "New webhook", "/webhooks/new", 0, f, false))
}

// webhookInput reads the endpoint form.
func webhookInput(r *http.Request) (models.WebhookInput, views.Form) {
	f := formValues(r, webhookFields...)
	types := r.PostForm["event_types"]
	f.Values["event_types"] = strings.Join(types, " ")
	lead, err := strconv.Atoi(strings.TrimSpace(f.V("expiring_lead")))
	if err != nil && f.V("expiring_lead") != "" {
		lead = -1
	}
	return models.WebhookInput{Name: f.V("name"), URL: f.V("url"), EventTypes: types, Format: f.V("format"),
		ExpiringLead: lead, Enabled: f.Checked("enabled")}, f
}

// Create registers an endpoint and shows its secret once (POST /webhooks/new).
func (h Webhooks) Create(w http.ResponseWriter, r *http.Request) error {
	in, f := webhookInput(r)
	wh, secret, err := h.Store.CreateWebhook(r.Context(), ActorFrom(r.Context()), in)
	if err == nil {
		m := h.Meta(r, "Webhook created", "webhooks")
		m.ReplaceURL = "/webhooks/" + wh.ID
		return render(w, r, http.StatusCreated, views.WebhookSecretPage(m, wh, secret))
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.WebhookFormPage(h.Meta(r, "New webhook", "webhooks"), "New webhook", "/webhooks/new", 0, f, false))
}

// Show renders an endpoint and its delivery log (GET /webhooks/{id}).
func (h Webhooks) Show(w http.ResponseWriter, r *http.Request) error {
	ctx, a, id := r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")
	wh, err := h.Store.GetWebhook(ctx, a, id)
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	page, err := h.Store.ListWebhookDeliveries(ctx, a, id, before)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.WebhookPage(h.Meta(r, wh.Name, "webhooks"), wh, page))
}

// Edit renders the edit form (GET /webhooks/{id}/edit).
func (h Webhooks) Edit(w http.ResponseWriter, r *http.Request) error {
	wh, err := h.Store.GetWebhook(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	f := views.Form{Values: map[string]string{"name": wh.Name, "url": wh.URL, "event_types": wh.EventTypes, "format": wh.Format,
		"expiring_lead": strconv.Itoa(wh.ExpiringLead / 60), "enabled": strconv.FormatBool(wh.Enabled)}}
	return render(w, r, http.StatusOK, views.WebhookFormPage(h.Meta(r, "Edit "+wh.Name, "webhooks"), "Edit webhook", "/webhooks/"+wh.ID+"/edit", wh.Version, f, true))
}

// Update saves the edit form (POST /webhooks/{id}/edit).
func (h Webhooks) Update(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	in, f := webhookInput(r)
	err := h.Store.UpdateWebhook(r.Context(), ActorFrom(r.Context()), id, atoi(f.V("version")), in)
	if err == nil {
		return redirect(w, r, "/webhooks/"+id+"?done=saved")
	}
	if f, err = withErrors(f, err); err != nil {
		return err
	}
	return render(w, r, http.StatusUnprocessableEntity, views.WebhookFormPage(h.Meta(r, "Edit webhook", "webhooks"), "Edit webhook", "/webhooks/"+id+"/edit", atoi(f.V("version")), f, true))
}

// ConfirmDelete asks before deleting (GET /webhooks/{id}/delete).
func (h Webhooks) ConfirmDelete(w http.ResponseWriter, r *http.Request) error {
	wh, err := h.Store.GetWebhook(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	// Reading an endpoint is the webhook grant's only per-item check before
	// DeleteWebhook decides.
	return h.confirmDeleteIn(w, r, "webhooks", true, deletePage{"webhook", wh.Name, "/webhooks/" + wh.ID,
		"Its delivery log is deleted with it; events not yet delivered are dropped."}, withoutCrumbs)
}

// Delete deletes an endpoint and its delivery log (POST /webhooks/{id}/delete).
func (h Webhooks) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.Store.DeleteWebhook(r.Context(), ActorFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	return redirect(w, r, "/webhooks?done=deleted")
}

// Redeliver queues a delivery again with the same webhook-id
// (POST /webhooks/{id}/deliveries/{delivery}/redeliver).
func (h Webhooks) Redeliver(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := h.Store.RedeliverWebhook(r.Context(), ActorFrom(r.Context()), id, chi.URLParam(r, "delivery")); err != nil {
		return err
	}
	return redirect(w, r, "/webhooks/"+id+"?done=queued")
}
