"""The result record has one set of field names everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from prober.catalog import build_catalog
from prober.client import StreamingClient
from prober.config import load_config
from prober.measurement import Measurement
from prober.runner import Runner
from storage import RECORD_FIELDS

DESIGN_FIELDS = [
    "started_at",
    "model",
    "provider",
    "probe",
    "vantage",
    "ok",
    "error_type",
    "status_code",
    "error_message",
    "ttft_s",
    "ttfa_s",
    "e2e_s",
    "itl_s",
    "chunk_gap_p50_s",
    "chunk_gap_p95_s",
    "chunk_gap_max_s",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "tokens_source",
    "output_tokens_per_s",
    "finish_reason",
    "response_model",
    "system_fingerprint",
    "cost_usd",
    "quality",
    "retry_after_s",
    "context_tokens",
    "needle_depth",
    "needle_found",
]


def test_table_holds_every_design_field() -> None:
    assert set(DESIGN_FIELDS) <= set(RECORD_FIELDS)


def test_runner_record_fills_exactly_the_table_fields() -> None:
    catalog = build_catalog(load_config())
    runner = Runner(catalog, StreamingClient())
    measurement = Measurement(ok=True, output_tokens=10, input_tokens=4)
    record = runner._record(  # noqa: SLF001
        "glm-5", "simulator", "ping", datetime.now(UTC), measurement
    )
    assert set(record) == {*RECORD_FIELDS, "uid"}
    # 10 output tokens at 1.92 USD per million; input tokens are unpriced.
    assert record["cost_usd"] == 10 * 1.92 / 1e6
    assert record["quality"] is None and record["context_tokens"] is None
