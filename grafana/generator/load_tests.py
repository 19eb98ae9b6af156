"""Load tests: what happens to a model at 2x, 5x, 10x its quiet-hour load?

The panels read the live series a Locust run serves (the probe metric names
plus a ``source`` label) and compare them with the prober's own probes of the
same model, which stand for the quiet-hour baseline.

Runs, stages and the knee come from the load-test tables (issue 8); their
panels are added in :func:`_runs` once those tables exist.
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
    timeseries_panel,
)

UID = "prober-load-tests"

RATE = "$__rate_interval"
LOAD = 'source!="", model=~"$model"'
BASELINE = 'source="", model=~"$model"'


def _quantile(q: float, metric: str, selector: str, window: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, model) "
        f"(rate({metric}_bucket{{{selector}}}[{window}])))"
    )


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
        row("Under load"),
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
            "Slowdown factor",
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


def _runs() -> list[Item]:
    # Awaits issue 8: the load-test run and stage tables (runs, stages with
    # users, request rate, failures and TTFT percentiles, the knee). Add their
    # SQL panels here with sql_table / sql_timeseries once the schema lands.
    return []


def build() -> Dashboard:
    dashboard = new_dashboard(
        UID,
        "prober / Load tests",
        "Locust runs against the catalog: load, TTFT, slowdown and errors.",
    ).with_variable(model_variable(multi=True))
    return assemble(dashboard, _live() + _runs())
