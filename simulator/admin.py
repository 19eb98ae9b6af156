"""The admin endpoint: switch faults and background load at run time.

Mounted at ``/admin`` and answered only for requests whose peer address is a
loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback); everyone else
gets 403. There is no key: whoever can reach loopback owns the simulator.
Forwarding headers are ignored on purpose, since anyone can set them.

    GET    /admin/state                  load, queue and faults of every model
    GET    /admin/faults                 the faults of every model
    PUT    /admin/faults/{model}/{kind}  set one fault (JSON body: its settings)
    DELETE /admin/faults/{model}/{kind}  clear one fault
    POST   /admin/faults/reset           back to the profile file's faults
    PUT    /admin/background             change the day curve (JSON body)

``{model}`` and ``{kind}`` may be ``*`` for all. Settings are those of the
profile file, checked the same way; a bad one is a 400 naming the key.
"""

import dataclasses
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.faults import FaultKind, parse_spec
from simulator.profiles import DayCurve
from simulator.runtime import SIMULATOR, ModelRuntime, Simulator
from simulator.schema import SchemaError, build, merge

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is on this host's loopback."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_loopback(request.remote):
        logger.warning("refused admin request from %s", request.remote)
        return _error(403, "the admin endpoint answers on loopback only")
    return await handler(request)


def admin_app() -> web.Application:
    """The admin sub-application, to mount at ``/admin``."""
    app = web.Application(middlewares=[loopback_only])
    app.router.add_get("/state", state)
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults/reset", reset_faults)
    app.router.add_put("/faults/{model}/{kind}", set_fault)
    app.router.add_delete("/faults/{model}/{kind}", clear_fault)
    app.router.add_put("/background", set_background)
    return app


async def state(request: web.Request) -> web.Response:
    sim = request.config_dict[SIMULATOR]
    clock_s = sim.clock()
    curve = sim.day.curve
    return web.json_response(
        {
            "seed": sim.seed,
            "clock_s": round(clock_s, 3),
            "background": {
                **dataclasses.asdict(curve),
                "hour": round(sim.day.hour(clock_s), 3),
            },
            "models": {
                name: _model_state(model, clock_s) for name, model in sim.models.items()
            },
        }
    )


async def list_faults(request: web.Request) -> web.Response:
    sim = request.config_dict[SIMULATOR]
    clock_s = sim.clock()
    return web.json_response(
        {name: model.faults.describe(clock_s) for name, model in sim.models.items()}
    )


async def set_fault(request: web.Request) -> web.Response:
    sim = request.config_dict[SIMULATOR]
    try:
        models = _models(sim, request.match_info["model"])
        kinds = _kinds(request.match_info["kind"])
        body = await _json(request)
        specs = {kind: parse_spec(kind, body) for kind in kinds}
    except _Refused as exc:
        return exc.response
    except SchemaError as exc:
        return _error(400, str(exc))
    for model in models:
        for kind, spec in specs.items():
            model.faults.set(kind, spec)
    logger.info(
        "faults %s set on %s", ", ".join(kinds), ", ".join(m.name for m in models)
    )
    return await list_faults(request)


async def clear_fault(request: web.Request) -> web.Response:
    sim = request.config_dict[SIMULATOR]
    try:
        models = _models(sim, request.match_info["model"])
        kinds = _kinds(request.match_info["kind"])
    except _Refused as exc:
        return exc.response
    for model in models:
        for kind in kinds:
            model.faults.clear(kind)
    logger.info(
        "faults %s cleared on %s", ", ".join(kinds), ", ".join(m.name for m in models)
    )
    return await list_faults(request)


async def reset_faults(request: web.Request) -> web.Response:
    request.config_dict[SIMULATOR].reset_faults()
    logger.info("faults reset to the profile file's")
    return await list_faults(request)


async def set_background(request: web.Request) -> web.Response:
    sim = request.config_dict[SIMULATOR]
    try:
        body = await _json(request)
        curve = build(DayCurve, merge(dataclasses.asdict(sim.day.curve), body))
    except _Refused as exc:
        return exc.response
    except SchemaError as exc:
        return _error(400, str(exc))
    sim.set_day_curve(curve)
    logger.info("background load curve set: %s", curve)
    return await state(request)


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


def _models(sim: Simulator, name: str) -> list[ModelRuntime]:
    if name == "*":
        return list(sim.models.values())
    if name not in sim.models:
        raise _Refused(_error(404, f"unknown model {name!r}"))
    return [sim.models[name]]


def _kinds(name: str) -> list[FaultKind]:
    if name == "*":
        return list(FaultKind)
    try:
        return [FaultKind(name)]
    except ValueError:
        known = ", ".join(kind.value for kind in FaultKind)
        raise _Refused(
            _error(404, f"unknown fault {name!r} (one of {known})")
        ) from None


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise _Refused(_error(400, f"body is not valid JSON: {exc}")) from exc
    if not isinstance(body, dict):
        raise _Refused(_error(400, "body must be a JSON object"))
    return body


def _model_state(model: ModelRuntime, clock_s: float) -> dict[str, Any]:
    load = model.load
    return {
        "context_window": model.profile.context_window,
        "effective_context": model.profile.effective_context,
        "active": load.active,
        "queued": load.queued,
        "background_streams": round(load.background, 2),
        "load_factor": round(load.factor, 3),
        "faults": model.faults.describe(clock_s),
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)
