"""Load-test metrics carry the probes' names, buckets and labels, plus
source="loadtest", and leave out the probes' up verdicts."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from loadtests.metrics import LoadMetrics
from prober.metrics import ProberMetrics
from tests.load.samples import failed, ok


def _families(registry: object) -> dict[str, object]:
    text = generate_latest(registry).decode()  # type: ignore[arg-type]
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_same_families_as_the_probes_minus_the_up_verdicts() -> None:
    load = LoadMetrics("sim", "eu")
    load.prepare([("glm-5", "flatten")])
    probes = ProberMetrics()
    probes.prepare([("glm-5", "sim", "flatten")], "eu")

    load_types = {n: f.type for n, f in _families(load.registry).items()}
    probe_types = {n: f.type for n, f in _families(probes.registry).items()}
    assert "prober_model_up" in probe_types
    expected = {
        name: kind
        for name, kind in probe_types.items()
        if name not in ("prober_model_up", "prober_last_success_timestamp_seconds")
    }
    assert load_types == expected


def test_samples_are_labelled_like_probes_with_a_source() -> None:
    load = LoadMetrics("sim", "eu")
    load.observe(ok(0, 0.25), cost_usd=0.002)
    load.observe(failed(0, "rate_limited"), cost_usd=None)
    text = generate_latest(load.registry).decode()

    labels = (
        'model="glm-5",probe="flatten",provider="sim",source="loadtest",vantage="eu"'
    )
    assert f"prober_requests_total{{{labels}}} 2.0" in text
    assert (
        'prober_errors_total{error_type="rate_limited",model="glm-5",probe="flatten",'
        'provider="sim",source="loadtest",vantage="eu"} 1.0'
    ) in text
    # Latency histograms count the successful request only, in the probes'
    # buckets: 0.25 s falls in the 0.3 s bucket, not the 0.2 s one.
    assert f'prober_ttft_seconds_bucket{{le="0.2",{labels}}} 0.0' in text
    assert f'prober_ttft_seconds_bucket{{le="0.3",{labels}}} 1.0' in text
    assert f"prober_ttft_seconds_count{{{labels}}} 1.0" in text
    assert f"prober_cost_usd_total{{{labels}}} 0.002" in text
