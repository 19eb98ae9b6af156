"""What a load-test process sends, where, and how its results are labelled.

:meth:`Traffic.build` resolves the options against prober's catalog (laid
over by ``--prober-config``) and the target host: the model and prompt mix,
the chat path, the key's header, the probe timeouts, and the provider,
vantage and database the results go to. A host that is not loopback is
treated as a paid provider: its key must be set, and the number of requests
is capped (``--paid-requests``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from loadtests.mix import Mix
from loadtests.samples import Sample
from loadtests.settings import LoadSettings, chat_path, is_loopback
from prober.catalog import Catalog, build_catalog
from prober.client import ChatRequest, Timeouts, request_body
from prober.config import load_config
from prober.exceptions import SetupError

__all__ = ["Traffic"]

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
SIMULATOR_PROVIDER = "simulator"


@dataclass(frozen=True, slots=True)
class Traffic:
    settings: LoadSettings
    host: str
    catalog: Catalog
    mix: Mix
    path: str
    headers: dict[str, str]
    paid: bool
    provider: str
    vantage: str
    database: str

    @classmethod
    def build(cls, settings: LoadSettings, host: str) -> Traffic:
        """Raises ``ConfigError``, ``SetupError`` or ``ValueError`` naming
        the file or option at fault."""
        config = load_config(settings.prober_config or None)
        catalog = build_catalog(config, settings.prober_config or "catalog")
        matched = _provider_at(catalog, host)
        paid = settings.paid or not is_loopback(host)
        return cls(
            settings=settings,
            host=host,
            catalog=catalog,
            mix=Mix.build(catalog, settings.models, settings.probes),
            path=chat_path(host),
            headers=_headers(settings, catalog, matched, paid),
            paid=paid,
            provider=settings.provider or _provider_label(host, matched, paid),
            vantage=settings.vantage or config.prober.vantage,
            database=settings.database or config.prober.database,
        )

    def timeouts(self, probe: str) -> Timeouts:
        return self.catalog.timeouts(probe)

    def request(self, model: str, probe: str) -> tuple[bytes, int]:
        """The request body (with a fresh nonce) and its prompt's length."""
        task = self.catalog.tasks[probe]
        max_tokens = self.settings.max_tokens or self.catalog.max_tokens(probe)
        chat = ChatRequest(model, task.prompt, max_tokens, task.temperature)
        return request_body(chat), len(task.prompt)

    def cost(self, sample: Sample) -> float | None:
        model = self.catalog.models.get(sample.model)
        if model is None:
            return None
        return model.cost_usd(sample.input_tokens, sample.output_tokens)


def _provider_at(catalog: Catalog, host: str) -> str | None:
    """The catalog provider whose base URL is ``host``, if any."""
    wanted = host.rstrip("/")
    for name, provider in catalog.providers.items():
        if provider.base_url and provider.base_url.rstrip("/") == wanted:
            return name
    return None


def _provider_label(host: str, matched: str | None, paid: bool) -> str:
    if matched:
        return matched
    if not paid:
        return SIMULATOR_PROVIDER
    return urlsplit(host).hostname or host


def _headers(
    settings: LoadSettings, catalog: Catalog, matched: str | None, paid: bool
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        # A compressed event stream arrives in bursts, which would distort
        # every token timing.
        "Accept-Encoding": "identity",
        "User-Agent": "prober-loadtest",
    }
    env = settings.api_key_env
    if not env and matched:
        env = catalog.providers[matched].api_key_env or ""
    env = env or DEFAULT_KEY_ENV
    key = os.environ.get(env)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    elif paid:
        raise SetupError(
            f"the API key for a paid host goes in the environment variable {env}, "
            "which is not set (choose another with --api-key-env)"
        )
    return headers
