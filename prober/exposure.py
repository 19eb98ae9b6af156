"""Who may reach the service: the listen address and the API token.

`prober run` serves on loopback unless told otherwise: a listen address that
is not loopback needs ``--allow-remote`` (or ``allow_remote = true`` under
``[prober]``), so a typo or a copied config cannot publish the results.

With ``PROBER_API_TOKEN`` set in the environment (never in a file), the JSON
API and the status page answer only requests carrying it as a bearer token
(RFC 6750); anything else gets 401 with a ``WWW-Authenticate`` challenge.
``/metrics``, ``/healthz`` and ``/readyz`` stay open: Prometheus and
orchestrators probe them without credentials, and they carry closed label
sets and counts, never answers, error messages or keys.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from prober.exceptions import SetupError

__all__ = [
    "OPEN_PATHS",
    "TOKEN_ENV",
    "api_token_from_env",
    "check_listen",
    "is_loopback_host",
    "require_token",
    "token_matches",
]

log = logging.getLogger(__name__)

TOKEN_ENV = "PROBER_API_TOKEN"
OPEN_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
# RFC 6750 section 2.1: the characters a bearer token may hold.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_REALM = 'Bearer realm="prober"'


def is_loopback_host(host: str) -> bool:
    """Whether every address ``host`` stands for is on loopback; a name that
    does not resolve counts as not loopback."""
    literal = _address(host)
    if literal is not None:
        return _loopback(literal)
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = [_address(str(info[4][0])) for info in infos]
    return bool(addresses) and all(a is not None and _loopback(a) for a in addresses)


def check_listen(host: str, port: int, allow_remote: bool) -> bool:
    """Whether ``host`` is loopback; raises for an address off loopback
    unless remote access is allowed."""
    if is_loopback_host(host):
        return True
    if allow_remote:
        return False
    shown = f"[{host}]" if ":" in host else host
    raise SetupError(
        f"refusing to listen on {shown}:{port}, which is not a loopback address; "
        "pass --allow-remote (or set allow_remote = true under [prober]) to "
        "serve other hosts"
    )


def api_token_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The API token from ``PROBER_API_TOKEN``, or None when unset."""
    token = environ.get(TOKEN_ENV)
    if token is None:
        return None
    if not _B64TOKEN.fullmatch(token):
        raise SetupError(
            f"{TOKEN_ENV} must be a non-empty bearer token: letters, digits "
            "and -._~+/ (RFC 6750)"
        )
    return token


def token_matches(given: str, expected: str) -> bool:
    """Compare in constant time, so response timing does not reveal how much
    of a guessed token was right."""
    return hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8")
    )


def require_token(token: str) -> Middleware:
    """Middleware answering 401 to requests outside :data:`OPEN_PATHS` that
    lack ``Authorization: Bearer <token>``."""

    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        given = _bearer(request.headers.get(hdrs.AUTHORIZATION, ""))
        if given is None:
            return _unauthorized("this page needs a bearer token", None)
        if not token_matches(given, token):
            log.debug("refused a wrong API token from %s", request.remote)
            return _unauthorized("the bearer token is wrong", "invalid_token")
        return await handler(request)

    return bearer


def _bearer(header: str) -> str | None:
    scheme, _, credentials = header.strip().partition(" ")
    # RFC 7235 section 2.1: the scheme is case-insensitive.
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _unauthorized(reason: str, error: str | None) -> web.Response:
    challenge = _REALM if error is None else f'{_REALM}, error="{error}"'
    return web.json_response(
        {"error": "unauthorized", "reason": reason},
        status=401,
        headers={hdrs.WWW_AUTHENTICATE: challenge},
    )


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
