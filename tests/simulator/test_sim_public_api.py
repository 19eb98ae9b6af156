"""The simulator's public surface, pinned."""

import simulator


def test_public_names() -> None:
    assert sorted(simulator.__all__) == [
        "BankError",
        "ProfileError",
        "Profiles",
        "Serving",
        "create_app",
        "load_profiles",
        "run_server",
        "start",
    ]
    for name in simulator.__all__:
        assert getattr(simulator, name)
