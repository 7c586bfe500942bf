//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

package main

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

func replica() *dashboard.DashboardBuilder {
	const one = `replica="$replica"`
	b := newBoard("certstatus-replica", "certstatus / Replica", "One replica: lag, WAL retention headroom, time to WAL loss.",
		labelVar("replica", "certstatus_replica_up", false))
	b.row("State")
	b.stat("Probe up", "The exporter can query this replica.", "bool_yes_no", steps("red", 1, "green"), 4, 4,
		target{`certstatus_replica_up` + sel(one), ""})
	b.stat("Streaming", "WAL receiver streaming.", "bool_yes_no", steps("red", 1, "green"), 4, 4,
		target{`certstatus_replica_wal_receiver_streaming` + sel(one), ""})
	b.stat("Replay paused", "pg_wal_replay_pause() in effect.", "bool_yes_no", steps("green", 1, "orange"), 4, 4,
		target{`certstatus_replica_replay_paused` + sel(one), ""})
	b.stat("WAL lost", "Cannot catch up by streaming.", "bool_yes_no", steps("green", 1, "red"), 4, 4,
		target{`certstatus_replica_wal_lost` + sel(one), ""})
	b.stat("Time to WAL loss", "At the recent WAL rates.", "s", steps("red", 600, "yellow", 3600, "green"), 4, 4,
		target{`certstatus_replica_wal_loss_eta_seconds` + sel(one), ""})
	b.stat("Last message from primary", "Seconds since the WAL receiver heard from the sender.", "s", steps("green", 60, "yellow", 300, "red"), 4, 4,
		target{`certstatus_replica_last_message_age_seconds` + sel(one), ""})

	b.row("Lag")
	b.timeseries("Replay lag (seconds)", "How long ago the primary was at the replay position.", "s", 12, 8,
		target{`certstatus_replica_replay_lag_seconds` + sel(one), "replay lag"})
	b.timeseries("Lag (bytes)", "Flushed on the primary but not yet received / replayed.", "bytes", 12, 8,
		target{`certstatus_replica_receive_lag_bytes` + sel(one), "receive"},
		target{`certstatus_replica_replay_lag_bytes` + sel(one), "replay"})

	b.row("WAL retention")
	b.timeseries("Headroom and retention", "Headroom for this replica against what the primary keeps.", "bytes", 12, 8,
		target{`certstatus_replica_wal_headroom_bytes` + sel(one), "headroom"},
		target{`certstatus_primary_wal_retained_bytes` + sel(), "retained in pg_wal"},
		target{`certstatus_primary_wal_keep_bytes` + sel(), "wal_keep_size"})
	b.timeseries("WAL rate", "Primary WAL written per second.", "Bps", 12, 8,
		target{`certstatus_primary_wal_rate_bytes_per_second` + sel(), "primary"})
	b.timeseries("Probe failures", "Failed probes of this replica per second by reason.", "reqps", 12, 7,
		target{`sum by (reason) (rate(certstatus_probe_failures_total` + sel(`probe="replica"`, `target="$replica"`) + `[$__rate_interval]))`, "{{reason}}"})
	b.timeseries("Probe duration", "How long each probe took.", "s", 12, 7,
		target{`certstatus_probe_duration_seconds` + sel(`probe="replica"`, `target="$replica"`), "duration"})
	return b.d
}
