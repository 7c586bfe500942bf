//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

package main

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

func origin() *dashboard.DashboardBuilder {
	const one = `origin="$origin"`
	b := newBoard("certstatus-origin", "certstatus / OCSP origin", "One origin (or the CDN): answers, states, freshness, caching.",
		labelVar("origin", "certstatus_ocsp_certificates", false))
	quantiles := func(metric string) []target {
		q := func(p string) string {
			return `histogram_quantile(` + p + `, sum by (le) (rate(` + metric + `_bucket` + sel(one) + `[$__rate_interval])))`
		}
		return []target{{q("0.5"), "p50"}, {q("0.99"), "p99"}}
	}
	b.row("Authoritative answers")
	b.certificateStat("Overdue", "Older than the SLA without an authoritative answer here. Click the value for the serials.", steps("green", 1, "red"), "overdue", 6, 4,
		target{`certstatus_ocsp_certificates` + sel(one, `state="overdue"`), ""})
	b.certificateStat("Pending", "Younger than the SLA, not yet authoritative here. Click the value for the serials.", steps("green", 1, "yellow"), "pending", 6, 4,
		target{`certstatus_ocsp_certificates` + sel(one, `state="pending"`), ""})
	b.stat("Authoritative", "Latest answer good or revoked.", "short", steps("green"), 6, 4,
		target{`certstatus_ocsp_certificates` + sel(one, `state="authoritative"`), ""})
	b.stat("Origin answering", "Last answer was an OCSP response.", "bool_yes_no", steps("red", 1, "green"), 6, 4,
		target{`certstatus_ocsp_origin_up` + sel(one), ""})
	b.timeseries("Certificates by state", "Tracked certificates by their state at this origin.", "short", 12, 8,
		target{`certstatus_ocsp_certificates` + sel(one), "{{state}}"})
	b.timeseries("Answers by result", "Canary checks per second.", "reqps", 12, 8,
		target{`sum by (result) (rate(certstatus_ocsp_responses_total` + sel(one) + `[$__rate_interval])) > 0`, "{{result}}"})
	b.timeseries("Time to authoritative", "Issuance to first good/revoked answer.", "s", 12, 8,
		quantiles("certstatus_ocsp_time_to_authoritative_seconds")...)
	b.timeseries("Request duration", "OCSP request latency.", "s", 12, 8,
		quantiles("certstatus_ocsp_request_duration_seconds")...)

	b.row("Freshness and caching (BR 4.9.10; the Sectigo CDN case)")
	b.timeseries("Age of the oldest and newest answer", "time() − thisUpdate; BR: refresh at least every 4 days.", "s", 8, 8,
		target{`time() - certstatus_ocsp_oldest_this_update_timestamp_seconds` + sel(one), "oldest"},
		target{`time() - certstatus_ocsp_newest_this_update_timestamp_seconds` + sel(one), "newest"})
	b.timeseries("Time to nextUpdate", "BR: a fresh answer at least 8 hours before nextUpdate.", "s", 8, 8,
		target{`certstatus_ocsp_earliest_next_update_timestamp_seconds` + sel(one) + ` - time()`, "earliest nextUpdate"},
		target{`certstatus_ocsp_latest_next_update_timestamp_seconds` + sel(one) + ` - time()`, "latest nextUpdate"})
	b.timeseries("Cacheable errors and CDN disagreements", "Error answers a CDN may keep; certificates the CDN answers worse.", "short", 8, 8,
		target{`sum by (result) (increase(certstatus_ocsp_cacheable_error_responses_total` + sel(one) + `[$__rate_interval]))`, "cacheable {{result}}"},
		target{`certstatus_ocsp_cdn_disagreements` + sel(one), "CDN {{kind}}"})

	b.row("Compliance (what crt.sh and root programs ask; docs/compliance.md)")
	b.stat("Compliance checks", "Last round: unissued serials not good, SHA-256 CertID, // and + GETs, answer within 10 s.", "bool_yes_no", steps("red", 1, "green"), 12, 6,
		target{`certstatus_ocsp_compliance_passed` + sel(one), "{{check}}"})
	b.timeseries("Compliance answers by result", "Compliance requests by check and the answer's result.", "short", 12, 6,
		target{`sum by (check, result) (increase(certstatus_ocsp_compliance_checks_total` + sel(one) + `[$__rate_interval])) > 0`, "{{check}} {{result}}"})

	b.row("Certificate sources")
	b.stat("Sources up", "Each source readable.", "bool_yes_no", steps("red", 1, "green"), 8, 6,
		target{`certstatus_certificate_source_up` + sel(), "{{source}}"})
	b.timeseries("Discovered", "New certificates per second by source and kind.", "reqps", 8, 6,
		target{`sum by (source, kind) (rate(certstatus_certificates_discovered_total` + sel() + `[$__rate_interval]))`, "{{source}} {{kind}}"})
	b.timeseries("Source errors and evictions", "Unusable certificates by reason; evictions at max_tracked.", "short", 8, 6,
		target{`sum by (source, reason) (increase(certstatus_certificate_source_errors_total` + sel() + `[$__rate_interval])) > 0`, "{{source}} {{reason}}"},
		target{`increase(certstatus_ocsp_evicted_certificates_total` + sel() + `[$__rate_interval])`, "evicted"},
		target{`certstatus_ocsp_tracked_certificates` + sel(), "tracked"})

	b.row("CT logs (sources of type ct; docs/ct.md)")
	b.timeseries("Entries behind", "Entries of the last verified tree not read yet; above 0 for 10 minutes pages.", "short", 8, 6,
		target{`certstatus_ct_log_entries_behind` + sel(), "{{source}}"})
	b.timeseries("Entries read and matched", "Entries per second read (authenticated) and of a configured issuer.", "reqps", 8, 6,
		target{`rate(certstatus_ct_log_entries_read_total` + sel() + `[$__rate_interval])`, "{{source}} read"},
		target{`rate(certstatus_ct_log_entries_matched_total` + sel() + `[$__rate_interval])`, "{{source}} matched"})
	b.timeseries("Log errors and tree head age", "Failed reads by reason (inconsistent, bad_signature: refused); age of the last verified tree head.", "short", 8, 6,
		target{`sum by (source, reason) (increase(certstatus_ct_log_errors_total` + sel() + `[$__rate_interval])) > 0`, "{{source}} {{reason}}"},
		target{`time() - certstatus_ct_log_tree_timestamp_seconds` + sel(), "{{source}} tree head age (s)"})
	return b.d
}
