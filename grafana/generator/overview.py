"""Overview: is every model up, fast, correct and affordable right now?"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from grafana.generator.panels import (
    GREEN,
    RED,
    YELLOW,
    Item,
    assemble,
    bar_gauge,
    bars,
    error_ratio,
    new_dashboard,
    probes,
    prom,
    quantile,
    row,
    sql_table,
    stat_panel,
    state_timeline,
    table_panel,
    timeseries_panel,
    up_down_mappings,
    vantage_variable,
)

UID = "prober-overview"

BY = "model, provider"


def _models_now() -> list[Item]:
    columns = {
        "Value #A": "Up",
        "Value #B": "Since last success",
        "Value #C": "TTFT p50",
        "Value #D": "TTFT p95",
        "Value #E": "TTFT p99",
        "Value #F": "Output speed p50",
        "Value #G": "Errors 1h",
        "Value #H": "Availability 24h",
        "Value #I": "Quality",
        "Value #J": "Value",
        "Value #K": "Spend 24h",
    }
    queries = [
        f"max by ({BY}) ({probes('prober_model_up')})",
        f"time() - max by ({BY}) ({probes('prober_last_success_timestamp_seconds')})",
        quantile(0.5, "prober_ttft_seconds", "10m", BY),
        quantile(0.95, "prober_ttft_seconds", "10m", BY),
        quantile(0.99, "prober_ttft_seconds", "10m", BY),
        quantile(0.5, "prober_output_tokens_per_second", "10m", BY),
        error_ratio("1h", BY),
        f"1 - max by ({BY}) "
        '(model:prober_slo_errors:ratio_rate1d{vantage=~"$vantage"})',
        f"avg by ({BY}) ({probes('prober_quality_score')})",
        f"max by ({BY}) ({probes('prober_value_score')})",
        f"sum by ({BY}) (increase({probes('prober_cost_usd_total')}[24h]))",
    ]
    models = table_panel(
        "Models now",
        [prom(expr, instant=True) for expr in queries],
        description=(
            "One row per model. Latency percentiles are over successful probes "
            "in the last 10 minutes; errors over the last hour count every "
            "failed probe; availability leaves rate-limited probes out; quality "
            "is the mean grade (0-10) of the coding probes; value is quality per "
            "dollar per million output tokens."
        ),
        h=10,
        merge=True,
        rename=columns,
        units={
            "Since last success": "s",
            "TTFT p50": "s",
            "TTFT p95": "s",
            "TTFT p99": "s",
            "Output speed p50": "tokens/s",
            "Errors 1h": "percentunit",
            "Availability 24h": "percentunit",
            "Spend 24h": "currencyUSD",
        },
    ).override_by_name(
        "Up", [DynamicConfigValue(id_val="mappings", value=up_down_mappings())]
    )
    windows = ("1h", "24h", "7d", "30d")
    uptime = table_panel(
        "Uptime by window",
        [
            prom(
                f"min by ({BY}) ({probes('prober_uptime_ratio', matcher)})",
                instant=True,
            )
            for matcher in [f'window="{window}"' for window in windows]
        ],
        description=(
            "Successful over successful and failed probes, as the status page "
            "counts it: rate-limited probes and maintenance windows left out."
        ),
        w=8,
        h=10,
        merge=True,
        rename={
            f"Value #{chr(ord('A') + i)}": window for i, window in enumerate(windows)
        },
        units=dict.fromkeys(windows, "percentunit"),
    )
    up_over_time = state_timeline(
        "Up over time",
        [prom(f"max by (model) ({probes('prober_model_up')})", "{{model}}")],
        description="Whether each model's latest probe had succeeded.",
        w=16,
        h=10,
    )
    return [row("Now"), models, up_over_time, uptime]


def _latency() -> list[Item]:
    panels: list[Item] = [row("Latency")]
    for q, label in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        panels.append(
            timeseries_panel(
                f"TTFT {label}",
                [
                    prom(
                        quantile(q, "prober_ttft_seconds", "$__rate_interval", "model"),
                        "{{model}}",
                    )
                ],
                "s",
                description="Time to first token of successful probes, by model.",
                w=8,
            )
        )
    panels.append(
        timeseries_panel(
            "Output speed p50",
            [
                prom(
                    quantile(
                        0.5,
                        "prober_output_tokens_per_second",
                        "$__rate_interval",
                        "model",
                    ),
                    "{{model}}",
                )
            ],
            "tokens/s",
            description="Output tokens per second after the first token.",
        )
    )
    panels.append(
        timeseries_panel(
            "End-to-end p95",
            [
                prom(
                    quantile(0.95, "prober_e2e_seconds", "$__rate_interval", "model"),
                    "{{model}}",
                )
            ],
            "s",
            description="Request start to the end of the stream, successful probes.",
        )
    )
    return panels


def _errors() -> list[Item]:
    slo = 'model:prober_slo_errors:ratio_rate{window}{{vantage=~"$vantage"}}'
    return [
        row("Errors and availability"),
        timeseries_panel(
            "Error ratio by model",
            [
                prom(
                    f"sum by (model) (rate({probes('prober_errors_total')}"
                    "[$__rate_interval])) / sum by (model) "
                    f"(rate({probes('prober_requests_total')}[$__rate_interval]))",
                    "{{model}}",
                )
            ],
            "percentunit",
            description="Failed probes over all probes; every error kind counts.",
        ),
        bars(
            "Errors by type",
            [
                prom(
                    f"sum by (error_type) (increase({probes('prober_errors_total')}"
                    "[$__rate_interval]))",
                    "{{error_type}}",
                )
            ],
            "short",
            description="Failed probes of all models, by error type.",
        ),
        bar_gauge(
            "Availability 24h vs the 99% SLO",
            [
                prom(
                    "1 - max by (model) (" + slo.format(window="1d") + ")",
                    "{{model}}",
                    instant=True,
                )
            ],
            "percentunit",
            description=(
                "Successful probes over all probes in the last day, rate-limited "
                "probes left out. Red below the 99% objective."
            ),
            thresholds=((None, RED), (0.99, GREEN)),
            minimum=0.9,
            maximum=1,
        ),
        bar_gauge(
            "Error budget left (30 days)",
            [
                prom(
                    "1 - max by (model) (" + slo.format(window="30d") + ") / 0.01",
                    "{{model}}",
                    instant=True,
                )
            ],
            "percentunit",
            description=(
                "Share of the 30-day error budget (1% of probes) not yet spent. "
                "Negative when the objective is already missed."
            ),
            thresholds=((None, RED), (0.25, YELLOW), (0.5, GREEN)),
            minimum=0,
            maximum=1,
        ),
        sql_table(
            "Latest errors",
            """
            SELECT started_at AS "time", model, probe, error_type, status_code,
                   error_message
            FROM probe_results
            WHERE NOT ok AND $__timeFilter(started_at) AND vantage IN ($vantage)
            ORDER BY started_at DESC
            LIMIT 50
            """,
            description="The 50 most recent failed probes, from the database.",
        ),
    ]


def _quality_and_spend() -> list[Item]:
    return [
        row("Quality, value and spend"),
        bar_gauge(
            "Quality",
            [
                prom(
                    f"avg by (model) ({probes('prober_quality_score')})",
                    "{{model}}",
                    instant=True,
                )
            ],
            "none",
            description="Mean grade (0-10) of each model's latest coding answers.",
            w=8,
            thresholds=((None, RED), (6, YELLOW), (8, GREEN)),
            minimum=0,
            maximum=10,
        ),
        bar_gauge(
            "Value",
            [
                prom(
                    f"max by (model) ({probes('prober_value_score')})",
                    "{{model}}",
                    instant=True,
                )
            ],
            "none",
            description="Quality per dollar per million output tokens.",
            w=8,
        ),
        stat_panel(
            "Probe spend, last 24h",
            [prom(f"sum(increase({probes('prober_cost_usd_total')}[24h]))")],
            "currencyUSD",
            description="What the probes cost at catalog prices.",
            w=8,
            h=8,
            decimals=4,
        ),
        timeseries_panel(
            "Probe spend per hour",
            [
                prom(
                    f"sum by (model) (increase({probes('prober_cost_usd_total')}[1h]))",
                    "{{model}}",
                )
            ],
            "currencyUSD",
            description="Spend at catalog prices over the hour before each point.",
            w=24,
        ),
    ]


def build() -> Dashboard:
    dashboard = new_dashboard(
        UID,
        "prober / Overview",
        "Every model's state, uptime, latency, errors, quality, value and spend.",
    ).with_variable(vantage_variable())
    return assemble(
        dashboard, _models_now() + _latency() + _errors() + _quality_and_spend()
    )
