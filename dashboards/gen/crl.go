//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

package main

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// crl is the CRL canary's dashboard: are revocations listed at every origin
// in time, are the CRLs valid and fresh, does the CDN keep up.
func crl() *dashboard.DashboardBuilder {
	const (
		org   = `origin=~"$origin"`
		shard = `shard=~"$shard"`
	)
	l := newBoard("certstatus-crl", "certstatus / CRLs",
		"Every CRL shard at every origin and through the CDN: revocations listed in time, BR checks, freshness, CDN lag.",
		labelVar("origin", "certstatus_crl_up", true), labelVar("shard", "certstatus_crl_up", true),
		labelVar("replica", "certstatus_replica_up", true))
	l.row("Is every revocation listed? (BR 4.9.7: within 24 hours)")
	l.stat("Overdue revocations", "Revocations in the CA's record not on this origin's CRLs after revocation_deadline. Above 0 is a Baseline Requirements breach; /status names the serials.", "short", steps("green", 1, "red"), 6, 5,
		target{`certstatus_crl_revocations` + sel(`state="overdue"`, org), "{{origin}}"})
	l.stat("Pending revocations", "Not listed yet, within the deadline.", "short", steps("green", 1, "yellow"), 6, 5,
		target{`certstatus_crl_revocations` + sel(`state="pending"`, org), "{{origin}}"})
	l.stat("Mismatched", "Listed with another date or reason than the CA recorded.", "short", steps("green", 1, "orange"), 6, 5,
		target{`certstatus_crl_revocations` + sel(`state="mismatched"`, org), "{{origin}}"})
	l.stat("Early removals (24h)", "Serials that left a CRL while still revoked and unexpired (BR 4.10.1).", "short", steps("green", 1, "red"), 6, 5,
		target{`increase(certstatus_crl_early_removals_total` + sel(org) + `[24h])`, "{{origin}}"})
	l.timeseries("Revocations by state", "Per origin; a paused or lagging replica shows as pending, then overdue, at its origin only.", "short", 12, 8,
		target{`certstatus_crl_revocations` + sel(org), "{{origin}} {{state}}"})
	l.timeseries("Revocations at OCSP", "What the OCSP origins answer for the same revocations: revoked, pending or overdue.", "short", 12, 8,
		target{`certstatus_crl_ocsp_revocations` + sel(), "{{origin}} {{state}}"})
	l.timeseries("Replay lag of the replicas behind the origins", "A replica that does not replay renders CRLs without the newest revocations.", "s", 12, 8,
		target{`certstatus_replica_replay_lag_seconds` + sel(`replica=~"$replica"`), "{{replica}}"})
	l.row("Are the CRLs valid and fresh? (BR 7.2, 4.9.7)")
	l.stat("CRL checks passing", "The last fetch of each shard at each origin passed every check.", "bool_yes_no", steps("red", 1, "green"), 24, 5,
		target{`certstatus_crl_up` + sel(org, shard), "{{shard}} @ {{origin}}"})
	l.timeseries("Checks by result", "Fetch-and-checks per second by result; anything but ok is a finding.", "reqps", 12, 8,
		target{`sum by (origin, result) (rate(certstatus_crl_checks_total` + sel(org, shard) + `[$__rate_interval])) > 0`, "{{origin}} {{result}}"})
	l.timeseries("Age of thisUpdate", "time() − thisUpdate; a new CRL at least every 7 days.", "s", 12, 8,
		target{`time() - certstatus_crl_this_update_timestamp_seconds` + sel(org, shard), "{{shard}} @ {{origin}}"})
	l.timeseries("Time to nextUpdate", "Once past, relying parties treat the CRL as stale.", "s", 12, 8,
		target{`certstatus_crl_next_update_timestamp_seconds` + sel(org, shard) + ` - time()`, "{{shard}} @ {{origin}}"})
	l.timeseries("CRLNumber", "Strictly increasing per shard; a drop is an old CRL served again.", "none", 12, 8,
		target{`certstatus_crl_number` + sel(org, shard), "{{shard}} @ {{origin}}"})
	l.timeseries("Entries and size", "Revoked certificates listed and bytes per shard.", "short", 12, 8,
		target{`certstatus_crl_entries` + sel(org, shard), "entries {{shard}} @ {{origin}}"}, target{`certstatus_crl_size_bytes` + sel(org, shard), "bytes {{shard}} @ {{origin}}"})
	l.timeseries("Fetch duration", "BR 4.10.2: within 10 seconds.", "s", 12, 8,
		target{`certstatus_crl_fetch_duration_seconds` + sel(org, shard), "{{shard}} @ {{origin}}"})
	l.row("Does the CDN keep up?")
	l.timeseries("CDN lag", "Freshest origin's thisUpdate − the CDN's, per shard.", "s", 12, 8,
		target{`certstatus_crl_cdn_lag_seconds` + sel(shard), "{{shard}} @ {{origin}}"})
	l.timeseries("CDN disagreements", "1 while the CDN's copy differs from the freshest origin's in number, thisUpdate or content.", "short", 12, 8,
		target{`certstatus_crl_cdn_disagreement` + sel(shard), "{{shard}} @ {{origin}} {{field}}"})
	l.row("Partitioning and the revocation record")
	l.stat("Serials on two shards", "A serial belongs to exactly one partition.", "short", steps("green", 1, "orange"), 12, 5,
		target{`certstatus_crl_duplicate_serials` + sel(org), "{{origin}}"})
	l.stat("Revocation record readable", "The last read of the CA's revocation record succeeded.", "bool_yes_no", steps("red", 1, "green"), 12, 5,
		target{`certstatus_crl_revocation_source_up` + sel(), "revocations"})
	return l.d
}
