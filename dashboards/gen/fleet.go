//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

package main

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

const (
	rsel = `replica=~"$replica"`
	osel = `origin=~"$origin"`
)

func fleet() *dashboard.DashboardBuilder {
	b := newBoard("certstatus-fleet", "certstatus / Fleet overview",
		"Every replica's lag, headroom, ETA and streaming state; every origin's overdue and pending counts and answer mix.",
		labelVar("replica", "certstatus_replica_up", true), labelVar("origin", "certstatus_ocsp_certificates", true))
	b.row("Is every answer authoritative? (BR 4.9.9: within 15 minutes)")
	b.certificateStat("Overdue certificates", "Certificates older than the SLA without an authoritative answer, per origin. Anything above 0 is a Baseline Requirements breach. Click a value for the serials (the exporter's /status).",
		steps("green", 1, "red"), "overdue", 8, 5, target{`certstatus_ocsp_certificates` + sel(`state="overdue"`, osel), "{{origin}}"})
	b.certificateStat("Pending certificates", "Younger than the SLA and not yet authoritative, per origin. Click a value for the serials.",
		steps("green", 1, "yellow"), "pending", 8, 5, target{`certstatus_ocsp_certificates` + sel(`state="pending"`, osel), "{{origin}}"})
	b.stat("Origins answering", "Whether each origin's last answer was an OCSP response of any status.", "bool_yes_no",
		steps("red", 1, "green"), 8, 5, target{`certstatus_ocsp_origin_up` + sel(osel), "{{origin}}"})
	b.timeseries("Answer mix by origin", "Canary checks per second by result.", "reqps", 12, 8,
		target{`sum by (origin, result) (rate(certstatus_ocsp_responses_total` + sel(osel) + `[$__rate_interval]))`, "{{origin}} {{result}}"})
	b.timeseries("Time to authoritative (p50, p99)", "From issuance to the first good or revoked answer.", "s", 12, 8,
		target{`histogram_quantile(0.5, sum by (origin, le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket` + sel(osel) + `[$__rate_interval])))`, "p50 {{origin}}"},
		target{`histogram_quantile(0.99, sum by (origin, le) (rate(certstatus_ocsp_time_to_authoritative_seconds_bucket` + sel(osel) + `[$__rate_interval])))`, "p99 {{origin}}"})

	b.row("Will it still be in ten minutes? Replication")
	b.table("Replicas by WAL-loss ETA", "Soonest WAL loss first: rebuild or fix the top row first. +Inf means the gap is not growing.",
		[]string{"instance", "replica"}, 24, 8,
		column{"Time to WAL loss", "s", `certstatus_replica_wal_loss_eta_seconds` + sel(rsel)},
		column{"WAL headroom", "bytes", `certstatus_replica_wal_headroom_bytes` + sel(rsel)},
		column{"Replay lag", "s", `certstatus_replica_replay_lag_seconds` + sel(rsel)},
		column{"Streaming", "bool_yes_no", `certstatus_replica_wal_receiver_streaming` + sel(rsel)},
		column{"WAL lost", "bool_yes_no", `certstatus_replica_wal_lost` + sel(rsel)})
	b.stat("Streaming", "WAL receiver streaming, per replica.", "bool_yes_no",
		steps("red", 1, "green"), 8, 5, target{`certstatus_replica_wal_receiver_streaming` + sel(rsel), "{{replica}}"})
	b.stat("WAL lost", "The primary no longer has WAL this replica needs: rebuild it.", "bool_yes_no",
		steps("green", 1, "red"), 8, 5, target{`certstatus_replica_wal_lost` + sel(rsel), "{{replica}}"})
	b.stat("Time to WAL loss", "Headroom ÷ how fast the gap grows; +Inf when it does not grow.", "s",
		steps("red", 600, "yellow", 3600, "green"), 8, 5, target{`certstatus_replica_wal_loss_eta_seconds` + sel(rsel), "{{replica}}"})
	b.timeseries("Replay lag", "How long ago the primary was at each replica's replay position.", "s", 12, 8,
		target{`certstatus_replica_replay_lag_seconds` + sel(rsel), "{{replica}}"})
	b.timeseries("WAL headroom", "Bytes the primary may still write before removing WAL each replica needs.", "bytes", 12, 8,
		target{`certstatus_replica_wal_headroom_bytes` + sel(rsel), "{{replica}}"},
		target{`certstatus_primary_wal_keep_bytes` + sel(), "wal_keep_size {{instance}}"})
	b.timeseries("Receive lag", "WAL flushed on the primary but not received by each replica.", "bytes", 12, 8,
		target{`certstatus_replica_receive_lag_bytes` + sel(rsel), "{{replica}}"})
	b.timeseries("Primary WAL rate", "Bytes of WAL written per second.", "Bps", 12, 8,
		target{`certstatus_primary_wal_rate_bytes_per_second` + sel(), "WAL rate {{instance}}"})

	b.row("Exporter")
	b.timeseries("Probe staleness", "Seconds since each probe target last succeeded.", "s", 12, 7,
		target{`time() - certstatus_probe_last_success_timestamp_seconds` + sel(), "{{probe}} {{target}}"})
	b.timeseries("Probe failures", "Failed probes per second by reason.", "reqps", 12, 7,
		target{`sum by (probe, target, reason) (rate(certstatus_probe_failures_total` + sel() + `[$__rate_interval])) > 0`, "{{probe}} {{target}} {{reason}}"})
	return b.d
}
