package exporter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

type fakeRevocations []view.Revocation

func (f fakeRevocations) UnlistedRevocations() []view.Revocation { return f }

func TestAPIRevocations(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	lister := fakeRevocations{
		{Serial: "0a", Origin: "origin-1", State: "overdue", RevokedAt: at},
		{Serial: "0b", Origin: "origin-1", State: "pending", RevokedAt: at},
	}
	v := incidentView{state: func() viewState { return viewState{components: []any{"not a lister", lister}} }}
	get := func(q string) (int, apiRevocations) {
		rec := httptest.NewRecorder()
		v.serveAPIRevocations(rec, httptest.NewRequest(http.MethodGet, "/api/v1/revocations"+q, nil))
		var out apiRevocations
		_ = json.NewDecoder(rec.Body).Decode(&out)
		return rec.Code, out
	}
	if code, out := get("?state=overdue"); code != 200 || out.Total != 1 || out.Revocations[0].Serial != "0a" {
		t.Errorf("overdue: %d %+v", code, out)
	}
	if code, out := get(""); code != 200 || out.Total != 2 {
		t.Errorf("all: %d %+v", code, out)
	}
	if code, _ := get("?state=listed"); code != http.StatusBadRequest {
		t.Errorf("state=listed: %d", code)
	}
}
