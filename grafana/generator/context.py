"""Context: where does each model stop reading its prompt?

The gauges give each model's latest sweep now; the sweep tables
(``context_sweeps``, ``context_sweep_cells``; ``storage/sweeps.py``) give
every sweep at the time it ran, which is what a figure measured once a day
should be drawn as, and the cells of the latest one.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.generator.panels import (
    GREEN,
    RED,
    YELLOW,
    Item,
    assemble,
    bar_gauge,
    model_variable,
    new_dashboard,
    prom,
    row,
    sql_matrix,
    sql_table,
    sql_timeseries,
    timeseries_panel,
    vantage_variable,
)

__all__ = ["UID", "build", "latest_sweep_cells", "sweeps_table"]

UID = "prober-context"

SELECT = 'model=~"$model", vantage=~"$vantage"'
SWEEPS = "model IN ($model) AND vantage IN ($vantage) AND $__timeFilter(started_at)"
WHERE = f"probe = 'context' AND {SWEEPS}"

# Accuracy colours: red below half the answers, green from 90% (keep_ratio).
ACCURACY = ((None, RED), (0.5, YELLOW), (0.9, GREEN))


def latest_sweep_cells(where: str, row_label: str) -> str:
    """The cells of each model's latest sweep matching ``where``, one row per
    (length, depth), labelled for a length-by-depth matrix."""
    return f"""
        SELECT {row_label} AS length,
               (round(c.needle_depth * 100))::int || '% deep' AS depth,
               c.accuracy
        FROM context_sweep_cells c
        JOIN (
            SELECT DISTINCT ON (model) uid
            FROM context_sweeps
            WHERE {where}
            ORDER BY model, started_at DESC
        ) latest ON latest.uid = c.sweep_uid
        ORDER BY c.model, c.length_tokens, c.needle_depth
        """


def sweeps_table(where: str, **kwargs: Any) -> table.Panel:
    """Every sweep matching ``where``, newest first, with what it found."""
    return sql_table(
        "Sweeps",
        f"""
        SELECT started_at AS "time", model,
               effective_context_tokens AS effective_context,
               effective_at_top AS at_top, baseline_accuracy,
               prefill_tokens_per_s AS prefill_speed, prefill_r2, requests,
               errors, duration_s AS duration, cost_usd AS cost
        FROM context_sweeps
        WHERE {where}
        ORDER BY started_at DESC
        LIMIT 100
        """,
        description=(
            "at_top: the effective context reached the longest length tried, "
            "so it is a lower bound. baseline_accuracy is the shortest "
            "length's; failed requests count as errors, not misses."
        ),
        units={
            "baseline_accuracy": "percentunit",
            "prefill_speed": "tokens/s",
            "duration": "s",
            "cost": "currencyUSD",
        },
        **kwargs,
    )


def _effective() -> list[Item]:
    return [
        row("Effective context"),
        bar_gauge(
            "Effective context now",
            [
                prom(
                    f"max by (model) (prober_context_effective_tokens{{{SELECT}}})",
                    "{{model}}",
                    instant=True,
                )
            ],
            "short",
            description=(
                "The longest prompt, in tokens, at which retrieval accuracy stays "
                "within 90% of the model's short-prompt accuracy."
            ),
        ),
        sql_timeseries(
            "Effective context by sweep",
            f"""
            SELECT started_at AS "time", model AS metric,
                   effective_context_tokens AS value
            FROM context_sweeps
            WHERE {SWEEPS}
            ORDER BY 1
            """,
            "short",
            description=(
                "One point per sweep. A falling line is a model that reads less "
                "of its prompt; a gap is a sweep with no retrieval at the "
                "shortest length."
            ),
            held=True,
        ),
        sweeps_table(SWEEPS, w=24),
    ]


def _by_length() -> list[Item]:
    return [
        row("By prompt length"),
        timeseries_panel(
            "TTFT at each prompt length",
            [
                prom(
                    f"max by (model, length) (prober_context_ttft_seconds{{{SELECT}}})",
                    "{{model}} {{length}}",
                )
            ],
            "s",
            description="Time to first token of the latest sweep, per length.",
            w=8,
        ),
        sql_timeseries(
            "Prefill speed by sweep",
            f"""
            SELECT started_at AS "time", model AS metric,
                   prefill_tokens_per_s AS value
            FROM context_sweeps
            WHERE {SWEEPS}
            ORDER BY 1
            """,
            "tokens/s",
            description=(
                "Prompt tokens processed per second before the first token: "
                "the inverse slope of TTFT against prompt tokens, one point per "
                "sweep (none when TTFT did not grow)."
            ),
            w=8,
            held=True,
        ),
        timeseries_panel(
            "Retrieval accuracy at each length",
            [
                prom(
                    "max by (model, length) "
                    f"(prober_context_accuracy_ratio{{{SELECT}}})",
                    "{{model}} {{length}}",
                )
            ],
            "percentunit",
            w=8,
        ),
        sql_table(
            "TTFT against prompt tokens",
            f"""
            SELECT model, context_tokens,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_s) AS ttft_p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_s) AS ttft_p95,
                   count(*) AS probes
            FROM probe_results
            WHERE ok AND {WHERE}
            GROUP BY model, context_tokens
            ORDER BY model, context_tokens
            """,
            description="Prefill cost from the stored sweep results.",
            w=12,
            units={"ttft_p50": "s", "ttft_p95": "s"},
        ),
        sql_matrix(
            "Accuracy by length and depth, latest sweep",
            latest_sweep_cells(SWEEPS, "c.model || ' ' || c.length_label"),
            rows="length",
            columns="depth",
            values="accuracy",
            unit="percentunit",
            thresholds=ACCURACY,
            description=(
                "Each model's latest sweep: the share of answers holding the "
                "hidden fact, per prompt length and the depth it was hidden at "
                "(0% = top of the padding). An empty cell had no answer, only "
                "errors."
            ),
        ),
    ]


def build() -> Dashboard:
    dashboard = (
        new_dashboard(
            UID,
            "prober / Context",
            "TTFT against prompt length, retrieval accuracy by length and depth, "
            "effective context over time.",
        )
        .with_variable(model_variable(multi=True))
        .with_variable(vantage_variable())
    )
    return assemble(dashboard, _effective() + _by_length())
