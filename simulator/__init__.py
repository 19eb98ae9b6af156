"""An OpenAI-compatible provider that behaves like prober's ten catalog models.

Latency that grows with load, rate limits, injectable faults, reasoning text
and context limits; see ``simulator/README.md``.
"""

from simulator.banks import BankError
from simulator.profiles import ProfileError, Profiles, load_profiles
from simulator.server import Serving, create_app, run_server, start

__all__ = [
    "BankError",
    "ProfileError",
    "Profiles",
    "Serving",
    "create_app",
    "load_profiles",
    "run_server",
    "start",
]
