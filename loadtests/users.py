"""The streaming chat user: probe prompts, read as they stream, timed as probes.

Each user loops: draw a model and a probe prompt from the mix, send it with a
fresh nonce and ``stream: true``, read the answer as it arrives
(:mod:`loadtests.stream`), report it, pause ``--think-s``.

How one request appears in Locust's statistics (web UI, ``--csv``,
``--json``), with the model as the name and milliseconds as Locust's unit:

=========  ===========================================================
type       entry
=========  ===========================================================
REQUEST    every request; a failure is counted under its ``error_type``
           (``http_5xx``, ``rate_limited``...); response time is request
           start to the end of the stream, or to the failure
TTFT       successful requests: time to first token
TTFA       successful requests with answer text: time to first answer token
E2E        successful requests: request start to the end of the stream
TOK/S      successful requests with two or more token chunks: output
           speed; its "response time" columns hold tokens per second
=========  ===========================================================

Only REQUEST entries feed Locust's Aggregated row, so its request count,
failure ratio and requests per second count each request once; the other
four are logged into their own entries alone. Latency entries count
successful requests only, as prober's histograms do: read them beside the
REQUEST failures.
"""

from __future__ import annotations

import logging
import random
import time

from geventhttpclient import HTTPClient
from geventhttpclient.url import URL
from locust import FastHttpUser, task
from locust.env import Environment
from locust.exception import StopUser

from loadtests.samples import Sample
from loadtests.session import session_of
from loadtests.settings import DEFAULT_HOST
from loadtests.stream import Exchange, stream_chat
from loadtests.traffic import Traffic

__all__ = ["StreamingChatUser"]

log = logging.getLogger(__name__)

# Like aiohttp's default keep-alive: a connection idle longer than this may
# have been closed by the server, and a POST sent on it would fail.
_IDLE_RECONNECT_S = 15.0


class StreamingChatUser(FastHttpUser):
    """Streams chat completions of the probe prompts; see the module doc."""

    host = DEFAULT_HOST
    # Real providers are HTTPS: check their certificates.
    insecure = False

    def __init__(self, environment: Environment) -> None:
        self._traffic: Traffic = session_of(environment).traffic()
        timeouts = [self._traffic.timeouts(p) for p in self._traffic.mix.tasks]
        self.connection_timeout = min(t.connect_s for t in timeouts)
        # Until the headers arrive only the first-token timeout applies;
        # afterwards each read sets its own deadline.
        self.network_timeout = max(t.first_token_s for t in timeouts)
        super().__init__(environment)
        self._rng = random.Random()
        self._idle_since = time.monotonic()

    def wait_time(self) -> float:
        return self._traffic.settings.think_s

    @task
    def chat(self) -> None:
        session = session_of(self.environment)
        traffic = self._traffic
        if not session.may_send(traffic):
            raise StopUser()
        target = traffic.mix.pick(self._rng)
        body, prompt_chars = traffic.request(target.model, target.task.name)

        started_at = time.time()
        exchange = stream_chat(
            self._http_client(),
            traffic.path,
            body,
            traffic.headers,
            traffic.timeouts(target.task.name),
            prompt_chars,
        )
        self._idle_since = time.monotonic()

        sample = Sample.of(
            started_at, target.model, target.task.name, exchange.measurement
        )
        _report(self.environment, sample, exchange)
        session.sample(sample)

    def _http_client(self) -> HTTPClient:
        pool = self.client.client.clientpool
        if time.monotonic() - self._idle_since > _IDLE_RECONNECT_S:
            pool.close()
        return pool.get_client(URL(self.host))


def _report(environment: Environment, sample: Sample, exchange: Exchange) -> None:
    """Put one request into Locust's statistics (see the module docstring)."""
    m = exchange.measurement
    if not sample.ok:
        log.debug("%s %s: %s", sample.model, sample.error_type, m.error_message)
    environment.events.request.fire(
        request_type="REQUEST",
        name=sample.model,
        response_time=_ms(sample.e2e_s),
        response_length=exchange.received_bytes,
        exception=sample.error_type,
        context={"probe": sample.probe},
    )
    if not sample.ok:
        return
    stats = environment.stats
    for kind, value in (
        ("TTFT", _ms(sample.ttft_s)),
        ("TTFA", _ms(sample.ttfa_s)),
        ("E2E", _ms(sample.e2e_s)),
        ("TOK/S", sample.output_tokens_per_s),
    ):
        if value is not None:
            # Locust keeps whole milliseconds (whole tokens per second here).
            stats.get(sample.model, kind).log(round(value), 0)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0
