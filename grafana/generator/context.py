"""Context: where does each model stop reading its prompt?"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.generator.panels import (
    Item,
    assemble,
    bar_gauge,
    model_variable,
    new_dashboard,
    prom,
    row,
    sql_table,
    timeseries_panel,
    vantage_variable,
)

UID = "prober-context"

SELECT = 'model=~"$model", vantage=~"$vantage"'
WHERE = (
    "probe = 'context' AND model IN ($model) AND vantage IN ($vantage) "
    "AND $__timeFilter(started_at)"
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
        timeseries_panel(
            "Effective context over time",
            [
                prom(
                    f"max by (model) (prober_context_effective_tokens{{{SELECT}}})",
                    "{{model}}",
                )
            ],
            "short",
            description="A falling line is a model that reads less of its prompt.",
        ),
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
        timeseries_panel(
            "Prefill speed",
            [
                prom(
                    "max by (model) "
                    f"(prober_context_prefill_tokens_per_second{{{SELECT}}})",
                    "{{model}}",
                )
            ],
            "tokens/s",
            description="Prompt tokens processed per second before the first token.",
            w=8,
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
        sql_table(
            "Accuracy by length and depth",
            f"""
            SELECT model, context_tokens, needle_depth,
                   avg(CASE WHEN needle_found THEN 1.0 ELSE 0.0 END) AS accuracy,
                   count(*) AS probes
            FROM probe_results
            WHERE {WHERE}
            GROUP BY model, context_tokens, needle_depth
            ORDER BY model, context_tokens, needle_depth
            """,
            description=(
                "Share of sweep probes that found the hidden fact, by prompt "
                "length and the depth it was hidden at (0 = start, 1 = end)."
            ),
            w=12,
            units={"accuracy": "percentunit"},
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
