"""Load tests: what happens to a model at 2x, 5x, 10x its quiet-hour load?

Two sources. The load-test tables (``load_runs``, ``load_stages``; see
``storage/loadruns.py``) hold every finished run: its shape, host and knee,
and per stage and model the users, request rate, errors and TTFT
percentiles, from which the peak-over-quiet slowdown is computed as
``prober report --load`` computes it. The live series a Locust run serves
(the probe metric names with ``source="loadtest"``; ``loadtests/metrics.py``)
show a run while it lasts, against the prober's own probes of the same model.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.generator.panels import (
    Item,
    assemble,
    bars,
    model_variable,
    new_dashboard,
    prom,
    row,
    sql_table,
    sql_timeseries,
    timeseries_panel,
)

UID = "prober-load-tests"

RATE = "$__rate_interval"
LOAD = 'source="loadtest", model=~"$model"'
BASELINE = 'source="", model=~"$model"'

# Stage rows of the chosen models, and the all-models row of every stage.
STAGE_MODELS = "(s.model IN ($model) OR s.model = '*')"
MODEL_NAME = "CASE s.model WHEN '*' THEN 'all models' ELSE s.model END"
# All models first, then by name.
MODEL_ORDER = "s.model <> '*', s.model"


def _quantile(q: float, metric: str, selector: str, window: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, model) "
        f"(rate({metric}_bucket{{{selector}}}[{window}])))"
    )


def _runs() -> list[Item]:
    return [
        row("Runs"),
        sql_table(
            "Runs",
            """
            SELECT left(id, 12) AS run, started_at AS "time", ended_at, shape,
                   host, provider, vantage,
                   extract(epoch FROM ended_at - started_at) AS duration,
                   slo_ttft_p95_s AS slo_ttft_p95, slo_error_rate,
                   knee_users, knee_request_rate, saturated
            FROM load_runs
            WHERE $__timeFilter(started_at)
            ORDER BY started_at DESC
            LIMIT 50
            """,
            description=(
                "Each capacity test, newest first. The knee (step runs only) is "
                "the highest step that met the SLO below the first that did "
                "not; saturated says whether a step missed it at all. A run "
                "with no end was cut short. The run column is the prefix "
                "prober report --load --run takes."
            ),
            units={
                "duration": "s",
                "slo_ttft_p95": "s",
                "slo_error_rate": "percentunit",
                "knee_request_rate": "reqps",
            },
        ),
    ]


def _role(column: str, role: str) -> str:
    return f"max(s.{column}) FILTER (WHERE s.role = '{role}')"


def _slowdown(column: str) -> str:
    return f"{_role(column, 'peak')} / NULLIF({_role(column, 'quiet')}, 0)"


def _stages() -> list[Item]:
    return [
        row("Stages"),
        sql_table(
            "Slowdown, peak over quiet",
            f"""
            SELECT left(r.id, 12) AS run, r.started_at AS "time", r.shape,
                   {MODEL_NAME} AS model,
                   {_role("users", "quiet")} AS quiet_users,
                   {_role("users", "peak")} AS peak_users,
                   {_role("ttft_p50_s", "quiet")} AS quiet_ttft_p50,
                   {_role("ttft_p50_s", "peak")} AS peak_ttft_p50,
                   {_slowdown("ttft_p50_s")} AS slowdown_p50,
                   {_role("ttft_p95_s", "quiet")} AS quiet_ttft_p95,
                   {_role("ttft_p95_s", "peak")} AS peak_ttft_p95,
                   {_slowdown("ttft_p95_s")} AS slowdown_p95,
                   {_role("error_rate", "peak")} AS peak_error_rate
            FROM load_runs r
            JOIN load_stages s ON s.run_id = r.id
            WHERE s.role IN ('quiet', 'peak') AND {STAGE_MODELS}
              AND $__timeFilter(r.started_at)
            GROUP BY r.id, r.started_at, r.shape, s.model
            ORDER BY r.started_at DESC, {MODEL_ORDER}
            """,
            description=(
                "Per run and model, TTFT at the peak over TTFT in the quiet "
                "stage, as prober report --load gives it: peak-hour compares "
                "its quiet hour with the held peak, spike its baseline with "
                "the spike, step its first step with the first that missed "
                "the SLO (else the last). Steady runs have no peak."
            ),
            units={
                "quiet_ttft_p50": "s",
                "peak_ttft_p50": "s",
                "slowdown_p50": "x",
                "quiet_ttft_p95": "s",
                "peak_ttft_p95": "s",
                "slowdown_p95": "x",
                "peak_error_rate": "percentunit",
            },
        ),
        sql_table(
            "Stages",
            f"""
            SELECT left(r.id, 12) AS run, s.started_at AS "time", s.stage,
                   s.role, {MODEL_NAME} AS model, s.users, s.requests,
                   s.request_rate, s.error_rate, s.ttft_p50_s AS ttft_p50,
                   s.ttft_p95_s AS ttft_p95, s.e2e_p95_s AS e2e_p95,
                   s.output_tokens_per_s_p50 AS output_speed_p50, s.meets_slo
            FROM load_runs r
            JOIN load_stages s ON s.run_id = r.id
            WHERE {STAGE_MODELS} AND $__timeFilter(r.started_at)
            ORDER BY r.started_at DESC, s.stage_index, {MODEL_ORDER}
            LIMIT 500
            """,
            description=(
                "Every stage of every run: users at its end, requests started "
                "in it per second, the share that failed, and TTFT and "
                "end-to-end percentiles of the successful ones (empty when "
                "none succeeded). meets_slo is judged against the run's SLO."
            ),
            h=10,
            units={
                "request_rate": "reqps",
                "error_rate": "percentunit",
                "ttft_p50": "s",
                "ttft_p95": "s",
                "e2e_p95": "s",
                "output_speed_p50": "tokens/s",
            },
        ),
        sql_timeseries(
            "TTFT p95 by stage",
            f"""
            SELECT s.started_at AS "time", {MODEL_NAME} AS metric,
                   s.ttft_p95_s AS value
            FROM load_stages s
            WHERE {STAGE_MODELS} AND $__timeFilter(s.started_at)
            ORDER BY 1
            """,
            "s",
            description="One point per stage, at its start.",
        ),
        sql_timeseries(
            "Users and request rate by stage",
            """
            SELECT started_at AS "time", users,
                   request_rate AS "requests per second"
            FROM load_stages
            WHERE model = '*' AND $__timeFilter(started_at)
            ORDER BY 1
            """,
            "short",
            description="All models together; one point per stage, at its start.",
        ),
    ]


def _live() -> list[Item]:
    slowdown = [
        prom(
            f"{_quantile(q, 'prober_ttft_seconds', LOAD, RATE)} / on (model) "
            f"{_quantile(q, 'prober_ttft_seconds', BASELINE, '1h')}",
            "{{model}} " + label,
        )
        for q, label in ((0.5, "p50"), (0.95, "p95"))
    ]
    return [
        row("Live, while a run lasts"),
        timeseries_panel(
            "Request rate under load",
            [
                prom(
                    f"sum by (model) (rate(prober_requests_total{{{LOAD}}}[{RATE}]))",
                    "{{model}}",
                )
            ],
            "reqps",
            description="Requests per second the load test completes, by model.",
        ),
        timeseries_panel(
            "TTFT under load",
            [
                prom(
                    _quantile(q, "prober_ttft_seconds", LOAD, RATE),
                    "{{model}} " + label,
                )
                for q, label in ((0.5, "p50"), (0.95, "p95"))
            ],
            "s",
        ),
        timeseries_panel(
            "Slowdown against the probes",
            slowdown,
            "x",
            description=(
                "TTFT under load over the prober's own TTFT of the same model in "
                "the hour before: 1 means load changes nothing."
            ),
        ),
        bars(
            "Errors under load by type",
            [
                prom(
                    "sum by (error_type) "
                    f"(increase(prober_errors_total{{{LOAD}}}[{RATE}]))",
                    "{{error_type}}",
                )
            ],
            "short",
        ),
        timeseries_panel(
            "Output speed under load p50",
            [
                prom(
                    _quantile(0.5, "prober_output_tokens_per_second", LOAD, RATE),
                    "{{model}}",
                )
            ],
            "tokens/s",
            w=24,
        ),
    ]


def build() -> Dashboard:
    dashboard = new_dashboard(
        UID,
        "prober / Load tests",
        "Locust capacity tests against the catalog: runs, stages, slowdown, "
        "knee, and load, TTFT and errors while a run lasts.",
    ).with_variable(model_variable(multi=True))
    return assemble(dashboard, _runs() + _stages() + _live())
