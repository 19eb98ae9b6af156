"""The running simulator: its models, clock, limits and the answerer.

One :class:`Simulator` lives in the aiohttp application. It holds, per model,
the profile, the load, the faults as they stand now and a seeded RNG from
which every request draws its own; and, shared, the rate limiter, the day
clock and the answerer. A background task keeps background load on the day
curve and forgets idle rate-limit buckets.
"""

import asyncio
import datetime
import hashlib
import logging
import random
import time
from pathlib import Path

from aiohttp import web

from simulator.answers import Answerer
from simulator.banks import BUILTIN_ANSWERS, load_banks
from simulator.faults import FaultBoard
from simulator.load import DayClock, ModelLoad, background_streams
from simulator.profiles import DayCurve, ModelProfile, Profiles
from simulator.ratelimit import RateLimiter
from simulator.tasks import TaskPrompts, prober_tasks_dir

logger = logging.getLogger(__name__)

TICK_S = 1.0


class ModelRuntime:
    """One simulated model: its profile and its state now."""

    def __init__(self, name: str, profile: ModelProfile, seed: int) -> None:
        self.name = name
        self.profile = profile
        self.load = ModelLoad(profile.capacity, profile.max_load, profile.queue)
        self.faults = FaultBoard(profile.faults)
        digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
        self._rng = random.Random(int.from_bytes(digest[:8], "big"))
        self.fingerprint = "fp_" + hashlib.sha256(name.encode()).hexdigest()[:10]

    def request_rng(self) -> random.Random:
        """A fresh RNG for one request, so that its draws do not depend on
        how its chunks interleave with other streams'."""
        return random.Random(self._rng.getrandbits(64))


class Simulator:
    """Everything the request handlers share."""

    def __init__(
        self,
        profiles: Profiles,
        seed: int,
        tasks_dir: Path | None = None,
        answers_dir: Path | None = BUILTIN_ANSWERS,
    ) -> None:
        self.profiles = profiles
        self.seed = seed
        self.models = {
            name: ModelRuntime(name, profile, seed)
            for name, profile in profiles.models.items()
        }
        self.limiter = RateLimiter()
        self.answerer = Answerer(
            TaskPrompts.from_dir(tasks_dir or prober_tasks_dir()),
            load_banks(answers_dir),
            profiles.default_max_tokens,
            seed,
        )
        self._started = time.monotonic()
        self.created = int(time.time())
        self.day = self._day_clock(profiles.background)
        self.update_background()

    def clock(self) -> float:
        """Seconds since the simulator started; fault schedules run on it."""
        return time.monotonic() - self._started

    def set_day_curve(self, curve: DayCurve) -> None:
        self.day = self._day_clock(curve)
        self.update_background()

    def update_background(self) -> None:
        curve = self.day.curve
        level = self.day.level(self.clock()) if curve.enabled else None
        for model in self.models.values():
            streams = 0.0 if level is None else background_streams(model.profile, level)
            model.load.set_background(streams)

    def reset_faults(self) -> None:
        for model in self.models.values():
            model.faults.replace(model.profile.faults)

    async def tick_forever(self) -> None:
        """Follow the day curve and prune rate-limit buckets, once a second."""
        while True:
            self.update_background()
            self.limiter.prune(time.monotonic())
            await asyncio.sleep(TICK_S)

    def _day_clock(self, curve: DayCurve) -> DayClock:
        now = datetime.datetime.now(datetime.UTC)
        return DayClock(curve, self.clock(), now.hour + now.minute / 60.0)


SIMULATOR = web.AppKey("simulator", Simulator)
