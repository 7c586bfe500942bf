// Command gen writes the Grafana dashboards in dashboards/ (go run
// ./dashboards/gen). The JSON is committed; a test checks it is current.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := "dashboards"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for name, d := range Dashboards() {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

type obj = map[string]any

const ds = "${datasource}"

func datasourceVar() obj {
	return obj{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
		"current": obj{}, "hide": 0, "refresh": 1}
}

func labelVar(name, metric string, multi bool) obj {
	v := obj{"name": name, "label": name, "type": "query", "datasource": obj{"type": "prometheus", "uid": ds},
		"query":      obj{"query": fmt.Sprintf("label_values(%s, %s)", metric, name), "refId": "vars"},
		"definition": fmt.Sprintf("label_values(%s, %s)", metric, name),
		"refresh":    2, "sort": 1, "multi": multi, "includeAll": multi, "current": obj{}}
	if multi {
		v["allValue"] = ".*"
	}
	return v
}

type target struct{ expr, legend string }

// layout places panels on Grafana's 24-column grid.
type layout struct {
	x, y, rowH int
	nextID     int
	panels     []obj
}

func (l *layout) add(p obj, w, h int) {
	if l.x+w > 24 {
		l.x, l.y = 0, l.y+l.rowH
		l.rowH = 0
	}
	l.nextID++
	p["id"] = l.nextID
	p["gridPos"] = obj{"x": l.x, "y": l.y, "w": w, "h": h}
	p["datasource"] = obj{"type": "prometheus", "uid": ds}
	l.x += w
	l.rowH = max(l.rowH, h)
	l.panels = append(l.panels, p)
}

func (l *layout) row(title string) {
	if l.x > 0 {
		l.x, l.y = 0, l.y+l.rowH
	}
	l.nextID++
	l.panels = append(l.panels, obj{"id": l.nextID, "type": "row", "title": title, "collapsed": false,
		"gridPos": obj{"x": 0, "y": l.y, "w": 24, "h": 1}, "panels": []any{}})
	l.y++
	l.rowH = 0
}

func targets(ts []target) []obj {
	out := make([]obj, len(ts))
	for i, t := range ts {
		out[i] = obj{"refId": string(rune('A' + i)), "expr": t.expr, "legendFormat": t.legend,
			"datasource": obj{"type": "prometheus", "uid": ds}}
	}
	return out
}

func timeseries(title, desc, unit string, ts ...target) obj {
	return obj{"type": "timeseries", "title": title, "description": desc, "targets": targets(ts),
		"fieldConfig": obj{"defaults": obj{"unit": unit}, "overrides": []any{}},
		"options":     obj{"legend": obj{"displayMode": "table", "placement": "bottom", "calcs": []string{"lastNotNull", "max"}}}}
}

func stat(title, desc, unit string, thresholds []obj, ts ...target) obj {
	return obj{"type": "stat", "title": title, "description": desc, "targets": targets(ts),
		"fieldConfig": obj{"defaults": obj{"unit": unit, "thresholds": obj{"mode": "absolute", "steps": thresholds}}, "overrides": []any{}},
		"options":     obj{"colorMode": "background", "graphMode": "none", "reduceOptions": obj{"calcs": []string{"lastNotNull"}}}}
}

func steps(base string, at ...any) []obj {
	s := []obj{{"color": base, "value": nil}}
	for i := 0; i+1 < len(at); i += 2 {
		s = append(s, obj{"color": at[i+1], "value": at[i]})
	}
	return s
}

func dashboard(uid, title, desc string, vars []obj, l *layout) obj {
	return obj{"uid": uid, "title": title, "description": desc, "tags": []string{"certstatus", "ocsp", "postgresql"},
		"timezone": "utc", "schemaVersion": 39, "version": 1, "editable": true, "refresh": "30s",
		"time": obj{"from": "now-6h", "to": "now"}, "templating": obj{"list": vars}, "panels": l.panels,
		"links": []obj{{"type": "dashboards", "tags": []string{"certstatus"}, "asDropdown": true, "title": "certstatus"}},
		"annotations": obj{"list": []obj{{"name": "Alerts", "type": "dashboard", "builtIn": 1, "enable": true, "hide": true,
			"datasource": obj{"type": "grafana", "uid": "-- Grafana --"}, "iconColor": "rgba(0, 211, 255, 1)"}}}}
}

// Dashboards returns every dashboard by file name.
func Dashboards() map[string]obj {
	return map[string]obj{
		"certstatus-fleet.json":   fleet(),
		"certstatus-replica.json": replica(),
		"certstatus-origin.json":  origin(),
		"certstatus-crl.json":     crl(),
	}
}

const (
	rsel = `replica=~"$replica"`
	osel = `origin=~"$origin"`
)

func fleet() obj {
	l := &layout{}
	l.row("Is every answer authoritative? (BR 4.9.9: within 15 minutes)")
	l.add(stat("Overdue certificates", "Certificates older than the SLA without an authoritative answer, per origin. Anything above 0 is a Baseline Requirements breach.", "short",
		steps("green", 1, "red"), target{`certstatus_ocsp_certificates{state="overdue",` + osel + `}`, "{{origin}}"}), 8, 5)
	l.add(stat("Pending certificates", "Younger than the SLA and not yet authoritative, per origin.", "short",
		steps("green", 1, "yellow"), target{`certstatus_ocsp_certificates{state="pending",` + osel + `}`, "{{origin}}"}), 8, 5)
	l.add(stat("Origins answering", "Whether each origin's last answer was an OCSP response of any status.", "bool_yes_no",
		steps("red", 1, "green"), target{`certstatus_ocsp_origin_up{` + osel + `}`, "{{origin}}"}), 8, 5)
	l.add(timeseries("Answer mix by origin", "Canary checks per second by result.", "reqps",
		target{`sum by (origin, result) (rate(certstatus_ocsp_responses_total{` + osel + `}[$__rate_interval]))`, "{{origin}} {{result}}"}), 12, 8)
	l.add(timeseries("Time to authoritative (p50, p99)", "From issuance to the first good or revoked answer.", "s",
		target{`histogram_quantile(0.5, sum by (origin, le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket{` + osel + `}[$__rate_interval])))`, "p50 {{origin}}"},
		target{`histogram_quantile(0.99, sum by (origin, le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket{` + osel + `}[$__rate_interval])))`, "p99 {{origin}}"}), 12, 8)
	l.row("Will it still be in ten minutes? Replication")
	l.add(stat("Streaming", "WAL receiver streaming, per replica.", "bool_yes_no",
		steps("red", 1, "green"), target{`certstatus_replica_wal_receiver_streaming{` + rsel + `}`, "{{replica}}"}), 8, 5)
	l.add(stat("WAL lost", "The primary no longer has WAL this replica needs: rebuild it.", "bool_yes_no",
		steps("green", 1, "red"), target{`certstatus_replica_wal_lost{` + rsel + `}`, "{{replica}}"}), 8, 5)
	l.add(stat("Time to WAL loss", "Headroom ÷ how fast the gap grows; +Inf when it does not grow.", "s",
		steps("red", 600, "yellow", 3600, "green"), target{`certstatus_replica_wal_loss_eta_seconds{` + rsel + `}`, "{{replica}}"}), 8, 5)
	l.add(timeseries("Replay lag", "How long ago the primary was at each replica's replay position.", "s",
		target{`certstatus_replica_replay_lag_seconds{` + rsel + `}`, "{{replica}}"}), 12, 8)
	l.add(timeseries("WAL headroom", "Bytes the primary may still write before removing WAL each replica needs.", "bytes",
		target{`certstatus_replica_wal_headroom_bytes{` + rsel + `}`, "{{replica}}"},
		target{`certstatus_primary_wal_keep_bytes`, "wal_keep_size"}), 12, 8)
	l.add(timeseries("Receive lag", "WAL flushed on the primary but not received by each replica.", "bytes",
		target{`certstatus_replica_receive_lag_bytes{` + rsel + `}`, "{{replica}}"}), 12, 8)
	l.add(timeseries("Primary WAL rate", "Bytes of WAL written per second.", "Bps",
		target{`certstatus_primary_wal_rate_bytes_per_second`, "WAL rate"}), 12, 8)
	l.row("Exporter")
	l.add(timeseries("Probe staleness", "Seconds since each probe target last succeeded.", "s",
		target{`time() - certstatus_probe_last_success_timestamp_seconds`, "{{probe}} {{target}}"}), 12, 7)
	l.add(timeseries("Probe failures", "Failed probes per second by reason.", "reqps",
		target{`sum by (probe, target, reason) (rate(certstatus_probe_failures_total[$__rate_interval])) > 0`, "{{probe}} {{target}} {{reason}}"}), 12, 7)
	return dashboard("certstatus-fleet", "certstatus / Fleet overview",
		"Every replica's lag, headroom, ETA and streaming state; every origin's overdue and pending counts and answer mix.",
		[]obj{datasourceVar(), labelVar("replica", "certstatus_replica_up", true), labelVar("origin", "certstatus_ocsp_certificates", true)}, l)
}

func replica() obj {
	const sel = `replica="$replica"`
	l := &layout{}
	l.row("State")
	l.add(stat("Probe up", "The exporter can query this replica.", "bool_yes_no", steps("red", 1, "green"),
		target{`certstatus_replica_up{` + sel + `}`, ""}), 4, 4)
	l.add(stat("Streaming", "WAL receiver streaming.", "bool_yes_no", steps("red", 1, "green"),
		target{`certstatus_replica_wal_receiver_streaming{` + sel + `}`, ""}), 4, 4)
	l.add(stat("Replay paused", "pg_wal_replay_pause() in effect.", "bool_yes_no", steps("green", 1, "orange"),
		target{`certstatus_replica_replay_paused{` + sel + `}`, ""}), 4, 4)
	l.add(stat("WAL lost", "Cannot catch up by streaming.", "bool_yes_no", steps("green", 1, "red"),
		target{`certstatus_replica_wal_lost{` + sel + `}`, ""}), 4, 4)
	l.add(stat("Time to WAL loss", "At the recent WAL rates.", "s", steps("red", 600, "yellow", 3600, "green"),
		target{`certstatus_replica_wal_loss_eta_seconds{` + sel + `}`, ""}), 4, 4)
	l.add(stat("Last message from primary", "Seconds since the WAL receiver heard from the sender.", "s", steps("green", 60, "yellow", 300, "red"),
		target{`certstatus_replica_last_message_age_seconds{` + sel + `}`, ""}), 4, 4)
	l.row("Lag")
	l.add(timeseries("Replay lag (seconds)", "How long ago the primary was at the replay position.", "s",
		target{`certstatus_replica_replay_lag_seconds{` + sel + `}`, "replay lag"}), 12, 8)
	l.add(timeseries("Lag (bytes)", "Flushed on the primary but not yet received / replayed.", "bytes",
		target{`certstatus_replica_receive_lag_bytes{` + sel + `}`, "receive"},
		target{`certstatus_replica_replay_lag_bytes{` + sel + `}`, "replay"}), 12, 8)
	l.row("WAL retention")
	l.add(timeseries("Headroom and retention", "Headroom for this replica against what the primary keeps.", "bytes",
		target{`certstatus_replica_wal_headroom_bytes{` + sel + `}`, "headroom"},
		target{`certstatus_primary_wal_retained_bytes`, "retained in pg_wal"},
		target{`certstatus_primary_wal_keep_bytes`, "wal_keep_size"}), 12, 8)
	l.add(timeseries("WAL rate", "Primary WAL written per second.", "Bps",
		target{`certstatus_primary_wal_rate_bytes_per_second`, "primary"}), 12, 8)
	l.add(timeseries("Probe failures", "Failed probes of this replica per second by reason.", "reqps",
		target{`sum by (reason) (rate(certstatus_probe_failures_total{probe="replica",target="$replica"}[$__rate_interval]))`, "{{reason}}"}), 12, 7)
	l.add(timeseries("Probe duration", "How long each probe took.", "s",
		target{`certstatus_probe_duration_seconds{probe="replica",target="$replica"}`, "duration"}), 12, 7)
	return dashboard("certstatus-replica", "certstatus / Replica", "One replica: lag, WAL retention headroom, time to WAL loss.",
		[]obj{datasourceVar(), labelVar("replica", "certstatus_replica_up", false)}, l)
}

func origin() obj {
	const sel = `origin="$origin"`
	l := &layout{}
	l.row("Authoritative answers")
	l.add(stat("Overdue", "Older than the SLA without an authoritative answer here.", "short", steps("green", 1, "red"),
		target{`certstatus_ocsp_certificates{` + sel + `,state="overdue"}`, ""}), 6, 4)
	l.add(stat("Pending", "Younger than the SLA, not yet authoritative here.", "short", steps("green", 1, "yellow"),
		target{`certstatus_ocsp_certificates{` + sel + `,state="pending"}`, ""}), 6, 4)
	l.add(stat("Authoritative", "Latest answer good or revoked.", "short", steps("green"),
		target{`certstatus_ocsp_certificates{` + sel + `,state="authoritative"}`, ""}), 6, 4)
	l.add(stat("Origin answering", "Last answer was an OCSP response.", "bool_yes_no", steps("red", 1, "green"),
		target{`certstatus_ocsp_origin_up{` + sel + `}`, ""}), 6, 4)
	l.add(timeseries("Certificates by state", "", "short",
		target{`certstatus_ocsp_certificates{` + sel + `}`, "{{state}}"}), 12, 8)
	l.add(timeseries("Answers by result", "Canary checks per second.", "reqps",
		target{`sum by (result) (rate(certstatus_ocsp_responses_total{` + sel + `}[$__rate_interval])) > 0`, "{{result}}"}), 12, 8)
	l.add(timeseries("Time to authoritative", "Issuance to first good/revoked answer.", "s",
		target{`histogram_quantile(0.5, sum by (le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket{` + sel + `}[$__rate_interval])))`, "p50"},
		target{`histogram_quantile(0.99, sum by (le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket{` + sel + `}[$__rate_interval])))`, "p99"}), 12, 8)
	l.add(timeseries("Request duration", "OCSP request latency.", "s",
		target{`histogram_quantile(0.5, sum by (le) (rate(certstatus_ocsp_request_duration_seconds_bucket{` + sel + `}[$__rate_interval])))`, "p50"},
		target{`histogram_quantile(0.99, sum by (le) (rate(certstatus_ocsp_request_duration_seconds_bucket{` + sel + `}[$__rate_interval])))`, "p99"}), 12, 8)
	l.row("Freshness and caching (BR 4.9.10; the Sectigo CDN case)")
	l.add(timeseries("Age of the oldest and newest answer", "time() − thisUpdate; BR: refresh at least every 4 days.", "s",
		target{`time() - certstatus_ocsp_oldest_this_update_timestamp_seconds{` + sel + `}`, "oldest"},
		target{`time() - certstatus_ocsp_newest_this_update_timestamp_seconds{` + sel + `}`, "newest"}), 8, 8)
	l.add(timeseries("Time to nextUpdate", "BR: a fresh answer at least 8 hours before nextUpdate.", "s",
		target{`certstatus_ocsp_earliest_next_update_timestamp_seconds{` + sel + `} - time()`, "earliest nextUpdate"},
		target{`certstatus_ocsp_latest_next_update_timestamp_seconds{` + sel + `} - time()`, "latest nextUpdate"}), 8, 8)
	l.add(timeseries("Cacheable errors and CDN disagreements", "Error answers a CDN may keep; certificates the CDN answers worse.", "short",
		target{`sum by (result) (increase(certstatus_ocsp_cacheable_error_responses_total{` + sel + `}[$__rate_interval]))`, "cacheable {{result}}"},
		target{`certstatus_ocsp_cdn_disagreements{` + sel + `}`, "CDN {{kind}}"}), 8, 8)
	l.row("Certificate sources")
	l.add(stat("Sources up", "Each source readable.", "bool_yes_no", steps("red", 1, "green"),
		target{`certstatus_certificate_source_up`, "{{source}}"}), 8, 6)
	l.add(timeseries("Discovered", "New certificates per second by source and kind.", "reqps",
		target{`sum by (source, kind) (rate(certstatus_certificates_discovered_total[$__rate_interval]))`, "{{source}} {{kind}}"}), 8, 6)
	l.add(timeseries("Source errors and evictions", "Unusable certificates by reason; evictions at max_tracked.", "short",
		target{`sum by (source, reason) (increase(certstatus_certificate_source_errors_total[$__rate_interval])) > 0`, "{{source}} {{reason}}"},
		target{`increase(certstatus_ocsp_evicted_certificates_total[$__rate_interval])`, "evicted"},
		target{`certstatus_ocsp_tracked_certificates`, "tracked"}), 8, 6)
	return dashboard("certstatus-origin", "certstatus / OCSP origin", "One origin (or the CDN): answers, states, freshness, caching.",
		[]obj{datasourceVar(), labelVar("origin", "certstatus_ocsp_certificates", false)}, l)
}
