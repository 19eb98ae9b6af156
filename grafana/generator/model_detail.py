"""Model detail: how has one model behaved, probe by probe, and why?"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from grafana.generator.context import ACCURACY, latest_sweep_cells, sweeps_table
from grafana.generator.panels import (
    GREEN,
    RED,
    YELLOW,
    Item,
    assemble,
    bars,
    error_ratio,
    heatmap_panel,
    model_variable,
    new_dashboard,
    probes,
    prom,
    quantile,
    row,
    sql_matrix,
    sql_table,
    sql_timeseries,
    stat_panel,
    timeseries_panel,
    up_down_mappings,
    vantage_variable,
)

UID = "prober-model-detail"

MODEL = 'model="$model"'
RATE = "$__rate_interval"
# SQL filter shared by every database panel: the chosen model and vantages.
WHERE = "model = '$model' AND vantage IN ($vantage) AND $__timeFilter(started_at)"


def _state() -> list[Item]:
    return [
        row("State"),
        stat_panel(
            "Up",
            [prom(f"max({probes('prober_model_up', MODEL)})")],
            "none",
            w=3,
            mappings=up_down_mappings(),
            thresholds=((None, RED), (1, GREEN)),
        ),
        stat_panel(
            "Since last success",
            [
                prom(
                    "time() - max("
                    f"{probes('prober_last_success_timestamp_seconds', MODEL)})"
                )
            ],
            "s",
            w=3,
            thresholds=((None, GREEN), (300, YELLOW), (900, RED)),
        ),
        stat_panel(
            "Availability 24h",
            [
                prom(
                    "1 - max(model:prober_slo_errors:ratio_rate1d"
                    '{model="$model", vantage=~"$vantage"})'
                )
            ],
            "percentunit",
            description="Rate-limited probes left out.",
            w=3,
            thresholds=((None, RED), (0.99, GREEN)),
            decimals=2,
        ),
        stat_panel(
            "Errors 1h",
            [prom(error_ratio("1h", "model", MODEL))],
            "percentunit",
            w=3,
            thresholds=((None, GREEN), (0.01, YELLOW), (0.05, RED)),
            decimals=1,
        ),
        stat_panel(
            "TTFT p95 (10 min)",
            [prom(quantile(0.95, "prober_ttft_seconds", "10m", "model", MODEL))],
            "s",
            w=3,
        ),
        stat_panel(
            "Output speed p50 (10 min)",
            [
                prom(
                    quantile(
                        0.5, "prober_output_tokens_per_second", "10m", "model", MODEL
                    )
                )
            ],
            "tokens/s",
            w=3,
        ),
        stat_panel(
            "Quality",
            [prom(f"avg({probes('prober_quality_score', MODEL)})")],
            "none",
            description="Mean grade (0-10) of the latest coding answers.",
            w=3,
            thresholds=((None, RED), (6, YELLOW), (8, GREEN)),
            decimals=1,
        ),
        stat_panel(
            "Spend 24h",
            [prom(f"sum(increase({probes('prober_cost_usd_total', MODEL)}[24h]))")],
            "currencyUSD",
            w=3,
            decimals=4,
        ),
    ]


def _latency() -> list[Item]:
    return [
        row("Latency"),
        heatmap_panel(
            "TTFT histogram",
            f"sum by (le) (increase({probes('prober_ttft_seconds_bucket', MODEL)}"
            f"[{RATE}]))",
            description="Successful probes per TTFT bucket over time.",
        ),
        heatmap_panel(
            "End-to-end histogram",
            f"sum by (le) (increase({probes('prober_e2e_seconds_bucket', MODEL)}"
            f"[{RATE}]))",
            description="Successful probes per end-to-end bucket over time.",
        ),
        timeseries_panel(
            "TTFT and first answer token",
            [
                prom(quantile(q, "prober_ttft_seconds", RATE, "model", MODEL), label)
                for q, label in (
                    (0.5, "TTFT p50"),
                    (0.95, "TTFT p95"),
                    (0.99, "TTFT p99"),
                )
            ]
            + [
                prom(
                    quantile(0.95, "prober_ttfa_seconds", RATE, "model", MODEL),
                    "first answer token p95",
                )
            ],
            "s",
            description=(
                "The first answer token differs from the first token for "
                "reasoning models, which think before they answer."
            ),
        ),
        timeseries_panel(
            "End-to-end p95 by probe",
            [
                prom(
                    quantile(0.95, "prober_e2e_seconds", RATE, "probe", MODEL),
                    "{{probe}}",
                )
            ],
            "s",
        ),
        timeseries_panel(
            "Inter-token latency",
            [
                prom(quantile(q, "prober_itl_seconds", RATE, "model", MODEL), label)
                for q, label in ((0.5, "p50"), (0.95, "p95"))
            ],
            "s",
            description="Generation time per output token after the first.",
            w=8,
        ),
        timeseries_panel(
            "Output speed",
            [
                prom(
                    quantile(
                        q, "prober_output_tokens_per_second", RATE, "model", MODEL
                    ),
                    label,
                )
                for q, label in ((0.05, "p5"), (0.5, "p50"))
            ],
            "tokens/s",
            w=8,
        ),
        timeseries_panel(
            "Connection phases p95",
            [
                prom(
                    quantile(0.95, "prober_phase_seconds", RATE, "phase", MODEL),
                    "{{phase}}",
                )
            ],
            "s",
            description=(
                "DNS and connect appear only when a new connection was opened; "
                "headers is request start to response headers."
            ),
            w=8,
        ),
    ]


def _errors() -> list[Item]:
    return [
        row("Errors"),
        bars(
            "Errors by type",
            [
                prom(
                    "sum by (error_type) "
                    f"(increase({probes('prober_errors_total', MODEL)}[{RATE}]))",
                    "{{error_type}}",
                )
            ],
            "short",
        ),
        timeseries_panel(
            "Error ratio by probe",
            [prom(error_ratio(RATE, "probe", MODEL), "{{probe}}")],
            "percentunit",
        ),
        sql_table(
            "Errors in the time range",
            f"""
            SELECT error_type, status_code, count(*) AS probes,
                   max(started_at) AS last_seen, max(error_message) AS example
            FROM probe_results
            WHERE NOT ok AND {WHERE}
            GROUP BY error_type, status_code
            ORDER BY probes DESC
            """,
            w=12,
        ),
        sql_table(
            "Latest probes",
            f"""
            SELECT started_at AS "time", probe, ok, error_type, ttft_s, e2e_s,
                   output_tokens, output_tokens_per_s, cost_usd, quality
            FROM probe_results
            WHERE {WHERE}
            ORDER BY started_at DESC
            LIMIT 100
            """,
            w=12,
            units={
                "ttft_s": "s",
                "e2e_s": "s",
                "output_tokens_per_s": "tokens/s",
                "cost_usd": "currencyUSD",
            },
        ),
    ]


def _grades() -> list[Item]:
    answers = sql_table(
        "Graded answers",
        f"""
        SELECT r.started_at AS "time", r.probe, r.quality,
               r.grade_correctness AS correctness,
               r.grade_code_quality AS code_quality,
               r.grade_documentation AS documentation,
               r.grade_edge_cases AS edge_cases, r.grade_method AS method,
               r.grade_failed_checks AS failed_checks, a.answer_chars,
               left(a.answer, 2000) AS answer
        FROM probe_results r
        LEFT JOIN probe_answers a ON a.uid = r.uid
        WHERE r.quality IS NOT NULL AND {WHERE}
        ORDER BY r.started_at DESC
        LIMIT 50
        """,
        description=(
            "The latest graded answers: the grade (0-10), its four equally "
            "weighted parts, how it was graded (executed or static), the "
            "checks it failed, and the start of the answer (inspect a cell "
            "to read it; answer_chars is its full length)."
        ),
        h=10,
    )
    answers = answers.override_by_name(
        "answer", [DynamicConfigValue(id_val="custom.inspect", value=True)]
    )
    return [
        row("Answers' grades"),
        timeseries_panel(
            "Quality by probe",
            [
                prom(
                    f"avg by (probe) ({probes('prober_quality_score', MODEL)})",
                    "{{probe}}",
                )
            ],
            "none",
            description="Latest grade (0-10) of each coding probe.",
        ),
        sql_timeseries(
            "Grades over time",
            f"""
            SELECT $__timeGroupAlias(started_at, '1h'),
                   avg(grade_correctness) AS correctness,
                   avg(grade_code_quality) AS code_quality,
                   avg(grade_documentation) AS documentation,
                   avg(grade_edge_cases) AS edge_cases
            FROM probe_results
            WHERE quality IS NOT NULL AND {WHERE}
            GROUP BY 1
            ORDER BY 1
            """,
            "none",
            description="Hourly mean of the four equally weighted grade parts.",
        ),
        answers,
    ]


def _context() -> list[Item]:
    return [
        row("Context sweep"),
        stat_panel(
            "Effective context",
            [
                prom(
                    "max(prober_context_effective_tokens"
                    '{model="$model", vantage=~"$vantage"})'
                )
            ],
            "short",
            description=(
                "The longest prompt at which retrieval stays within 90% of its "
                "short-prompt accuracy."
            ),
            w=6,
            h=8,
        ),
        sql_matrix(
            "Accuracy by length and depth, latest sweep",
            latest_sweep_cells(WHERE, "c.length_label"),
            rows="length",
            columns="depth",
            values="accuracy",
            unit="percentunit",
            thresholds=ACCURACY,
            description=(
                "The share of answers holding the hidden fact, per prompt "
                "length and the depth it was hidden at (0% = top of the "
                "padding). An empty cell had no answer, only errors."
            ),
            w=9,
        ),
        sql_table(
            "TTFT by prompt length",
            f"""
            SELECT context_tokens,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_s) AS ttft_p50,
                   max(ttft_s) AS ttft_max, count(*) AS probes
            FROM probe_results
            WHERE probe = 'context' AND ok AND {WHERE}
            GROUP BY context_tokens
            ORDER BY context_tokens
            """,
            description="Prefill cost: how TTFT grows with the prompt.",
            w=9,
            units={"ttft_p50": "s", "ttft_max": "s"},
        ),
        sql_timeseries(
            "Effective context by sweep",
            f"""
            SELECT started_at AS "time",
                   effective_context_tokens AS "effective context"
            FROM context_sweeps
            WHERE {WHERE}
            ORDER BY 1
            """,
            "short",
            description="One point per sweep; a gap is a sweep with no retrieval.",
            held=True,
        ),
        sweeps_table(WHERE, w=12),
    ]


def build() -> Dashboard:
    dashboard = (
        new_dashboard(
            UID,
            "prober / Model detail",
            "One model: latency histograms, phases, errors, grades and context.",
        )
        .with_variable(model_variable(multi=False))
        .with_variable(vantage_variable())
    )
    return assemble(
        dashboard, _state() + _latency() + _errors() + _grades() + _context()
    )


__all__ = ["UID", "build"]
