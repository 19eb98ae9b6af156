"""The `prober` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from prober.catalog import Catalog, build_catalog
from prober.config import Config, load_config
from prober.context import SweepResult
from prober.context.console import (
    print_sweeps,
    request_count,
    show_sweep_costs,
    store_sweeps,
)
from prober.exceptions import ConfigError, ProberError, SetupError
from prober.grader import grading_pool
from prober.runner import ProbeRun
from prober.tabular import FORMATS
from storage.engine import database_backend, describe_database

__all__ = ["main"]

log = logging.getLogger("prober")
_stderr = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("apscheduler", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(config_path: str | None) -> tuple[Config, Catalog]:
    config = load_config(config_path)
    return config, build_catalog(config, config_path or "catalog")


class _Group(click.Group):
    """Turns prober's own errors into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProberError as exc:
            # One line whatever the terminal's width, so scripts can grep it.
            _stderr.print(
                f"[bold red]error:[/] {escape(str(exc))}",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="prober")
def main() -> None:
    """Monitor hosted LLM coding models: uptime, latency, errors, quality, cost."""


def _database_failure(doing: str, url: str, exc: SQLAlchemyError) -> SetupError:
    """One line for a database prober cannot use: which one (password
    hidden) and the driver's own reason."""
    cause = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return SetupError(f"cannot {doing} the database {describe_database(url)}: {cause}")


def _check_database(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """Refuse a database prober cannot use before any work starts."""
    if value is not None:
        try:
            database_backend(value)
        except ValueError as exc:
            raise ConfigError("--database", None, str(exc)) from None
    return value


_database_option = click.option(
    "--database",
    callback=_check_database,
    help="SQLite file or database URL [default: prober.db].",
)

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="TOML file laid over the default catalog.",
)


@main.command()
@_config_option
@_database_option
@click.option(
    "--listen",
    help="HOST:PORT for /metrics, the API and the status page "
    "[default: 127.0.0.1:9464].",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a listen address off loopback (set PROBER_API_TOKEN too).",
)
@click.option("--provider", help="Send every model to this provider.")
@click.option("--vantage", help="Name of where this prober runs [default: local].")
@click.option(
    "--shard",
    metavar="K/N",
    help="Probe only shard K of N of the catalog (split by model id).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    help="Seconds to let probes in flight finish on stop [default: 30].",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def run(
    config_path: str | None,
    database: str | None,
    listen: str | None,
    allow_remote: bool,
    provider: str | None,
    vantage: str | None,
    shard: str | None,
    grace: float | None,
    verbose: bool,
) -> None:
    """Probe the catalog on its schedule until stopped (Ctrl-C or SIGTERM)."""
    from prober.catalog import parse_shard
    from prober.exposure import api_token_from_env, check_listen
    from prober.service import Service, ServiceOptions, parse_listen

    _setup_logging(verbose)
    config, catalog = _load(config_path)
    if provider:
        catalog = catalog.with_provider(provider)
    settings = config.prober
    options = ServiceOptions(
        database=database or settings.database,
        listen=listen or settings.listen,
        vantage=vantage or settings.vantage,
        drain_grace_s=settings.drain_grace_s if grace is None else grace,
        shard=shard or settings.shard,
        daily_budget_usd=settings.daily_budget_usd,
        allow_remote=allow_remote or settings.allow_remote,
        api_token=api_token_from_env(),
    )
    check_listen(*parse_listen(options.listen), options.allow_remote)
    if options.shard is not None:
        parse_shard(options.shard)
    asyncio.run(Service(catalog, options, grading_pool(config.grading)).run())


@main.command()
@_config_option
@click.option("--model", "models", multiple=True, help="Model id (repeatable).")
@click.option("--probe", "probes", multiple=True, help="Probe name (repeatable).")
@click.option("--target", help="OpenAI-compatible base URL to send the models to.")
@click.option("--api-key-env", help="Environment variable holding the target's key.")
@click.option("--provider", help="Send every model to this provider.")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
@_database_option
@click.option("--no-store", is_flag=True, help="Do not write results to the database.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def once(
    config_path: str | None,
    models: tuple[str, ...],
    probes: tuple[str, ...],
    target: str | None,
    api_key_env: str | None,
    provider: str | None,
    as_json: bool,
    database: str | None,
    no_store: bool,
    verbose: bool,
) -> None:
    """Run one pass over the selected models and probes, then print results."""
    from prober.once import run_once

    _setup_logging(verbose)
    if as_json:
        logging.getLogger().setLevel(logging.WARNING)
    config, catalog = _load(config_path)
    if provider:
        catalog = catalog.with_provider(provider)
    if target:
        catalog = catalog.with_target(
            target, api_key_env, list(models) or list(catalog.models)
        )
    selection = _selection(catalog, models, probes)
    store = database or config.prober.database
    # The database is made ready before any probe runs (and is paid for), so
    # one that cannot be used stops the command before any work.
    engine = None if no_store else _prepared_database(store)
    show_sweep_costs(catalog, selection, _stderr)

    grading = grading_pool(config.grading)
    sweeps: list[SweepResult] = []
    try:
        with _ProgressBar(request_count(catalog, selection), as_json) as advance:
            runs = asyncio.run(
                run_once(
                    catalog, selection, config.prober.vantage, advance, grading,
                    sweeps.append,
                )
            )  # fmt: skip
    finally:
        grading.close()
    if engine is not None:
        _store(runs, engine, store)
        store_sweeps(sweeps, store, Path(_spill_name(store)))
    if as_json:
        for run in runs:
            click.echo(json.dumps(_json_record(run.record)))
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(_results_table(runs))
        for run in runs:
            if not run.ok:
                r = run.record
                line = f"{r['model']} {r['probe']}: {r['error_type']}: "
                console.print(line + (r["error_message"] or ""), highlight=False)
        print_sweeps(console, sweeps)
    failed = sum(1 for run in runs if not run.ok)
    if failed:
        # Scripts use once as a smoke check: any failed probe fails the run,
        # after every result is printed and stored.
        _stderr.print(f"{failed} of {len(runs)} probes failed", highlight=False)
        sys.exit(1)


def _selection(
    catalog: Catalog, models: tuple[str, ...], probes: tuple[str, ...]
) -> list[tuple[str, str]]:
    for model in models:
        if model not in catalog.models:
            raise click.BadParameter(
                f"unknown model {model!r}; use --target to probe models outside the "
                "catalog",
                param_hint="--model",
            )
    for probe in probes:
        if probe not in catalog.tasks:
            known = ", ".join(catalog.tasks)
            raise click.BadParameter(
                f"unknown probe {probe!r}; known: {known}", param_hint="--probe"
            )
    chosen_models = list(models) or list(catalog.models)
    chosen_probes = list(probes) or ["ping"]
    return [(m, p) for m in chosen_models for p in chosen_probes]


class _ProgressBar:
    """A progress bar on stderr, or nothing when output must stay clean."""

    def __init__(self, total: int, quiet: bool) -> None:
        self._total = total
        self._quiet = quiet or not _stderr.is_terminal
        self._bar: Progress | None = None

    def __enter__(self) -> Any:
        if self._quiet:
            return lambda run: None
        self._bar = Progress(
            TextColumn("probing"), BarColumn(), MofNCompleteColumn(),
            console=_stderr, transient=True,
        )  # fmt: skip
        self._bar.start()
        task = self._bar.add_task("probing", total=self._total)
        bar = self._bar
        return lambda run: bar.advance(task)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _prepared_database(database: str) -> Engine:
    from storage import create_schema, make_engine

    engine = make_engine(database)
    try:
        create_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise _database_failure("prepare", database, exc) from None
    return engine


def _store(runs: list[ProbeRun], engine: Engine, database: str) -> None:
    """Write the rows through the result writer, which spills what a
    database gone away since the start cannot take."""
    from storage import ResultWriter

    writer = ResultWriter(engine, Path(_spill_name(database)))
    writer.start()
    for run in runs:
        writer.submit(dict(run.record))
    writer.close()
    engine.dispose()


def _spill_name(database: str) -> str:
    if "://" not in database:
        return database + ".spill"
    return "prober.spill"


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    from storage import RECORD_FIELDS

    values = {name: record.get(name) for name in RECORD_FIELDS}
    values["started_at"] = record["started_at"].isoformat()
    return values


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def _results_table(runs: list[ProbeRun]) -> Table:
    table = Table(title="probe results")
    for name in ("model", "probe", "result", "TTFT ms", "TTFA ms", "e2e s"):
        table.add_column(
            name, justify="left" if name in ("model", "probe") else "right"
        )
    for name in ("ITL ms", "tok/s", "out tok", "quality", "cost $"):
        table.add_column(name, justify="right")
    for run in runs:
        r = run.record
        result = "ok" if r["ok"] else f"[red]{r['error_type']}[/]"
        table.add_row(
            r["model"],
            r["probe"],
            result,
            _ms(r["ttft_s"]),
            _ms(r["ttfa_s"]),
            "-" if r["e2e_s"] is None else f"{r['e2e_s']:.2f}",
            "-" if r["itl_s"] is None else f"{r['itl_s'] * 1000:.1f}",
            "-"
            if r["output_tokens_per_s"] is None
            else f"{r['output_tokens_per_s']:.0f}",
            "-" if r["output_tokens"] is None else str(r["output_tokens"]),
            "-" if r["quality"] is None else f"{r['quality']:.1f}",
            "-" if r["cost_usd"] is None else _usd(r["cost_usd"]),
        )
    return table


def _usd(amount: float) -> str:
    """Dollars with every significant digit down to a billionth, so a ping
    of one token at $0.35 per million reads 0.00000035, not 0.000000."""
    return f"{amount:.9f}".rstrip("0").rstrip(".") or "0"


@main.group()
def db() -> None:
    """The database schema: migrations."""


@db.command()
@_config_option
@_database_option
def upgrade(config_path: str | None, database: str | None) -> None:
    """Apply every migration the database lacks (also done by `prober run`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from prober.exceptions import SetupError
    from storage import make_engine
    from storage.migrate import upgrade as migrate

    _setup_logging(False)
    url = database or load_config(config_path).prober.database
    engine = make_engine(url)
    try:
        revision = migrate(engine)
    except SQLAlchemyError as exc:
        raise SetupError(f"cannot migrate the database: {exc}") from exc
    finally:
        engine.dispose()
    click.echo(f"database at revision {revision}")


@db.command()
@_config_option
@_database_option
def current(config_path: str | None, database: str | None) -> None:
    """Print the database's revision and the newest one this prober has."""
    from storage import open_engine
    from storage.migrate import current_revision, head_revision

    url = database or load_config(config_path).prober.database
    try:
        engine = open_engine(url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise _database_failure("read", url, exc) from None
    finally:
        engine.dispose()
    click.echo(f"database at {revision or 'no revision'}; newest {head_revision()}")


@main.command()
@_config_option
@click.option(
    "--context",
    is_flag=True,
    help="Context sweeps: accuracy and TTFT per length, prefill rate, "
    "effective context.",
)
@click.option(
    "--load",
    is_flag=True,
    help="Capacity tests: peak-over-quiet TTFT slowdown, errors at peak, knee.",
)
@click.option(
    "--since",
    help="Window: a span back from now (30m, 24h, 7d, 2w) or an ISO date "
    "[default: 24h for the ranking, 7d for --context].",
)
@click.option(
    "--run",
    "run_ids",
    multiple=True,
    help="With --load: a run id or prefix (repeatable).",
)
@click.option(
    "--last",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="With --load: how many of the newest runs.",
)
@click.option("--model", "models", multiple=True, help="Model id (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output of the ranking; --context prints tables.",
)
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --context, also write PNG charts to this directory.",
)
@_database_option
def report(
    config_path: str | None,
    context: bool,
    load: bool,
    since: str | None,
    run_ids: tuple[str, ...],
    last: int,
    models: tuple[str, ...],
    fmt: str,
    plot_dir: Path | None,
    database: str | None,
) -> None:
    """Print reports from the stored results: by default the ranking
    (measured quality, price and value beside the reference figures, with
    latency, errors, uptime and spend); --context for the context sweeps;
    --load for capacity tests."""
    from prober.reports import ReportOptions, parse_since, run_reports

    if context and load:
        raise click.UsageError("choose one report: --context or --load")
    name = "context" if context else "load" if load else "ranking"
    if name == "context" and fmt != "table":
        raise click.UsageError("--context prints tables; --format is for the others")
    if name == "load" and fmt not in ("table", "json"):
        raise click.UsageError("--load prints a table or JSON")
    if plot_dir is not None and name != "context":
        raise click.UsageError("--plot goes with --context")
    window = since or ("7d" if context else "24h")
    try:
        start = parse_since(window)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config, catalog = _load(config_path)
    for model in models:
        if model not in catalog.models:
            raise click.BadParameter(f"unknown model {model!r}", param_hint="--model")
    options = ReportOptions(
        database=database or config.prober.database,
        since=start,
        catalog=catalog,
        models=models,
        plot_dir=plot_dir,
        fmt=fmt,
        window=window,
        run_ids=run_ids,
        last=last,
    )
    console = Console(width=None if sys.stdout.isatty() else 200)
    try:
        run_reports([name], options, console)
    except SQLAlchemyError as exc:
        raise _database_failure("read", options.database, exc) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--profiles", type=click.Path(exists=True, dir_okay=False))
@click.option("--seed", type=int, help="Seed for repeatable latencies and faults.")
def simulate(host: str, port: int, profiles: str | None, seed: int | None) -> None:
    """Serve the simulator of the ten catalog models (OpenAI-compatible)."""
    import simulator
    from simulator.banks import BankError

    _setup_logging(False)
    try:
        simulator.run_server(host, port, profiles, seed, on_listening=_listening)
    except (simulator.ProfileError, BankError) as exc:
        raise SetupError(str(exc)) from None  # already names file, key, reason
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SetupError(f"cannot listen on {host}:{port}: {reason}") from None


def _listening(url: str) -> None:
    click.echo(f"listening on {url}")


@main.command()
@_config_option
@click.option("--task", required=True, help="Task the answer was written for.")
@click.option(
    "--answer-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="The model's full answer (Markdown as it came); - for stdin.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the grade as JSON.")
def grade(config_path: str | None, task: str, answer_file: str, as_json: bool) -> None:
    """Grade one answer the way probes are graded, and explain the score."""
    from prober.grader import grading_settings
    from prober.grading import TASKS
    from prober.grading import grade as grade_answer

    if task not in TASKS:
        raise click.BadParameter(
            f"unknown task {task!r}; known: {', '.join(TASKS)}", param_hint="--task"
        )
    config = load_config(config_path)
    with click.open_file(answer_file, encoding="utf-8", errors="replace") as handle:
        answer = handle.read()
    result = grade_answer(task, answer, grading_settings(config.grading))
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    Console().print(_grade_table(result))


def _grade_table(result: Any) -> Table:
    table = Table(title=f"{result.task}: quality {result.quality:.1f} / 10")
    table.add_column("part")
    table.add_column("score", justify="right")
    for name in ("correctness", "code_quality", "documentation", "edge_cases"):
        table.add_row(name.replace("_", " "), f"{getattr(result, name):.1f}")
    table.caption = (
        f"method: {result.method}; failed checks: "
        + (", ".join(result.failed_checks) or "none")
        + "".join(f"\nnote: {note}" for note in result.notes)
    )
    return table


@main.command()
@_config_option
def setup(config_path: str | None) -> None:
    """Install the npm packages (TypeScript, Express) used to run JavaScript
    and TypeScript answers. Without Node.js those answers are graded
    statically, and this says so without failing; a failing npm fails."""
    import shutil

    from prober.grader import grading_settings
    from prober.grading import NodeSetupError, install_node_packages

    _setup_logging(False)
    config = load_config(config_path)
    if shutil.which("node") is None or shutil.which("npm") is None:
        log.warning(
            "Node.js or npm is not on PATH: JavaScript and TypeScript answers "
            "will be graded statically (grade_method = static)"
        )
        return
    try:
        install_node_packages(grading_settings(config.grading))
    except NodeSetupError as exc:
        raise click.ClickException(str(exc)) from None
