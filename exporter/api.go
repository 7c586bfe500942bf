package exporter

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/certstatus/certstatus_exporter/internal/view"
)

// API page sizes.
const (
	apiDefaultPerPage = 100
	apiMaxPerPage     = 1000
)

// number is a JSON float that may be infinite: finite values are numbers,
// ±Inf the strings "+Inf"/"-Inf" (as in Prometheus' own API), NaN null.
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	case math.IsNaN(f):
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

func optNumber(f *float64) *number {
	if f == nil {
		return nil
	}
	n := number(*f)
	return &n
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

type apiAnswer struct {
	Origin    string     `json:"origin"`
	State     string     `json:"state"`
	Result    string     `json:"result,omitempty"`
	Since     *time.Time `json:"since"`
	LastCheck *time.Time `json:"last_check"`
}

type apiCertificate struct {
	Serial      string    `json:"serial"`
	State       string    `json:"state"`
	Kind        string    `json:"kind"`
	Issuer      string    `json:"issuer"`
	PublishedAt time.Time `json:"published_at"`
	Provenance  string    `json:"provenance"`
	// MissingFromInventory: in CT log CTSource, in no inventory source.
	MissingFromInventory bool        `json:"missing_from_inventory,omitempty"`
	CTSource             string      `json:"ct_source,omitempty"`
	AgeSeconds           number      `json:"age_seconds"`
	Link                 string      `json:"link,omitempty"`
	Origins              []apiAnswer `json:"origins"`
}

type apiCertificates struct {
	State        string           `json:"state,omitempty"`
	Page         int              `json:"page"`
	PerPage      int              `json:"per_page"`
	Total        int              `json:"total"`
	Certificates []apiCertificate `json:"certificates"`
}

type apiReplica struct {
	Name             string     `json:"name"`
	Up               bool       `json:"up"`
	LastSuccess      *time.Time `json:"last_success"`
	Error            string     `json:"error,omitempty"`
	Streaming        *bool      `json:"streaming"`
	ReplayPaused     *bool      `json:"replay_paused"`
	ReceiveLagBytes  *number    `json:"receive_lag_bytes"`
	ReplayLagBytes   *number    `json:"replay_lag_bytes"`
	ReplayLagSeconds *number    `json:"replay_lag_seconds"`
	HeadroomBytes    *number    `json:"wal_headroom_bytes"`
	WALLost          *bool      `json:"wal_lost"`
	LossETASeconds   *number    `json:"wal_loss_eta_seconds"`
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// certificatesQuery reads ?state=&page=&per_page=; state is optional (all
// tracked certificates), anything unknown is a 400 naming the parameter.
func certificatesQuery(r *http.Request) (q view.CertificateQuery, state string, page, perPage int, err string) {
	v := r.URL.Query()
	state = v.Get("state")
	if state != "" && view.StateRank(state) < 0 {
		return q, "", 0, 0, "state: want overdue, pending or authoritative, got " + strconv.Quote(state)
	}
	q.State = state
	switch inv := v.Get("inventory"); inv {
	case "":
	case "missing":
		q.MissingFromInventory = true
	default:
		return q, "", 0, 0, "inventory: want missing, got " + strconv.Quote(inv)
	}
	page, perPage = 1, apiDefaultPerPage
	if p := v.Get("page"); p != "" {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > maxPage {
			return q, "", 0, 0, "page: want 1 to " + strconv.Itoa(maxPage) + ", got " + strconv.Quote(p)
		}
		page = n
	}
	if p := v.Get("per_page"); p != "" {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > apiMaxPerPage {
			return q, "", 0, 0, "per_page: want 1 to " + strconv.Itoa(apiMaxPerPage) + ", got " + strconv.Quote(p)
		}
		perPage = n
	}
	q.Offset, q.Limit = (page-1)*perPage, perPage
	return q, state, page, perPage, ""
}

func (v incidentView) serveAPICertificates(w http.ResponseWriter, r *http.Request) {
	q, state, page, perPage, bad := certificatesQuery(r)
	if bad != "" {
		writeJSON(w, http.StatusBadRequest, apiError{bad})
		return
	}
	st := v.state()
	certs, total := certificatePage(certListers(st.components), q)
	now := time.Now()
	out := apiCertificates{State: state, Page: page, PerPage: perPage, Total: total, Certificates: []apiCertificate{}}
	for _, c := range certs {
		ac := apiCertificate{Serial: c.Serial, State: c.Worst(), Kind: c.Kind, Issuer: c.Issuer,
			PublishedAt: c.PublishedAt.UTC(), Provenance: c.Provenance, AgeSeconds: number(now.Sub(c.PublishedAt).Seconds()),
			MissingFromInventory: c.MissingFromInventory, CTSource: c.CTSource,
			Link: certificateLink(st.link, c), Origins: []apiAnswer{}}
		for _, o := range c.Origins {
			ac.Origins = append(ac.Origins, apiAnswer{Origin: o.Origin, State: o.State, Result: o.Result,
				Since: optTime(o.Since), LastCheck: optTime(o.Asked)})
		}
		out.Certificates = append(out.Certificates, ac)
	}
	writeJSON(w, http.StatusOK, out)
}

// newAPIReplica: what was not measured is null, not zero.
func newAPIReplica(r view.Replica) apiReplica {
	a := apiReplica{Name: r.Name, Up: r.Up, LastSuccess: optTime(r.LastSuccess), Error: r.LastError}
	if !r.Up {
		return a
	}
	a.Streaming, a.ReplayPaused = &r.Streaming, &r.ReplayPaused
	a.ReceiveLagBytes, a.ReplayLagBytes = optNumber(r.ReceiveLagBytes), optNumber(r.ReplayLagBytes)
	lag := r.ReplayLagSecs
	a.ReplayLagSeconds = optNumber(&lag)
	a.HeadroomBytes, a.LossETASeconds = optNumber(r.HeadroomBytes), optNumber(r.LossETASecs)
	if r.HeadroomBytes != nil {
		a.WALLost = &r.WALLost
	}
	return a
}

func (v incidentView) serveAPIReplicas(w http.ResponseWriter, _ *http.Request) {
	in := gatherIncident(v.state().components)
	out := struct {
		Replicas []apiReplica `json:"replicas"`
	}{Replicas: []apiReplica{}}
	for _, r := range in.Replicas {
		out.Replicas = append(out.Replicas, newAPIReplica(r))
	}
	writeJSON(w, http.StatusOK, out)
}
