"""Prober health: is the monitor itself probing on time and storing results?"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from grafana.generator.panels import (
    GREEN,
    POSTGRES,
    RED,
    SQL,
    YELLOW,
    Item,
    assemble,
    new_dashboard,
    probes,
    prom,
    row,
    sql_timeseries,
    stat_panel,
    timeseries_panel,
    up_down_mappings,
    vantage_variable,
)

UID = "prober-health"

RATE = "$__rate_interval"
JOB = 'job="prober"'


def _process() -> list[Item]:
    return [
        row("Process"),
        stat_panel(
            "Prober scraped",
            [prom(f"min(up{{{JOB}}})")],
            "none",
            description="Whether Prometheus reached every prober's /metrics.",
            mappings=up_down_mappings(),
            thresholds=((None, RED), (1, GREEN)),
        ),
        stat_panel(
            "Probes per minute",
            [prom(f"sum(rate({probes('prober_requests_total')}[5m])) * 60")],
            "short",
            decimals=1,
        ),
        stat_panel(
            "Alerts firing",
            [prom('count(ALERTS{alertstate="firing"}) or vector(0)')],
            "short",
            thresholds=((None, GREEN), (1, RED)),
        ),
        stat_panel(
            "Newest stored result",
            [
                SQL(
                    """
                    SELECT extract(epoch FROM now() - max(started_at)) AS age
                    FROM probe_results
                    WHERE vantage IN ($vantage)
                    """
                )
            ],
            "s",
            description="Age of the newest row in the database.",
            datasource=POSTGRES,
            thresholds=((None, GREEN), (300, YELLOW), (900, RED)),
        ),
        timeseries_panel(
            "Probes per minute by vantage",
            [
                prom(
                    "sum by (vantage) "
                    f"(rate({probes('prober_requests_total')}[{RATE}])) * 60",
                    "{{vantage}}",
                )
            ],
            "short",
        ),
        timeseries_panel(
            "Scheduler lag p95 by probe",
            [
                prom(
                    "histogram_quantile(0.95, sum by (le, probe) "
                    f"(rate(prober_scheduler_lag_seconds_bucket[{RATE}])))",
                    "{{probe}}",
                )
            ],
            "s",
            description=(
                "Actual minus planned start of each probe run. A growing lag "
                "means the prober cannot keep its schedule."
            ),
        ),
    ]


def _storage() -> list[Item]:
    return [
        row("Storage"),
        timeseries_panel(
            "Writer queue",
            [prom("sum by (instance) (prober_writer_queue_rows)", "{{instance}}")],
            "short",
            description="Result rows waiting to be written to the database.",
            w=8,
        ),
        timeseries_panel(
            "Spill file",
            [
                prom(
                    "sum by (instance) (prober_writer_spill_file_rows)",
                    "{{instance}} rows in the spill file",
                ),
                prom(
                    "sum by (instance) "
                    f"(increase(prober_writer_spilled_rows_total[{RATE}]))",
                    "{{instance}} rows spilled",
                ),
            ],
            "short",
            description=(
                "Rows moved to the spill file while the database was away; "
                "they are written when it returns."
            ),
            w=8,
        ),
        timeseries_panel(
            "Database reachable",
            [prom("min by (instance) (prober_database_up)", "{{instance}}")],
            "none",
            w=8,
        ),
        sql_timeseries(
            "Results stored per minute",
            """
            SELECT $__timeGroupAlias(started_at, '1m'), count(*) AS results
            FROM probe_results
            WHERE $__timeFilter(started_at) AND vantage IN ($vantage)
            GROUP BY 1
            ORDER BY 1
            """,
            "short",
            w=24,
        ),
    ]


def _cost_and_scrape() -> list[Item]:
    return [
        row("Budget and scrape"),
        timeseries_panel(
            "Budget today",
            [
                prom("max by (instance) (prober_budget_spent_usd)", "spent"),
                prom("max by (instance) (prober_budget_limit_usd)", "limit"),
            ],
            "currencyUSD",
            description="Spend counted against the daily budget, and the budget.",
            w=8,
        ),
        stat_panel(
            "Expensive probes paused",
            [prom("max(prober_budget_paused)")],
            "none",
            description="1 once the daily budget is reached; ping keeps running.",
            w=4,
            h=8,
            thresholds=((None, GREEN), (1, YELLOW)),
        ),
        timeseries_panel(
            "Scrape duration",
            [prom(f"scrape_duration_seconds{{{JOB}}}", "{{instance}}")],
            "s",
            w=6,
        ),
        timeseries_panel(
            "Series scraped",
            [prom(f"scrape_samples_scraped{{{JOB}}}", "{{instance}}")],
            "short",
            description="Samples per scrape: a jump means a label went unbounded.",
            w=6,
        ),
    ]


def build() -> Dashboard:
    dashboard = new_dashboard(
        UID,
        "prober / Prober health",
        "The monitor itself: scheduling, the result writer, spills and budget.",
    ).with_variable(vantage_variable())
    return assemble(dashboard, _process() + _storage() + _cost_and_scrape())
