"""Alertmanager's config (amtool when installed, and by reading it) and the
stand-in webhook receiver."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.infra.dashboards import REPO

CONFIG = REPO / "alertmanager" / "alertmanager.yml"
ALERTS = REPO / "prometheus" / "rules" / "alerts.yml"

amtool = pytest.mark.skipif(
    shutil.which("amtool") is None,
    reason="amtool not installed (Debian package prometheus-alertmanager)",
)


def _config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def _alert_names() -> set[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"]}


@amtool
def test_amtool_accepts_the_config() -> None:
    result = subprocess.run(
        ["amtool", "check-config", str(CONFIG)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@amtool
@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_every_severity_reaches_the_webhook(severity: str) -> None:
    result = subprocess.run(
        [
            "amtool", "config", "routes", "test", f"--config.file={CONFIG}",
            "--verify.receivers=webhook", f"severity={severity}",
            "alertname=ProberModelDown",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_routes_group_by_alert_provider_and_vantage() -> None:
    route = _config()["route"]
    assert route["group_by"] == ["alertname", "provider", "vantage"]
    receivers = {receiver["name"] for receiver in _config()["receivers"]}
    for child in [route, *route.get("routes", [])]:
        assert child["receiver"] in receivers
    webhook = _config()["receivers"][0]["webhook_configs"][0]
    assert webhook["url"].startswith("http") and webhook["send_resolved"]


def test_inhibit_rules_name_real_alerts() -> None:
    names = _alert_names()
    for rule in _config()["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            match = re.fullmatch(r'alertname(=~?)"(.+)"', matcher)
            if match:
                pattern = match.group(2)
                assert any(re.fullmatch(pattern, name) for name in names), matcher
                for part in pattern.split("|"):
                    assert part in names, matcher


def test_webhook_logger_logs_one_line_per_alert(unused_port: int) -> None:
    script = REPO / "alertmanager" / "webhook_logger.py"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--host",
            "127.0.0.1",
            "--port",
            str(unused_port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{unused_port}/alerts"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "webhook logger did not start"
                time.sleep(0.1)
        notification = {
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "ProberModelDown", "severity": "critical"},
                    "annotations": {"summary": "glm-5 is down"},
                }
            ],
        }
        request = urllib.request.Request(
            url,
            data=json.dumps(notification).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        _, log = process.communicate(timeout=10)
    assert "FIRING critical ProberModelDown: glm-5 is down" in log
