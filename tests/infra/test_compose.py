"""docker-compose.yml and the Dockerfile: the file validates, every file it
mounts exists, and the stack has what it promises. No Docker engine runs
here, so nothing is started."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

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
    worker = services["locust-worker"]["command"]
    assert worker[worker.index("--master-host") + 1] == "locust-master"


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
