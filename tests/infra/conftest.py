"""Fixtures for the infrastructure tests."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    """A TCP port free on loopback now (for programs that cannot be given 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    return free_port()
