"""prober's storage: SQL tables, engines and the batched result writer.

Nothing here imports from ``prober``: the record's schema lives in
:mod:`storage.tables` and the service fills it.
"""

from storage.engine import create_schema, database_url, make_engine, open_engine
from storage.loadruns import LoadRun, LoadStage
from storage.sweeps import (
    ContextSweep,
    ContextSweepCell,
    SweepWriter,
    load_sweep_cells,
    load_sweeps,
)
from storage.tables import RECORD_FIELDS, ProbeResult
from storage.writer import ResultWriter

__all__ = [
    "RECORD_FIELDS",
    "ContextSweep",
    "ContextSweepCell",
    "LoadRun",
    "LoadStage",
    "ProbeResult",
    "ResultWriter",
    "SweepWriter",
    "create_schema",
    "database_url",
    "load_sweep_cells",
    "load_sweeps",
    "make_engine",
    "open_engine",
]
