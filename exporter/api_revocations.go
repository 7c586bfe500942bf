package exporter

import (
	"net/http"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

type apiRevocations struct {
	State       string            `json:"state,omitempty"`
	Total       int               `json:"total"`
	Revocations []view.Revocation `json:"revocations"`
}

// serveAPIRevocations lists the revocations some origin does not list as the
// CA recorded them: ?state=overdue|pending|mismatched, or all of them.
func (v incidentView) serveAPIRevocations(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case "", "overdue", "pending", "mismatched":
	default:
		writeJSON(w, http.StatusBadRequest, apiError{"state must be overdue, pending or mismatched"})
		return
	}
	out := apiRevocations{State: state, Revocations: []view.Revocation{}}
	for _, c := range v.state().components {
		l, ok := c.(view.RevocationLister)
		if !ok {
			continue
		}
		for _, rv := range l.UnlistedRevocations() {
			if state == "" || rv.State == state {
				out.Revocations = append(out.Revocations, rv)
			}
		}
	}
	out.Total = len(out.Revocations)
	writeJSON(w, http.StatusOK, out)
}
