"""The alert rules of deploy/prometheus/alerts.yml (a worker gone, workflow tasks failing, the
settle failing, notices undelivered for an hour, the sweep not run) checked and unit-tested by
promtool against alerts.test.yml, and the example scrape configuration checked."""

from __future__ import annotations

import subprocess

from tests.monitoring.tools import DEPLOY, tool


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("promtool")), *args], cwd=DEPLOY, capture_output=True, text=True, timeout=120
    )


def test_alert_rules_are_valid_for_promtool() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout


def test_alert_rules_fire_as_their_unit_tests_say() -> None:
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_unit_test() -> None:
    rules = (DEPLOY / "alerts.yml").read_text(encoding="utf-8")
    tests = (DEPLOY / "alerts.test.yml").read_text(encoding="utf-8")
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert alerts, "no alert in alerts.yml"
    untested = [a for a in alerts if f"alertname: {a}\n" not in tests]
    assert not untested, f"alerts without a test in alerts.test.yml: {untested}"


def test_example_scrape_configuration_is_valid() -> None:
    checked = promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
