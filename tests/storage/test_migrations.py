"""Alembic migrations on SQLite and PostgreSQL: the migrated schema is the
one the table classes describe, upgrades are idempotent, and a database made
before migrations is adopted."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from storage import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.tables import ProbeResult


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    assert upgrade(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted(database_url: str) -> None:
    engine = make_engine(database_url)
    ProbeResult.__table__.create(engine)  # type: ignore[attr-defined]
    upgrade(engine)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"probe_results", "probe_answers", "probe_rollups"} <= names
