"""deploy/helm/temporal-values.yaml for the official chart temporalio/helm-charts
`charts/temporal` (issue 11): every key exists in the chart's values.yaml of the version it names
(a copy beside this file, with its source), or, where the chart passes a block through to the
server's configuration, is a key its own comments document; PostgreSQL for both stores with the
password from a Secret; no bundled database or monitoring; the versions our dev server runs.
The chart itself cannot be rendered here (no helm binary): deploy/README.md says so."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from dev.run import temporal_cli
from settings import REPO_ROOT

VALUES = REPO_ROOT / "deploy" / "helm" / "temporal-values.yaml"
CHART_VALUES = REPO_ROOT / "tests" / "deploy" / "temporal-chart-1.6.0-values.yaml"
README = (REPO_ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
# Top-level keys of the sub-charts the chart removed in 1.0.0-rc.2: it now fails on them.
REMOVED_SUBCHARTS = {"cassandra", "elasticsearch", "mysql", "postgresql", "prometheus", "grafana"}


def load(path: Any) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def documented_in_comments() -> set[str]:
    """Key names the chart's values.yaml documents in commented-out examples (`#   user: ...`)."""
    text = CHART_VALUES.read_text(encoding="utf-8")
    return set(re.findall(r"^\s*#\s*([A-Za-z][\w-]*):", text, re.MULTILINE))


def unknown_keys(ours: Any, chart: Any, path: str, documented: set[str]) -> list[str]:
    """Key paths of `ours` that `chart` (the chart's defaults at `path`) does not have."""
    if not isinstance(ours, dict):
        return []
    if chart is None:  # a block the chart passes through, documented by commented examples
        return [f"{path}.{k}" for k in ours if k not in documented] + [
            problem
            for key, value in ours.items()
            for problem in unknown_keys(value, None, f"{path}.{key}", documented)
        ]
    if not isinstance(chart, dict):
        return [f"{path} (the chart's value is {type(chart).__name__}, not a mapping)"]
    if not chart:  # `{}`: a free mapping the chart writes out as it is (toYaml)
        return []
    problems = []
    for key, value in ours.items():
        if key not in chart:
            problems.append(f"{path}.{key}")
        else:
            problems += unknown_keys(value, chart[key], f"{path}.{key}", documented)
    return problems


def keys(values: Any) -> set[str]:
    """Every key name anywhere in `values`."""
    if isinstance(values, dict):
        return set(values).union(*(keys(value) for value in values.values()))
    if isinstance(values, list):
        return set().union(*(keys(item) for item in values))
    return set()


def test_every_key_exists_in_the_charts_values() -> None:
    assert unknown_keys(load(VALUES), load(CHART_VALUES), "", documented_in_comments()) == []


def test_the_key_check_is_not_vacuous() -> None:
    sql = {"pluginname": "postgres12"}  # pluginName misspelt
    persistence = {"datastores": {"default": {"sql": sql}}}
    ours: dict[str, Any] = {"server": {"config": {"persistence": persistence}, "replicas": 2}}
    chart = load(CHART_VALUES)
    assert unknown_keys(ours, chart, "", documented_in_comments()) == [
        ".server.config.persistence.datastores.default.sql.pluginname",
        ".server.replicas",
    ]


def test_both_stores_on_postgresql_with_the_password_from_a_secret() -> None:
    values = load(VALUES)
    persistence = values["server"]["config"]["persistence"]
    stores = persistence["datastores"]
    assert set(stores) == {persistence["defaultStore"], persistence["visibilityStore"]}
    for store in stores.values():
        sql = store["sql"]
        assert sql["pluginName"] == "postgres12"
        assert "password" not in sql and sql["existingSecret"] and sql["secretKey"]
    assert "password" not in keys(values)
    assert not REMOVED_SUBCHARTS & set(values)


def test_shards_are_the_capacity_computations_and_a_power_of_two() -> None:
    shards = load(VALUES)["server"]["config"]["persistence"]["numHistoryShards"]
    assert shards & (shards - 1) == 0
    assert f"numHistoryShards: {shards}" in README


def test_web_ui_signs_in_with_oidc_and_its_secret_comes_from_a_secret() -> None:
    web = load(VALUES)["web"]
    env = {variable["name"]: variable["value"] for variable in web["additionalEnv"]}
    assert env["TEMPORAL_AUTH_ENABLED"] == "true" and env["TEMPORAL_AUTH_TYPE"] == "oidc"
    required = {"PROVIDER_URL", "ISSUER_URL", "CLIENT_ID", "CALLBACK_URL", "SCOPES"}
    assert {f"TEMPORAL_AUTH_{name}" for name in required} <= set(env)
    assert "TEMPORAL_AUTH_CLIENT_SECRET" not in env
    assert env["TEMPORAL_AUTH_CALLBACK_URL"].endswith("/auth/sso/callback")


def test_every_secret_the_values_name_is_documented() -> None:
    text = VALUES.read_text(encoding="utf-8")
    names = set(re.findall(r"(?:existingSecret|additionalEnvSecretName|secretName): (\S+)", text))
    assert names
    for name in names:
        assert f"`{name}`" in README, name


def test_versions_are_those_the_dev_server_runs() -> None:
    """Production runs the Server and UI the tests and replay histories run against."""
    version = subprocess.run(
        [temporal_cli(), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    server, ui = re.search(r"Server (\S+), UI (\S+)\)", version).groups()  # type: ignore[union-attr]
    values = load(VALUES)
    assert values["server"]["image"]["tag"] == server
    assert values["admintools"]["image"]["tag"] == server
    assert values["web"]["image"]["tag"] == ui
