"""The building blocks every dashboard uses: data sources, selectors,
queries and the handful of panel shapes prober's dashboards are made of.

Panels are Grafana Foundation SDK builders. The SDK has no query type for
PostgreSQL, so :class:`SQL` supplies one: a raw SQL target in code mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from grafana_foundation_sdk.builders import (
    bargauge,
    heatmap,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import heatmap as heatmap_model
from grafana_foundation_sdk.models import prometheus as prometheus_model
from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = [
    "POSTGRES",
    "PROMETHEUS",
    "SQL",
    "bars",
    "heatmap_panel",
    "model_variable",
    "probes",
    "prom",
    "sql_matrix",
    "sql_table",
    "sql_timeseries",
    "stat_panel",
    "state_timeline",
    "table_panel",
    "timeseries_panel",
    "vantage_variable",
]

# The uids and types are those of grafana/provisioning/datasources/prober.yml.
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prober-prometheus")
POSTGRES = DataSourceRef(
    type_val="grafana-postgresql-datasource", uid="prober-postgres"
)

# Grafana's colour names for states.
GREEN, YELLOW, RED = "green", "yellow", "red"


def probes(metric: str, *matchers: str) -> str:
    """``metric`` with the matchers every probe query carries.

    ``source=""`` keeps load-test series (which carry a ``source`` label)
    out of the prober's own statistics, and the context sweep's long prompts
    stay out unless a matcher asks for a probe; ``$vantage`` is a dashboard
    variable.
    """
    scope = ['source=""', 'vantage=~"$vantage"']
    if not any(matcher.startswith("probe") for matcher in matchers):
        scope.append('probe!="context"')
    return metric + "{" + ", ".join((*scope, *matchers)) + "}"


def quantile(q: float, metric: str, window: str, by: str, *matchers: str) -> str:
    """The ``q`` quantile of a histogram over ``window``, per ``by``."""
    series = probes(metric + "_bucket", *matchers)
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({series}[{window}])))"


def error_ratio(window: str, by: str, *matchers: str) -> str:
    """Failed probes over all probes in ``window``; zero, not absent, for a
    series with no errors."""
    requests, errors = (
        f"sum by ({by}) (increase({probes(metric, *matchers)}[{window}]))"
        for metric in ("prober_requests_total", "prober_errors_total")
    )
    return f"({errors} or {requests} * 0) / {requests}"


def prom(expr: str, legend: str = "", *, instant: bool = False) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if instant:
        query = query.instant().format(prometheus_model.PromQueryFormat.TABLE)
    return query


class _SQLQuery(cogvariants.Dataquery):
    def __init__(self, raw_sql: str, format_val: str, ref_id: str) -> None:
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.ref_id = ref_id

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": POSTGRES,
            "editorMode": "code",
            "format": self.format_val,
            "rawQuery": True,
            "rawSql": self.raw_sql,
            "refId": self.ref_id,
        }


class SQL(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw SQL target for the PostgreSQL data source.

    ``format`` is ``table`` or ``time_series`` (which needs a ``time`` column).
    """

    def __init__(self, raw_sql: str, format_val: str = "table") -> None:
        self._query = _SQLQuery(_dedent(raw_sql), format_val, "A")

    def ref_id(self, ref_id: str) -> Self:
        self._query.ref_id = ref_id
        return self

    def build(self) -> cogvariants.Dataquery:
        return self._query


def _dedent(sql: str) -> str:
    lines = [line.strip() for line in sql.strip().splitlines()]
    return "\n".join(line for line in lines if line)


# A panel's queries: PromQL or SQL, lettered A, B, C... in order.
Targets = Sequence["prometheus.Dataquery | SQL"]


def _with_targets(panel: Any, targets: Targets) -> Any:
    for index, target in enumerate(targets):
        panel = panel.with_target(target.ref_id(chr(ord("A") + index)))
    return panel


def _place(panel: Any, title: str, description: str, w: int, h: int) -> Any:
    panel = panel.title(title).span(w).height(h)
    if description:
        panel = panel.description(description)
    return panel


def _thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def timeseries_panel(
    title: str,
    targets: Targets,
    unit: str,
    *,
    description: str = "",
    w: int = 12,
    h: int = 8,
    stacked: bool = False,
    bars_style: bool = False,
    held: bool = False,
    datasource: DataSourceRef = PROMETHEUS,
) -> timeseries.Panel:
    """A time series; with ``held``, each value is a point that holds until
    the next (a figure measured once per sweep, not sampled)."""
    panel = _place(timeseries.Panel(), title, description, w, h)
    panel = (
        panel.datasource(datasource)
        .unit(unit)
        .legend(
            common_b.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_b.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    if stacked:
        panel = panel.stacking(
            common_b.StackingConfig().mode(common.StackingMode.NORMAL)
        )
    if bars_style:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    if held:
        panel = panel.line_interpolation(common.LineInterpolation.STEP_AFTER)
        panel = panel.show_points(common.VisibilityMode.ALWAYS).point_size(6)
    return _with_targets(panel, targets)


def bars(title: str, targets: Targets, unit: str, **kwargs: Any) -> timeseries.Panel:
    """Counts per interval drawn as stacked bars (errors, rows written)."""
    return timeseries_panel(
        title, targets, unit, stacked=True, bars_style=True, **kwargs
    )


def stat_panel(
    title: str,
    targets: Targets,
    unit: str,
    *,
    description: str = "",
    w: int = 6,
    h: int = 4,
    thresholds: tuple[tuple[float | None, str], ...] = ((None, GREEN),),
    mappings: list[Any] | None = None,
    decimals: int | None = None,
    datasource: DataSourceRef = PROMETHEUS,
) -> stat.Panel:
    panel = _place(stat.Panel(), title, description, w, h)
    panel = (
        panel.datasource(datasource)
        .unit(unit)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(_thresholds(*thresholds))
    )
    if mappings:
        panel = panel.mappings(mappings)
    if decimals is not None:
        panel = panel.decimals(decimals)
    return _with_targets(panel, targets)


def up_down_mappings() -> list[Any]:
    return [
        model.ValueMap(
            options={
                "0": model.ValueMappingResult(text="DOWN", color=RED, index=0),
                "1": model.ValueMappingResult(text="UP", color=GREEN, index=1),
            }
        )
    ]


def state_timeline(
    title: str, targets: Targets, *, description: str = "", w: int = 24, h: int = 8
) -> statetimeline.Panel:
    panel = _place(statetimeline.Panel(), title, description, w, h)
    panel = (
        panel.datasource(PROMETHEUS)
        .mappings(up_down_mappings())
        .thresholds(_thresholds((None, RED), (1, GREEN)))
        .show_value(common.VisibilityMode.NEVER)
        .merge_values(True)
    )
    return _with_targets(panel, targets)


def bar_gauge(
    title: str,
    targets: Targets,
    unit: str,
    *,
    description: str = "",
    w: int = 12,
    h: int = 8,
    thresholds: tuple[tuple[float | None, str], ...] = ((None, GREEN),),
    minimum: float | None = None,
    maximum: float | None = None,
) -> bargauge.Panel:
    panel = _place(bargauge.Panel(), title, description, w, h)
    panel = (
        panel.datasource(PROMETHEUS)
        .unit(unit)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(_thresholds(*thresholds))
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if maximum is not None:
        panel = panel.max(maximum)
    return _with_targets(panel, targets)


def heatmap_panel(
    title: str, expr: str, *, description: str = "", w: int = 12, h: int = 8
) -> heatmap.Panel:
    """A latency histogram over time, from a ``_bucket`` series per ``le``."""
    query = (
        prometheus.Dataquery()
        .expr(expr)
        .datasource(PROMETHEUS)
        .format(prometheus_model.PromQueryFormat.HEATMAP)
        .legend_format("{{le}}")
    )
    panel = _place(heatmap.Panel(), title, description, w, h)
    panel = (
        panel.datasource(PROMETHEUS)
        .calculate(False)
        .show_tooltip()
        .cell_values(heatmap.CellValues().unit("short"))
        .y_axis(heatmap.YAxisConfig().unit("s"))
        .color(
            heatmap.HeatmapColorOptions()
            .mode(heatmap_model.HeatmapColorMode.SCHEME)
            .scheme("Oranges")
            .exponent(0.5)
            .fill("dark-orange")
            .steps(64)
        )
    )
    return _with_targets(panel, [query])


def table_panel(
    title: str,
    targets: Targets,
    *,
    description: str = "",
    w: int = 24,
    h: int = 8,
    datasource: DataSourceRef = PROMETHEUS,
    merge: bool = False,
    rename: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
) -> table.Panel:
    """A table; with ``merge``, instant queries become one row per series
    (joined on their labels) and ``rename`` names the value columns."""
    panel = _place(table.Panel(), title, description, w, h)
    panel = panel.datasource(datasource).show_header(True)
    if merge:
        panel = panel.with_transformation(
            model.DataTransformerConfig(id_val="merge", options={})
        )
    if rename is not None:
        panel = panel.with_transformation(
            model.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "renameByName": rename,
                },
            )
        )
    for column, unit in (units or {}).items():
        panel = panel.override_by_name(
            column, [model.DynamicConfigValue(id_val="unit", value=unit)]
        )
    return _with_targets(panel, targets)


def sql_table(title: str, sql: str, **kwargs: Any) -> table.Panel:
    return table_panel(title, [SQL(sql)], datasource=POSTGRES, **kwargs)


def sql_matrix(
    title: str,
    sql: str,
    *,
    rows: str,
    columns: str,
    values: str,
    unit: str,
    thresholds: tuple[tuple[float | None, str], ...],
    description: str = "",
    w: int = 12,
    h: int = 8,
) -> table.Panel:
    """A table of ``values`` with one row per value of the ``rows`` column
    and one column per value of ``columns`` (Grafana's grouping-to-matrix
    transformation), each cell coloured by ``thresholds``."""
    panel = _place(table.Panel(), title, description, w, h)
    panel = (
        panel.datasource(POSTGRES)
        .show_header(True)
        .unit(unit)
        .thresholds(_thresholds(*thresholds))
        .with_transformation(
            model.DataTransformerConfig(
                id_val="groupingToMatrix",
                options={
                    "rowField": rows,
                    "columnField": columns,
                    "valueField": values,
                },
            )
        )
        .override_by_field_type(
            "number",
            [
                model.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                )
            ],
        )
    )
    return _with_targets(panel, [SQL(sql)])


def sql_timeseries(title: str, sql: str, unit: str, **kwargs: Any) -> timeseries.Panel:
    return timeseries_panel(
        title, [SQL(sql, "time_series")], unit, datasource=POSTGRES, **kwargs
    )


def row(title: str) -> dash.Row:
    return dash.Row(title)


Item = dash.Row | cogbuilder.Builder[model.Panel]


def assemble(dashboard: dash.Dashboard, items: list[Item]) -> dash.Dashboard:
    """Add rows and panels in reading order."""
    for item in items:
        if isinstance(item, dash.Row):
            dashboard = dashboard.with_row(item)
        else:
            dashboard = dashboard.with_panel(item)
    return dashboard


def _label_variable(name: str, label: str, query: str) -> dash.QueryVariable:
    return (
        dash.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )


def vantage_variable() -> dash.QueryVariable:
    """Where the probes ran from; "All" by default."""
    return (
        _label_variable(
            "vantage", "Vantage", 'label_values(prober_model_up{source=""}, vantage)'
        )
        .multi(True)
        .include_all(True)
        .current(_ALL)
    )


# No custom "all" value: Grafana then expands All to every value, which
# works both in a PromQL regex (a|b) and in SQL IN ('a','b').
_ALL = model.VariableOption(text="All", value="$__all", selected=True)


def model_variable(*, multi: bool) -> dash.QueryVariable:
    variable = _label_variable(
        "model", "Model", 'label_values(prober_model_up{source=""}, model)'
    )
    if multi:
        variable = variable.multi(True).include_all(True).current(_ALL)
    return variable


def new_dashboard(uid: str, title: str, description: str) -> dash.Dashboard:
    """A dashboard with prober's common settings: tags, refresh, time range,
    links to its sibling dashboards."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["prober"])
        .editable()
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("utc")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .link(
            dash.DashboardLink("prober")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags(["prober"])
            .as_dropdown(False)
            .include_vars(True)
            .keep_time(True)
        )
    )


def to_json(builder: dash.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (plain dicts and lists)."""
    import json

    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    document: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    for panel in document.get("panels", []):
        _drop_unset(panel)
    _lay_out(document.get("panels", []))
    return document


def _lay_out(panels: list[dict[str, Any]]) -> None:
    # Left to right, wrapping before a panel would overflow the 24-column
    # grid; a row header always starts a new line. (The SDK's own placement
    # wraps only after overflowing.)
    x = y = line_height = 0
    for panel in panels:
        grid = panel["gridPos"]
        if panel["type"] == "row" or x + grid["w"] > 24:
            x, y, line_height = 0, y + line_height, 0
        grid["x"], grid["y"] = x, y
        if panel["type"] == "row":
            y += grid["h"]
            continue
        x += grid["w"]
        line_height = max(line_height, grid["h"])


def _drop_unset(panel: dict[str, Any]) -> None:
    # The SDK writes options it never set as null; Grafana wants them absent
    # so it can apply the panel plugin's defaults.
    for key in [key for key, value in panel.items() if value is None]:
        del panel[key]
    for inner in panel.get("panels", []):
        _drop_unset(inner)
