"""docker-compose.yml and the Dockerfile: the file validates, every file it
mounts exists, and the stack has what it promises. No Docker engine runs
here, so nothing is started."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from loadtests.settings import add_arguments
from tests.infra.dashboards import REPO

COMPOSE = REPO / "docker-compose.yml"
SERVICES = {
    "simulator", "prober", "postgres", "prometheus", "alertmanager", "webhook",
    "grafana", "locust-master", "locust-worker",
}  # fmt: skip


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose not installed (Debian package docker-compose)",
)
@pytest.mark.parametrize("profile", [None, "loadtest"])
def test_docker_compose_config_validates(profile: str | None) -> None:
    command = ["docker-compose", "--file", str(COMPOSE)]
    if profile:
        command += ["--profile", profile]
    result = subprocess.run(
        [*command, "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    # Compose 1.29 lists profiled services whichever profile is active.
    assert set(result.stdout.split()) == SERVICES


def test_every_bind_mounted_file_exists() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"


def test_named_volumes_are_declared_and_used() -> None:
    compose = _compose()
    declared = set(compose["volumes"])
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == declared
    for service in ("postgres", "prometheus", "alertmanager", "grafana", "prober"):
        volumes = compose["services"][service]["volumes"]
        assert any(not v.startswith((".", "/")) for v in volumes), service


def test_long_running_services_have_health_checks() -> None:
    for name, service in _compose()["services"].items():
        if name == "locust-worker":  # serves no port to check
            continue
        assert service.get("healthcheck", {}).get("test"), name


def test_ports_are_published_on_loopback_and_documented() -> None:
    header = COMPOSE.read_text().split("services:", 1)[0]
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            host, published, _ = port.split(":")
            assert host == "127.0.0.1", name
            assert re.search(rf"\b{published}\b", header), f"{name}: {port}"


def test_grafana_is_provisioned_with_anonymous_read_access() -> None:
    grafana = _compose()["services"]["grafana"]
    environment = grafana["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]


def test_locust_runs_only_under_its_profile() -> None:
    services = _compose()["services"]
    for name in ("locust-master", "locust-worker"):
        assert services[name]["profiles"] == ["loadtest"]
    assert "--master" in services["locust-master"]["command"]
    assert "--worker" in services["locust-worker"]["command"]


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_locust_reaches_the_simulator_on_loopback() -> None:
    # loadtests treats a host that is not loopback as a paid provider: the
    # Locust services share the simulator's network to reach it on loopback.
    services = _compose()["services"]
    master = services["locust-master"]["command"]
    for name in ("locust-master", "locust-worker"):
        assert services[name]["network_mode"] == "service:simulator", name
        assert "ports" not in services[name], name
    assert _option(services["locust-worker"]["command"], "--master-host") == (
        "127.0.0.1"
    )
    simulator_port = _option(services["simulator"]["command"], "--port")
    assert _option(master, "--host") == f"http://127.0.0.1:{simulator_port}/v1"
    assert "127.0.0.1:8089:8089" in services["simulator"]["ports"]


def test_prometheus_scrapes_the_locust_metrics_port() -> None:
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "loadtest"]
    master = _compose()["services"]["locust-master"]["command"]
    host, port = _option(master, "--metrics-listen").rsplit(":", 1)
    assert host == "0.0.0.0"  # reachable from the Prometheus container
    assert job["static_configs"][0]["targets"] == [f"simulator:{port}"]


class _Flags:
    """Stands in for Locust's parser to collect the load test's options."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def add_argument(self, name: str, **_spec: object) -> None:
        self.names.add(name)


def test_locust_commands_use_only_known_options() -> None:
    # Locust prints its --help before it loads the locustfile, so the load
    # test's own options come from loadtests.settings.
    locust_help = subprocess.run(
        [sys.executable, "-m", "locust", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    flags = _Flags()
    add_arguments(flags)
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", locust_help)) | flags.names
    assert {"--master", "--metrics-listen", "--prober-config"} <= known
    for name in ("locust-master", "locust-worker"):
        command = _compose()["services"][name]["command"]
        assert command[:3] == ["locust", "-f", "loadtests/locustfile.py"], name
        assert (REPO / command[2]).exists()
        for option in (arg for arg in command if arg.startswith("--")):
            assert option in known, f"{name}: {option}"


def test_every_locust_process_mounts_the_prober_config() -> None:
    # Options given to the master reach the workers, which read the file too.
    services = _compose()["services"]
    config = _option(services["locust-master"]["command"], "--prober-config")
    for name in ("locust-master", "locust-worker"):
        mounted = {volume.split(":")[1] for volume in services[name]["volumes"]}
        assert config in mounted, name


def test_prometheus_scrapes_the_compose_services() -> None:
    config = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    services = _compose()["services"]
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host = target.split(":")[0]
                assert host == "localhost" or host in services, target
    for manager in config["alerting"]["alertmanagers"]:
        for target in manager["static_configs"][0]["targets"]:
            assert target.split(":")[0] in services


def test_dockerfile_copies_what_exists_and_runs_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert source == "." or (REPO / source).exists(), line
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
