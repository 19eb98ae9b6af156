"""Every dashboard query against live data: each PromQL expression through a
real Prometheus scraping a running prober and a Locust capacity test, each
SQL query on the PostgreSQL database they fill. A query that returns nothing
fails.

PromQL runs as Grafana runs it: a panel's range query over the time range
(here, since Prometheus started), an instant query at its end. So a panel
that shows the Locust run, which is over by the time the tests query, is
checked the way a reader would see it afterwards."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Row, create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import _postgres_database
from tests.infra.dashboards import Query, dashboards, queries, variables
from tests.infra.stack import (
    MODEL,
    SCRAPE_S,
    VANTAGE,
    QueryError,
    Stack,
    running_stack,
)

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="prometheus not installed (Debian package prometheus; CI installs it)",
)

SETTLE_TIMEOUT_S = 150
# Grafana's built-in variables, as Grafana fills them for the last hour with
# the data source's 15 s minimum interval (grafana/provisioning).
PROMQL_BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
VALUES = {"model": MODEL, "vantage": VANTAGE}

PROMQL = [q for q in queries() if q.kind == "prometheus"]
SQL = [q for q in queries() if q.kind != "prometheus"]


def _variable_queries() -> list[Query]:
    found = []
    for name, dashboard in dashboards().items():
        for variable in variables(dashboard).values():
            found.append(
                Query(name, f"${variable['name']}", "prometheus", "", variable["query"])
            )
    return found


VARIABLES = _variable_queries()


def promql(query: Query) -> str:
    """The expression as Grafana would send it."""
    expr = query.text
    match = re.fullmatch(r"label_values\((.+), *(\w+)\)", expr)
    if match:  # a variable's query: the series it reads must exist
        expr = match.group(1)
    for name, value in {**PROMQL_BUILTINS, **VALUES}.items():
        expr = expr.replace(f"${name}", value)
    assert "$" not in expr, expr
    return expr


def sql(query: Query, now: datetime) -> str:
    """The SQL as Grafana's PostgreSQL data source would run it, for the
    last hour: variables interpolated (quoted where the variable is
    multi-valued), macros expanded as Grafana expands them."""
    statement = query.text
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    statement = re.sub(
        r"\$__timeFilter\(([\w.]+)\)", rf"\1 BETWEEN '{start}' AND '{end}'", statement
    )
    seconds = {"s": 1, "m": 60, "h": 3600}

    def _group(match: re.Match[str], alias: str) -> str:
        step = int(match.group(2)) * seconds[match.group(3)]
        return f"floor(extract(epoch from {match.group(1)})/{step})*{step}{alias}"

    pattern = r"\$__timeGroup{}\(([\w.]+), *'(\d+)([smh])'\)"
    statement = re.sub(
        pattern.format("Alias"), lambda m: _group(m, ' AS "time"'), statement
    )
    statement = re.sub(pattern.format(""), lambda m: _group(m, ""), statement)
    defined = variables(dashboards()[query.dashboard])
    for name, value in VALUES.items():
        if name in defined:
            quoted = f"'{value}'" if defined[name].get("multi") else value
            statement = statement.replace(f"${name}", quoted)
    assert "$" not in statement, statement
    return statement


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    for database_url in _postgres_database():
        with running_stack(workdir, database_url) as live:
            _settle(live)
            yield live


def _settle(live: Stack) -> None:
    """Wait, within a deadline, until every query that can have data has it."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    pending = list(PROMQL + VARIABLES)
    while pending and time.monotonic() < deadline:
        pending = [q for q in pending if not _settled(live, q)]
        time.sleep(2)
    engine = create_engine(live.database_url)
    try:
        pending = list(SQL)
        while pending and time.monotonic() < deadline:
            pending = [q for q in pending if not _sql_settled(engine, q)]
            time.sleep(2)
    finally:
        engine.dispose()


def _settled(live: Stack, query: Query) -> bool:
    try:
        return live.has_data(promql(query), instant=query.instant)
    except QueryError:
        return True  # the test reports it


def _sql_settled(engine: Engine, query: Query) -> bool:
    try:
        return bool(_sql_rows(engine, query))
    except DBAPIError:
        return True  # the test reports it


def _sql_rows(engine: Engine, query: Query) -> list[Row[Any]]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql(query, datetime.now(UTC)))))


@pytest.mark.parametrize("query", PROMQL + VARIABLES, ids=str)
def test_promql_query_returns_data(stack: Stack, query: Query) -> None:
    expr = promql(query)
    try:
        found = _has_data(stack, expr, query.instant)
    except QueryError as exc:
        pytest.fail(f"Prometheus refused {expr}: {exc}")
    assert found, f"no data for {expr}"


def _has_data(stack: Stack, expr: str, instant: bool) -> bool:
    # A scrape that times out on a loaded machine marks every series of its
    # target stale until the next one, which empties instant queries for a
    # moment: look again a few scrapes later before calling one empty.
    deadline = time.monotonic() + 3 * SCRAPE_S
    while not stack.has_data(expr, instant=instant):
        if not instant or time.monotonic() > deadline:
            return False
        time.sleep(SCRAPE_S)
    return True


@pytest.mark.parametrize("query", SQL, ids=str)
def test_sql_query_returns_rows(stack: Stack, query: Query) -> None:
    engine = create_engine(stack.database_url)
    try:
        rows = _sql_rows(engine, query)
    except DBAPIError as exc:
        pytest.fail(f"PostgreSQL refused the query: {exc.orig}")
    finally:
        engine.dispose()
    assert rows, f"no rows for {sql(query, datetime.now(UTC))}"


def test_every_recording_rule_produces_data(stack: Stack) -> None:
    import yaml

    from tests.infra.dashboards import REPO

    rules = yaml.safe_load((REPO / "prometheus/rules/recording.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert stack.query(rule["record"]), rule["record"]


def test_every_rule_evaluates_without_error(stack: Stack) -> None:
    # Errors such as many-to-many matching show only on real label sets.
    url = f"{stack.prometheus_url}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=10) as response:
        groups = json.load(response)["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 31
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
