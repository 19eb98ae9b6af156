"""The load test's own command-line options, added to Locust's parser.

:func:`add_arguments` registers them (through Locust's
``init_command_line_parser`` event, so they show in ``--help``, in
``locust.conf`` and, where marked, in the web UI's start form);
:meth:`LoadSettings.from_options` reads and checks them, naming the option in
any error. Durations are seconds.
"""

from __future__ import annotations

import ipaddress
from argparse import Namespace
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from loadtests.plans import SHAPES
from loadtests.stages import SLO

__all__ = ["LoadSettings", "add_arguments", "chat_path", "is_loopback"]

_SLO = SLO()

DEFAULT_HOST = "http://127.0.0.1:8000"
"""Where ``prober simulate`` (and ``python -m simulator``) listen by default."""


def add_arguments(parser: Any) -> None:
    """Add the options to Locust's ``parser`` (a ``LocustArgumentParser``).

    They go on the parser itself, not in a group: only there does Locust
    offer them in the web UI's start form.
    """
    for flag, spec in _OPTIONS:
        parser.add_argument(flag, **spec)


@dataclass(frozen=True, slots=True)
class LoadSettings:
    shape: str = "peak-hour"
    base_users: int = 2
    peak_multiple: float = 5.0
    duration_s: float = 180.0
    steps: int = 6
    slo_ttft_p95_s: float = _SLO.ttft_p95_s
    slo_error_rate: float = _SLO.error_rate
    models: str = ""
    probes: str = ""
    max_tokens: int = 0
    think_s: float = 1.0
    prober_config: str = ""
    api_key_env: str = ""
    paid_requests: int = 20
    paid: bool = False
    provider: str = ""
    vantage: str = ""
    database: str = ""
    no_store: bool = False
    metrics_listen: str = "127.0.0.1:9465"
    check_ttft_p95_s: float = 0.0
    check_e2e_p95_s: float = 0.0
    check_error_rate: float = 0.0

    @classmethod
    def from_options(cls, options: Namespace | None) -> LoadSettings:
        """The settings from Locust's parsed options; ``ValueError`` names
        the first bad option."""
        values = {}
        for item in fields(cls):
            if options is not None and hasattr(options, item.name):
                values[item.name] = getattr(options, item.name)
        settings = cls(**values)
        settings._check()
        return settings

    @property
    def slo(self) -> SLO:
        return SLO(self.slo_ttft_p95_s, self.slo_error_rate)

    def _check(self) -> None:
        rules = [
            ("shape", self.shape in SHAPES, f"one of {', '.join(SHAPES)}"),
            ("base-users", self.base_users >= 1, "at least 1"),
            ("peak-multiple", self.peak_multiple > 1, "above 1"),
            ("duration-s", self.duration_s > 0, "above 0"),
            ("steps", self.steps >= 1, "at least 1"),
            ("slo-ttft-p95-s", self.slo_ttft_p95_s > 0, "above 0"),
            ("slo-error-rate", 0 < self.slo_error_rate <= 1, "in (0, 1]"),
            ("max-tokens", self.max_tokens >= 0, "0 or more"),
            ("think-s", self.think_s >= 0, "0 or more"),
            ("paid-requests", self.paid_requests >= 0, "0 or more"),
        ]
        for option, valid, wanted in rules:
            if not valid:
                value = getattr(self, option.replace("-", "_"))
                raise ValueError(f"--{option}: {value!r}: must be {wanted}")


def _option(help_text: str, web_ui: bool = True, **spec: Any) -> dict[str, Any]:
    name = spec.pop("name")
    default = getattr(LoadSettings(), name)
    kind = type(default)
    if kind is bool:
        spec.setdefault("action", "store_true")
    elif kind is not str:
        spec.setdefault("type", kind)
    # Rendered here, not by argparse: the web UI shows help texts as they are.
    help_text = help_text.replace("%(default)s", str(default))
    return {"default": default, "help": help_text, "include_in_web_ui": web_ui, **spec}


_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--shape", _option("Load shape (default %(default)s).", name="shape",
                        choices=SHAPES)),
    ("--base-users", _option("Users in the quiet hour, and added per step "
                             "(default %(default)s).", name="base_users")),
    ("--peak-multiple", _option("Peak and spike users as a multiple of the base "
                                "(default %(default)s).", name="peak_multiple")),
    ("--duration-s", _option("Length of the whole shape, seconds "
                             "(default %(default)s).", name="duration_s")),
    ("--steps", _option("Steps of the step shape (default %(default)s).",
                        name="steps")),
    ("--slo-ttft-p95-s", _option("SLO for the knee: TTFT p95 at most this many "
                                 "seconds (default %(default)s).",
                                 name="slo_ttft_p95_s")),
    ("--slo-error-rate", _option("SLO for the knee: error rate below this "
                                 "(default %(default)s).", name="slo_error_rate")),
    ("--models", _option("Weighted models, e.g. glm-5=3,kimi-k2.5 (default: "
                         "every catalog model, equally).", name="models")),
    ("--probes", _option("Weighted probe prompts, e.g. flatten=2,ping (default: "
                         "the five coding tasks, equally).", name="probes")),
    ("--max-tokens", _option("max_tokens of every request (default 0: each "
                             "task's own).", name="max_tokens")),
    ("--think-s", _option("Pause between a user's requests, seconds "
                          "(default %(default)s).", name="think_s")),
    ("--prober-config", _option("prober TOML file laid over the default catalog.",
                                web_ui=False, name="prober_config")),
    ("--api-key-env", _option("Environment variable holding the API key (default: "
                              "the catalog provider's for --host, else "
                              "OPENAI_API_KEY).", web_ui=False, name="api_key_env")),
    ("--paid-requests", _option("Most requests each load-generating process may "
                                "send to a host that is not loopback (default "
                                "%(default)s).", web_ui=False, name="paid_requests")),
    ("--paid", _option("Treat the host as a paid provider even on loopback (a "
                       "local gateway in front of one): a key is required and "
                       "--paid-requests applies.", web_ui=False, name="paid")),
    ("--provider", _option("provider label of results (default: the catalog "
                           "provider whose base_url is --host, 'simulator' for "
                           "loopback without --paid, else the host name).",
                           web_ui=False, name="provider")),
    ("--vantage", _option("vantage label of results (default: prober's).",
                          web_ui=False, name="vantage")),
    ("--database", _option("SQLite file or database URL (default: prober's, "
                           "prober.db).", web_ui=False, name="database")),
    ("--no-store", _option("Do not write the run to the database.", web_ui=False,
                           name="no_store")),
    ("--metrics-listen", _option("HOST:PORT of the live /metrics (master only), "
                                 "or 'off' (default %(default)s).", web_ui=False,
                                 name="metrics_listen")),
    ("--check-ttft-p95-s", _option("Exit 1 if the run's TTFT p95 is above this "
                                   "(0: no check).", name="check_ttft_p95_s")),
    ("--check-e2e-p95-s", _option("Exit 1 if the run's end-to-end p95 is above "
                                  "this (0: no check).", name="check_e2e_p95_s")),
    ("--check-error-rate", _option("Exit 1 if the run's error rate is above this "
                                   "(0: no check).", name="check_error_rate")),
]  # fmt: skip


def is_loopback(host: str) -> bool:
    """True for a URL whose host is ``localhost`` or a loopback address."""
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def chat_path(host: str) -> str:
    """The chat completions path under ``host``: an OpenAI base URL
    (``.../v1``) gets ``/chat/completions``; a bare server gets
    ``/v1/chat/completions``."""
    path = urlsplit(host).path.rstrip("/")
    return (path or "/v1") + "/chat/completions"
