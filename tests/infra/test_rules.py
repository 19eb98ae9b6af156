"""Prometheus rules and scrape config: promtool checks them, runs the rule
unit tests, and every alert is complete and tested both ways."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.infra.dashboards import REPO

PROMETHEUS = REPO / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*_test.yml"))
SEVERITIES = {"critical", "warning", "info"}

promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not installed (Debian package prometheus; CI installs it)",
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=240
    )


def _alerts() -> list[dict]:
    document = yaml.safe_load((PROMETHEUS / "rules" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@promtool
def test_promtool_checks_rules_and_config() -> None:
    result = _promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    result = _promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@promtool
def test_promtool_rule_unit_tests_pass() -> None:
    result = _promtool("test", "rules", *map(str, TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_summary_and_description() -> None:
    alerts = _alerts()
    assert len({a["alert"] for a in alerts}) >= 13
    for alert in alerts:
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]
        annotations = alert["annotations"]
        assert set(annotations) == {"summary", "description"}, alert["alert"]
        # A yes/no condition (a target down, a flag set) has no value worth
        # quoting; every threshold alert quotes the value that crossed it.
        if not re.search(r"== [01]\b|absent\(", alert["expr"]):
            assert "$value" in annotations["description"], alert["alert"]
        if "model" in alert["expr"] or "by (model" in alert["expr"]:
            assert "$labels.model" in annotations["description"], alert["alert"]


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"


def test_unit_tests_load_the_real_rule_files() -> None:
    for path in TEST_FILES:
        files = yaml.safe_load(path.read_text())["rule_files"]
        resolved = {(path.parent / name).resolve() for name in files}
        assert resolved == {p.resolve() for p in RULE_FILES}, path.name
