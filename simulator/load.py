"""Load: capacity, the queue, and the background load of other tenants.

Each model serves ``capacity`` streams at full speed. Past that it keeps
admitting streams, all of them slower, until the load (streams decoding plus
background, over capacity) reaches ``max_load``; later requests wait in a FIFO
queue of ``queue`` places, and past that are turned away. A stream's speed is
divided by the load factor ``max(1, load)`` at every chunk, so peak-hour
slowdowns come out of the number of streams, not out of a multiplier.

Background load stands for the other tenants of a shared provider: a number
of streams, set from a time-of-day curve, that slow everyone down and take
admission room but never finish.
"""

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable

from simulator.profiles import DayCurve, ModelProfile


class QueueFull(Exception):
    """The model's queue has no free place."""


class ModelLoad:
    """One model's streams in flight, its queue, and its background load."""

    def __init__(self, capacity: int, max_load: float, queue: int) -> None:
        self.capacity = capacity
        self.active = 0
        self.background = 0.0
        self._max_streams = capacity * max_load
        self._queue_places = queue
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def factor(self) -> float:
        """How many times slower than at full speed a stream runs now."""
        load = (self.active + self.background) / self.capacity
        return load if load > 1.0 else 1.0

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def try_admit(self) -> bool:
        """Take a stream slot now if one is free and nobody waits before us."""
        if self._waiters or not self._has_room():
            return False
        self.active += 1
        return True

    def enqueue(self) -> asyncio.Future[None]:
        """Take a place in the queue; the future resolves on admission."""
        if len(self._waiters) >= self._queue_places:
            raise QueueFull
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def wait(
        self,
        waiter: asyncio.Future[None],
        tick_s: float = 0.0,
        on_tick: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Wait for admission, calling ``on_tick`` every ``tick_s`` meanwhile.

        Whatever interrupts the wait (the client gone while a keep-alive is
        written, cancellation) gives the place or the slot back.
        """
        try:
            while not waiter.done():
                if on_tick is None or tick_s <= 0:
                    await waiter
                    break
                await asyncio.wait((waiter,), timeout=tick_s)
                if not waiter.done():
                    await on_tick()
        except BaseException:
            self._abandon(waiter)
            raise

    def release(self) -> None:
        """Give a stream slot back and admit whoever waits next."""
        self.active -= 1
        self.admit_waiting()

    def set_background(self, streams: float) -> None:
        self.background = streams
        self.admit_waiting()

    def admit_waiting(self) -> None:
        while self._waiters and self._has_room():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)

    def _abandon(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            self.release()
            return
        waiter.cancel()
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def _has_room(self) -> bool:
        # One real stream always gets in, so a lone probe is slowed by a busy
        # hour but never starved by background load alone.
        return self.active == 0 or self.active + self.background < self._max_streams


class DayClock:
    """Maps the simulator's clock to an hour of the simulated day.

    The day starts when the curve is set (``origin_s`` on the simulator's
    clock), at the curve's ``start_hour`` or else at the current UTC hour.
    """

    def __init__(self, curve: DayCurve, origin_s: float, wall_hour: float) -> None:
        self.curve = curve
        self._origin_s = origin_s
        self._start_hour = curve.start_hour if curve.start_hour >= 0 else wall_hour

    def hour(self, clock_s: float) -> float:
        day_fraction = (clock_s - self._origin_s) / self.curve.day_length_s
        return (self._start_hour + 24.0 * day_fraction) % 24.0

    def level(self, clock_s: float) -> float:
        """0 at the quietest hour, 1 at the peak hour."""
        angle = 2.0 * math.pi * (self.hour(clock_s) - self.curve.peak_hour) / 24.0
        return (1.0 + math.cos(angle)) / 2.0


def background_streams(profile: ModelProfile, level: float) -> float:
    """The background streams a model carries at a day-curve level."""
    share = profile.background
    load = share.offpeak + (share.peak - share.offpeak) * level
    return load * profile.capacity
