//lint:file-ignore SA1019 the SDK deprecates the classic dashboard model in favour of schema v2, a preview behind feature toggles in Grafana 12; file provisioning loads the classic JSON, which Grafana 13 migrates on load.

package main

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// datasourceUID is the datasource template variable every panel queries.
const datasourceUID = "${datasource}"

func promDS() common.DataSourceRef {
	typ, uid := "prometheus", datasourceUID
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

func grafanaDS() common.DataSourceRef {
	typ, uid := "grafana", "-- Grafana --"
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

// sel is a label selector scoped to the job and instance variables, so one
// Grafana serves several exporters (one sidecar per origin node).
func sel(matchers ...string) string {
	return "{" + strings.Join(append([]string{`job=~"$job"`, `instance=~"$instance"`}, matchers...), ",") + "}"
}

type target struct{ expr, legend string }

func queries(ts []target, instant bool) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(ts))
	for i, t := range ts {
		q := prometheus.NewDataqueryBuilder().RefId(string(rune('A' + i))).Expr(t.expr).
			LegendFormat(t.legend).Datasource(promDS())
		if instant {
			q = q.Instant().Format(prometheus.PromQueryFormatTable)
		}
		out[i] = q
	}
	return out
}

// steps is a threshold list: base colour, then value/colour pairs.
func steps(base string, at ...any) []dashboard.Threshold {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(at); i += 2 {
		v := float64(at[i].(int))
		s = append(s, dashboard.Threshold{Value: &v, Color: at[i+1].(string)})
	}
	return s
}

func thresholds(s []dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// board numbers panels in order and lets the SDK place them on the 24-column grid.
type board struct {
	d  *dashboard.DashboardBuilder
	id uint32
}

func (b *board) next() uint32 { b.id++; return b.id }

func (b *board) row(title string) {
	b.d.WithRow(dashboard.NewRowBuilder(title).Id(b.next()).Collapsed(false))
}

func (b *board) timeseries(title, desc, unit string, w, h uint32, ts ...target) {
	b.d.WithPanel(timeseries.NewPanelBuilder().Id(b.next()).Title(title).Description(desc).Unit(unit).
		Span(w).Height(h).Datasource(promDS()).Targets(queries(ts, false)).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{"lastNotNull", "max"})))
}

func (b *board) stat(title, desc, unit string, th []dashboard.Threshold, w, h uint32, ts ...target) {
	b.d.WithPanel(statPanel(b.next(), title, desc, unit, th, w, h, ts...))
}

func statPanel(id uint32, title, desc, unit string, th []dashboard.Threshold, w, h uint32, ts ...target) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Id(id).Title(title).Description(desc).Unit(unit).
		Span(w).Height(h).Datasource(promDS()).Targets(queries(ts, false)).Thresholds(thresholds(th)).
		ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

// certificateStat is a stat of certificate counts whose values link to the
// exporter's incident view, which lists the serials a metric cannot carry.
// It assumes the scrape target (instance) is reachable by http from the
// browser; behind TLS or a proxy, edit the link.
func (b *board) certificateStat(title, desc string, th []dashboard.Threshold, section string, w, h uint32, ts ...target) {
	// The SDK has no data-link type: a DashboardLink serialises to one
	// (Grafana reads title, url and targetBlank).
	link := dashboard.NewDashboardLinkBuilder("Which certificates? (incident view)").
		Url("http://${__field.labels.instance}/status#" + section).TargetBlank(true)
	b.d.WithPanel(statPanel(b.next(), title, desc, "short", th, w, h, ts...).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{link}))
}

// column is one instant query of a table: its values become a named column.
type column struct {
	name, unit, expr string
}

// table joins instant queries on their labels (one row per series identity),
// keeps the given labels, and sorts ascending by the first column.
func (b *board) table(title, desc string, labels []string, w, h uint32, cols ...column) {
	ts := make([]target, len(cols))
	rename := map[string]any{}
	order := map[string]any{}
	exclude := map[string]any{"Time": true, "__name__": true, "job": true}
	for i, l := range labels {
		order[l] = i
	}
	p := table.NewPanelBuilder().Id(b.next()).Title(title).Description(desc).Span(w).Height(h).Datasource(promDS())
	for i, c := range cols {
		ts[i] = target{c.expr, ""}
		field := fmt.Sprintf("Value #%c", 'A'+i)
		rename[field] = c.name
		order[field] = len(labels) + i
		p = p.OverrideByName(c.name, []dashboard.DynamicConfigValue{{Id: "unit", Value: c.unit}})
	}
	b.d.WithPanel(p.Targets(queries(ts, true)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": exclude, "indexByName": order, "renameByName": rename}}).
		// The SDK's default footer serialises reducer as null; Grafana expects a list.
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName(cols[0].name)}))
}

func datasourceVar() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")
}

// labelVar is a query variable over label values of metric within the chosen
// job and instance (job itself is scoped by nothing).
func labelVar(name, metric string, multi bool) *dashboard.QueryVariableBuilder {
	scope := sel()
	switch name {
	case "job":
		scope = ""
	case "instance":
		scope = `{job=~"$job"}`
	}
	q := fmt.Sprintf("label_values(%s%s, %s)", metric, scope, name)
	v := dashboard.NewQueryVariableBuilder(name).Label(name).Datasource(promDS()).
		Query(dashboard.StringOrMap{Map: map[string]any{"query": q, "refId": "vars"}}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(multi).IncludeAll(multi)
	if multi {
		v = v.AllValue(".*")
	}
	return v
}

// newBoard is a dashboard with the settings every certstatus dashboard shares
// and the job, instance and then the given variables.
func newBoard(uid, title, desc string, vars ...*dashboard.QueryVariableBuilder) *board {
	d := dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).
		Tags([]string{"certstatus", "ocsp", "postgresql"}).Timezone("utc").Editable().Refresh("30s").
		Time("now-6h", "now").Version(1).
		WithVariable(datasourceVar()).
		WithVariable(labelVar("job", "certstatus_exporter_build_info", true)).
		WithVariable(labelVar("instance", "certstatus_exporter_build_info", true)).
		Annotation(dashboard.NewAnnotationQueryBuilder().Name("Annotations & Alerts").Type("dashboard").BuiltIn(1).
			Enable(true).Hide(true).IconColor("rgba(0, 211, 255, 1)").Datasource(grafanaDS())).
		Link(dashboard.NewDashboardLinkBuilder("certstatus").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"certstatus"}).AsDropdown(true).IncludeVars(true).KeepTime(true))
	for _, v := range vars {
		d = d.WithVariable(v)
	}
	return &board{d: d}
}
