package main

// crl is the CRL canary's dashboard: are revocations listed at every origin
// in time, are the CRLs valid and fresh, does the CDN keep up.
func crl() obj {
	const (
		sel   = `origin=~"$origin"`
		shard = `shard=~"$shard"`
	)
	l := &layout{}
	l.row("Is every revocation listed? (BR 4.9.7: within 24 hours)")
	l.add(stat("Overdue revocations", "Revocations in the CA's record not on this origin's CRLs after revocation_deadline. Above 0 is a Baseline Requirements breach; /status names the serials.", "short",
		steps("green", 1, "red"), target{`certstatus_crl_revocations{state="overdue",` + sel + `}`, "{{origin}}"}), 6, 5)
	l.add(stat("Pending revocations", "Not listed yet, within the deadline.", "short",
		steps("green", 1, "yellow"), target{`certstatus_crl_revocations{state="pending",` + sel + `}`, "{{origin}}"}), 6, 5)
	l.add(stat("Mismatched", "Listed with another date or reason than the CA recorded.", "short",
		steps("green", 1, "orange"), target{`certstatus_crl_revocations{state="mismatched",` + sel + `}`, "{{origin}}"}), 6, 5)
	l.add(stat("Early removals (24h)", "Serials that left a CRL while still revoked and unexpired (BR 4.10.1).", "short",
		steps("green", 1, "red"), target{`increase(certstatus_crl_early_removals_total{` + sel + `}[24h])`, "{{origin}}"}), 6, 5)
	l.add(timeseries("Revocations by state", "Per origin; a paused or lagging replica shows as pending, then overdue, at its origin only.", "short",
		target{`certstatus_crl_revocations{` + sel + `}`, "{{origin}} {{state}}"}), 12, 8)
	l.add(timeseries("Revocations at OCSP", "What the OCSP origins answer for the same revocations: revoked, pending or overdue.", "short",
		target{`certstatus_crl_ocsp_revocations`, "{{origin}} {{state}}"}), 12, 8)
	l.add(timeseries("Replay lag of the replicas behind the origins", "A replica that does not replay renders CRLs without the newest revocations.", "s",
		target{`certstatus_replica_replay_lag_seconds{replica=~"$replica"}`, "{{replica}}"}), 12, 8)
	l.row("Are the CRLs valid and fresh? (BR 7.2, 4.9.7)")
	l.add(stat("CRL checks passing", "The last fetch of each shard at each origin passed every check.", "bool_yes_no",
		steps("red", 1, "green"), target{`certstatus_crl_up{` + sel + `,` + shard + `}`, "{{shard}} @ {{origin}}"}), 24, 5)
	l.add(timeseries("Checks by result", "Fetch-and-checks per second by result; anything but ok is a finding.", "reqps",
		target{`sum by (origin, result) (rate(certstatus_crl_checks_total{` + sel + `,` + shard + `}[$__rate_interval])) > 0`, "{{origin}} {{result}}"}), 12, 8)
	l.add(timeseries("Age of thisUpdate", "time() − thisUpdate; a new CRL at least every 7 days.", "s",
		target{`time() - certstatus_crl_this_update_timestamp_seconds{` + sel + `,` + shard + `}`, "{{shard}} @ {{origin}}"}), 12, 8)
	l.add(timeseries("Time to nextUpdate", "Once past, relying parties treat the CRL as stale.", "s",
		target{`certstatus_crl_next_update_timestamp_seconds{` + sel + `,` + shard + `} - time()`, "{{shard}} @ {{origin}}"}), 12, 8)
	l.add(timeseries("CRLNumber", "Strictly increasing per shard; a drop is an old CRL served again.", "none",
		target{`certstatus_crl_number{` + sel + `,` + shard + `}`, "{{shard}} @ {{origin}}"}), 12, 8)
	l.add(timeseries("Entries and size", "Revoked certificates listed and bytes per shard.", "short",
		target{`certstatus_crl_entries{` + sel + `,` + shard + `}`, "entries {{shard}} @ {{origin}}"},
		target{`certstatus_crl_size_bytes{` + sel + `,` + shard + `}`, "bytes {{shard}} @ {{origin}}"}), 12, 8)
	l.add(timeseries("Fetch duration", "BR 4.10.2: within 10 seconds.", "s",
		target{`certstatus_crl_fetch_duration_seconds{` + sel + `,` + shard + `}`, "{{shard}} @ {{origin}}"}), 12, 8)
	l.row("Does the CDN keep up?")
	l.add(timeseries("CDN lag", "Freshest origin's thisUpdate − the CDN's, per shard.", "s",
		target{`certstatus_crl_cdn_lag_seconds{` + shard + `}`, "{{shard}} @ {{origin}}"}), 12, 8)
	l.add(timeseries("CDN disagreements", "1 while the CDN's copy differs from the freshest origin's in number, thisUpdate or content.", "short",
		target{`certstatus_crl_cdn_disagreement{` + shard + `}`, "{{shard}} @ {{origin}} {{field}}"}), 12, 8)
	l.row("Partitioning and the revocation record")
	l.add(stat("Serials on two shards", "A serial belongs to exactly one partition.", "short",
		steps("green", 1, "orange"), target{`certstatus_crl_duplicate_serials{` + sel + `}`, "{{origin}}"}), 12, 5)
	l.add(stat("Revocation record readable", "The last read of the CA's revocation record succeeded.", "bool_yes_no",
		steps("red", 1, "green"), target{`certstatus_crl_revocation_source_up`, "revocations"}), 12, 5)
	return dashboard("certstatus-crl", "certstatus / CRLs",
		"Every CRL shard at every origin and through the CDN: revocations listed in time, BR checks, freshness, CDN lag.",
		[]obj{datasourceVar(), labelVar("origin", "certstatus_crl_up", true), labelVar("shard", "certstatus_crl_up", true),
			labelVar("replica", "certstatus_replica_up", true)}, l)
}
