"""The OpenAPI 3.1 description of the JSON API, served at
``/api/v1/openapi.json``. Model and probe names are listed as enums from
the running catalog, so a client (or a fuzzer) knows every valid value."""

from __future__ import annotations

from typing import Any

from prober.metrics import ERROR_TYPES
from prober.uptime import WINDOWS

__all__ = ["openapi_document"]

_NUMBER = {"type": ["number", "null"]}
_INTEGER = {"type": ["integer", "null"]}
_STRING = {"type": ["string", "null"]}
_BOOLEAN = {"type": ["boolean", "null"]}
# A query time: an RFC 3339 date-time, or Unix seconds before the year 10000.
_TIME = {
    "anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "number", "minimum": 0, "exclusiveMaximum": 253402300800},
    ]
}

_RECORD_TYPES: dict[str, dict[str, Any]] = {
    "uid": {"type": "string"},
    "started_at": {"type": "string", "format": "date-time"},
    "model": {"type": "string"},
    "provider": {"type": "string"},
    "probe": {"type": "string"},
    "vantage": {"type": "string"},
    "ok": {"type": "boolean"},
    "error_type": {"enum": [*sorted(ERROR_TYPES), None]},
    "status_code": _INTEGER,
    "error_message": _STRING,
    "tokens_source": {"enum": ["usage", "estimate", None]},
    "finish_reason": _STRING,
    "response_model": _STRING,
    "system_fingerprint": _STRING,
    "grade_method": _STRING,
    "grade_failed_checks": _STRING,
    "needle_found": _BOOLEAN,
}
_INTEGER_FIELDS = (
    "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens",
    "ratelimit_remaining_requests", "ratelimit_remaining_tokens", "context_tokens",
)  # fmt: skip


def _record_schema() -> dict[str, Any]:
    from storage import RECORD_FIELDS

    properties = {}
    for name in ("uid", *RECORD_FIELDS):
        if name in _RECORD_TYPES:
            properties[name] = _RECORD_TYPES[name]
        elif name in _INTEGER_FIELDS:
            properties[name] = _INTEGER
        else:
            properties[name] = _NUMBER
    return {"type": "object", "properties": properties, "required": ["uid", "ok"]}


def _summary_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {"count": {"type": "integer"}}
    properties.update({f"p{q}": _NUMBER for q in (50, 90, 95, 99)})
    return {"type": "object", "properties": properties}


def _parameter(
    name: str, description: str, schema: dict[str, Any], many: bool = False
) -> dict[str, Any]:
    if many:
        schema = {"type": "array", "items": schema}
    parameter = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if many:
        parameter.update(style="form", explode=True)
    return parameter


def _get(summary: str, parameters: list[dict[str, Any]], schema: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": _json_response("OK", schema),
                "400": _json_response("A bad parameter, named in the body", "Error"),
            },
        }
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        },
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _schemas() -> dict[str, Any]:
    windows = {"enum": list(WINDOWS)}
    uptime_row = _object(
        {
            "model": {"type": "string"},
            "ratio": _NUMBER,
            "ok": {"type": "integer"},
            "errors": {"type": "integer"},
            "rate_limited": {"type": "integer"},
        }
    )
    return {
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "parameter": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["error"],
        },
        "Result": _record_schema(),
        "Summary": _summary_schema(),
        "Models": _object({"models": {"type": "array", "items": {"type": "object"}}}),
        "Results": _object(
            {
                "results": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Result"},
                },
                "next_cursor": _STRING,
            }
        ),
        "Percentiles": _object(
            {
                "window": windows,
                "since": {"type": "string", "format": "date-time"},
                "until": {"type": "string", "format": "date-time"},
                "percentiles": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "Uptime": _object(
            {"window": windows, "uptime": {"type": "array", "items": uptime_row}}
        ),
        "Report": _object(
            {
                "window": windows,
                "ranking": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "Rollups": _object(
            {
                "bucket": {"enum": ["5m", "1h"]},
                "rollups": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "Answer": _object(
            {
                "uid": {"type": "string"},
                "answer": {"type": "string"},
                "answer_chars": {"type": "integer"},
                "truncated": {"type": "boolean"},
            }
        ),
    }


def openapi_document(models: list[str], probes: list[str]) -> dict[str, Any]:
    model = _parameter(
        "model", "Model ids, repeated or comma-separated.", {"enum": models}, True
    )
    probe = _parameter(
        "probe", "Probe names, repeated or comma-separated.", {"enum": probes}, True
    )
    window = {"enum": list(WINDOWS)}
    since = _parameter("since", "Start, ISO-8601 or Unix seconds, inclusive.", _TIME)
    until = _parameter("until", "End, ISO-8601 or Unix seconds, exclusive.", _TIME)
    paths = {
        "/api/v1/models": _get("The catalog and each model's state", [], "Models"),
        "/api/v1/results": _get(
            "Result records, newest first, paged",
            [
                model,
                probe,
                since,
                until,
                _parameter("ok", "Only successes or failures.", {"type": "boolean"}),
                _parameter(
                    "limit",
                    "Page size.",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                ),
                _parameter(
                    "cursor",
                    "Opaque: the next_cursor of the previous page. Any other "
                    "value is refused with a 400 naming cursor.",
                    {"type": "string", "pattern": "^[A-Za-z0-9_=-]+$"},
                ),
                _parameter("vantage", "Only rows from this vantage.", _STRING),
            ],
            "Results",
        ),
        "/api/v1/percentiles": _get(
            "Latency percentiles of successful probes over a window",
            [model, probe, _parameter("window", "Window ending now.", window)],
            "Percentiles",
        ),
        "/api/v1/uptime": _get(
            "Uptime per model: rate-limited probes and maintenance left out",
            [_parameter("window", "Window ending now.", window), model],
            "Uptime",
        ),
        "/api/v1/report": _get(
            "The ranking: quality, price, value, latency, errors, uptime, spend",
            [_parameter("window", "Window ending now.", window)],
            "Report",
        ),
        "/api/v1/rollups": _get(
            "Stored 5-minute or hourly rollups",
            [
                model,
                probe,
                _parameter("bucket", "Bucket width.", {"enum": ["5m", "1h"]}),
                since,
                until,
                _parameter(
                    "limit",
                    "Most rows returned.",
                    {"type": "integer", "minimum": 1, "maximum": 10000},
                ),
            ],
            "Rollups",
        ),
        "/api/v1/answers/{uid}": _answer_path(),
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.1 document"}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "prober",
            "version": "1",
            "description": "Read-only API of a prober: results, percentiles, "
            "uptime and the ranking of the models it watches.",
        },
        "paths": paths,
        # Optional: the token is asked for only when PROBER_API_TOKEN is set.
        "security": [{}, {"bearer": []}],
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The value of PROBER_API_TOKEN, when the "
                    "prober has one",
                }
            },
        },
    }


def _answer_path() -> dict[str, Any]:
    path = _get("The stored answer of one result", [], "Answer")
    path["get"]["parameters"] = [
        {
            "name": "uid",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        }
    ]
    path["get"]["responses"]["404"] = _json_response("No answer stored", "Error")
    return path
