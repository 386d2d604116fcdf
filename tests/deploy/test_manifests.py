"""The deploy files validate offline (issue 11, "Deploy files that validate"): yamllint on every
YAML under deploy/; the kustomize base and the production overlay rendered (tests/deploy/
kustomize.py, no kustomize binary here) and every resource validated against Kubernetes' own
schemas (`kubernetes-validate`, which ships them; strict: an unknown field is an error); then
what no schema sees: references between the resources, to the secrets the province creates,
to the API's routes, to the settings the processes read, and to the Containerfile."""

from __future__ import annotations

import stat
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from api.app import API_SHUTDOWN_S, create_app
from api.auth import Authenticator, AuthSettings
from settings import REPO_ROOT, Settings
from sources.catalogue import DEFAULT_PATH as CATALOGUE_PATH
from tests.deploy.kustomize import Resource, Unsupported, build
from worker import SHUTDOWN_DEADLINE_S

DEPLOY = REPO_ROOT / "deploy"
BASE = DEPLOY / "kubernetes" / "base"
PRODUCTION = DEPLOY / "kubernetes" / "overlays" / "production"
CONTAINERFILE = DEPLOY / "Containerfile"
README = (DEPLOY / "README.md").read_text(encoding="utf-8")
# The oldest Kubernetes the province may run, and a recent one.
KUBERNETES_VERSIONS = ("1.30", "1.33")
APP_ROOT = Path("/app")  # WORKDIR of the image, where the package is installed in place
SECRETS = "motcua-secrets"  # created by the province (deploy/README.md, "Secrets"), never here
# Settings read by processes of other branches of issue 11, not yet in settings.py here.
NOT_MOTCUA_ENV = {"FORWARDED_ALLOW_IPS"}  # uvicorn's own (deploy/entrypoint.sh)
ENTRYPOINT_COMMANDS = {"worker", "api", "migrate"}


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yamllint_passes_on_every_deploy_yaml(path: Path) -> None:
    config = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    problems = list(linter.run(path.read_text(encoding="utf-8"), config, str(path)))
    assert not problems, "\n".join(f"{path}:{p.line}:{p.column} {p.desc}" for p in problems)


@pytest.fixture(scope="module", params=[BASE, PRODUCTION], ids=["base", "production"])
def rendered(request: pytest.FixtureRequest) -> list[Resource]:
    return build(request.param)


@pytest.fixture(scope="module")
def production() -> list[Resource]:
    return build(PRODUCTION)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_resource_validates_against_the_kubernetes_schema(
    rendered: list[Resource], version: str
) -> None:
    for resource in rendered:
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_schema_check_refuses_a_misspelt_field(production: list[Resource]) -> None:
    """The validation above is not vacuous: a probe with a typo in its name is refused."""
    api = one(production, "Deployment", "motcua-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, KUBERNETES_VERSIONS[0], strict=True)


def test_the_renderer_refuses_what_it_would_read_differently(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(Unsupported):
        build(tmp_path)


def test_production_overlay_sets_namespace_image_replicas_and_resources(
    production: list[Resource],
) -> None:
    base = {(r["kind"], r["metadata"]["name"]): r for r in build(BASE)}
    for resource in production:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == "motcua", resource["metadata"]
    for pod in pod_specs(production):
        for container in pod["containers"]:
            name, _, tag = container["image"].rpartition(":")
            assert name.endswith("/motcua") and tag and tag != "latest", container["image"]
    for name in ("motcua-worker", "motcua-api"):
        deployment = one(production, "Deployment", name)
        assert deployment["spec"]["replicas"] > base["Deployment", name]["spec"]["replicas"]
        requests = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        base_container = base["Deployment", name]["spec"]["template"]["spec"]["containers"][0]
        assert requests != base_container["resources"]


def test_config_and_secret_references_resolve(rendered: list[Resource]) -> None:
    """Every ConfigMap a pod reads is rendered; every Secret is the province's `motcua-secrets`
    (or an optional key of it), and each key it is asked for is listed in deploy/README.md."""
    config_maps = {r["metadata"]["name"]: r for r in rendered if r["kind"] == "ConfigMap"}
    for pod in pod_specs(rendered):
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, "secrets by key, so each is documented"
                assert source["configMapRef"]["name"] in config_maps
            for variable in container.get("env", []):
                reference = variable["valueFrom"]["secretKeyRef"]
                assert reference["name"] == SECRETS
                assert f"`{reference['key']}`" in README, f"{reference['key']} undocumented"
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
            assert "secret" not in volume


def test_environment_names_and_values_are_settings_the_processes_read(
    rendered: list[Resource],
) -> None:
    """A misspelt variable would be ignored silently (extra="ignore"): each is a field of the
    settings, and the ConfigMap's values parse as those fields."""
    known = {f"MOTCUA_{name.upper()}" for name in AuthSettings.model_fields}
    config = one(rendered, "ConfigMap", "motcua-config")["data"]
    names = set(config)
    for pod in pod_specs(rendered):
        for container in pod["containers"]:
            names |= {variable["name"] for variable in container.get("env", [])}
    unknown = names - known - NOT_MOTCUA_ENV
    assert not unknown, f"not read by any process: {sorted(unknown)}"
    values = {
        name.removeprefix("MOTCUA_").lower(): value
        for name, value in config.items()
        if name in known
    }
    AuthSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_probes_are_routes_of_the_api_on_its_container_port(rendered: list[Resource]) -> None:
    app = create_app(Settings(), Authenticator.with_secret("x" * 32))
    routes = set(app.openapi()["paths"])
    api = one(rendered, "Deployment", "motcua-api")["spec"]["template"]["spec"]
    container = api["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probes = {kind: container[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    for probe in probes.values():
        assert probe["httpGet"]["path"] in routes
        assert probe["httpGet"]["port"] in ports
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    config = one(rendered, "ConfigMap", "motcua-config")["data"]
    assert ports["http"] == int(config["MOTCUA_API_PORT"])


def test_services_and_disruption_budgets_select_pods_and_their_ports(
    rendered: list[Resource],
) -> None:
    deployments = [r for r in rendered if r["kind"] == "Deployment"]

    def selected(selector: dict[str, str]) -> list[Resource]:
        return [
            d
            for d in deployments
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]

    for service in (r for r in rendered if r["kind"] == "Service"):
        [deployment] = selected(service["spec"]["selector"])
        names = container_ports(deployment["spec"]["template"]["spec"])
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names
    budgets = [r for r in rendered if r["kind"] == "PodDisruptionBudget"]
    assert {b["metadata"]["name"] for b in budgets} == {"motcua-worker", "motcua-api"}
    for budget in budgets:
        [deployment] = selected(budget["spec"]["selector"]["matchLabels"])
        # A budget that every pod must honour would block a node's drain for ever.
        assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_metrics_annotations_and_network_policy_name_real_ports(rendered: list[Resource]) -> None:
    pods = [r["spec"]["template"] for r in rendered if r["kind"] == "Deployment"]
    for pod in pods:
        annotations = pod["metadata"].get("annotations", {})
        ports = container_ports(pod["spec"]).values()
        assert int(annotations["prometheus.io/port"]) in ports
    worker = one(rendered, "Deployment", "motcua-worker")["spec"]["template"]["spec"]
    address = one(rendered, "ConfigMap", "motcua-config")["data"]["MOTCUA_WORKER_METRICS_ADDRESS"]
    assert int(address.rpartition(":")[2]) == container_ports(worker)["metrics"]
    all_port_names = {name for pod in pods for name in container_ports(pod["spec"])}
    for policy in (r for r in rendered if r["kind"] == "NetworkPolicy"):
        for rule in policy["spec"]["ingress"]:
            assert {port["port"] for port in rule["ports"]} <= all_port_names


def test_stopping_fits_in_the_grace_period(rendered: list[Resource]) -> None:
    """The kubelet's SIGKILL comes after the processes' own bounds (README, "Stopping")."""
    worker = one(rendered, "Deployment", "motcua-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > SHUTDOWN_DEADLINE_S
    api = one(rendered, "Deployment", "motcua-api")["spec"]["template"]["spec"]
    pre_stop = api["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert api["terminationGracePeriodSeconds"] > int(pre_stop[1]) + API_SHUTDOWN_S


def test_pods_run_the_entrypoint_commands_as_the_image_user(rendered: list[Resource]) -> None:
    image_user = int(final_stage_instructions("USER")[-1].split(":")[0])
    script = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    for pod in pod_specs(rendered):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == image_user
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            [command] = container["args"]
            assert command in ENTRYPOINT_COMMANDS and f"    {command})" in script
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["resources"]["requests"]["memory"]


def test_data_config_map_is_mounted_where_the_service_reads_its_files(
    rendered: list[Resource],
) -> None:
    """The catalogue (with the files it includes) and the calendar overrides, unchanged, at the
    paths settings.py and sources/catalogue.py give under the image's /app."""
    data = one(rendered, "ConfigMap", "motcua-data")["data"]
    catalogue = tomllib.loads(data[CATALOGUE_PATH.name])
    for name in [CATALOGUE_PATH.name, *catalogue.get("include", [])]:
        assert data[name] == (CATALOGUE_PATH.parent / name).read_text(encoding="utf-8")
    overrides = Settings().calendar_overrides
    assert overrides.parent == CATALOGUE_PATH.parent and overrides.name in data
    assert sum(len(text.encode()) for text in data.values()) < 1024 * 1024  # a ConfigMap's limit
    mount_path = str(APP_ROOT / CATALOGUE_PATH.parent.relative_to(REPO_ROOT))
    for pod in pod_specs(rendered):
        [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "data"]
        assert mount["mountPath"] == mount_path
    assert final_stage_instructions("WORKDIR")[-1] == str(APP_ROOT)


def test_containerfile_pins_its_bases_runs_as_a_user_and_enters_by_the_script() -> None:
    for base in instructions("FROM"):
        image = base.split()[0]
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
    [user] = final_stage_instructions("USER")
    assert user.split(":")[0] not in ("0", "root")
    [entrypoint] = final_stage_instructions("ENTRYPOINT")
    script = APP_ROOT / "deploy" / "entrypoint.sh"
    assert entrypoint == f'["{script}"]'
    mode = git_mode(script.relative_to(APP_ROOT))
    assert mode == "100755", "entrypoint.sh must be executable in git"
    assert (DEPLOY / "entrypoint.sh").stat().st_mode & stat.S_IXUSR
    # No HEALTHCHECK in the image: the API's probes are in its Deployment (checked above).
    assert not instructions("HEALTHCHECK")


def test_ignore_file_keeps_local_state_out_and_every_package_in() -> None:
    ignored = set((REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert (REPO_ROOT / ".containerignore").resolve() == (REPO_ROOT / ".dockerignore")
    assert {".git", ".venv", "node_modules", "var", "tests"} <= ignored
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    needed = {p.split(".")[0] for p in setuptools["packages"]}
    needed |= {f"{m}.py" for m in setuptools["py-modules"]}
    needed |= {"data", "deploy", "pyproject.toml", "README.md"}
    assert not needed & ignored


def instructions(keyword: str, text: str | None = None) -> list[str]:
    """The arguments of each `keyword` instruction, continuation lines joined."""
    text = CONTAINERFILE.read_text(encoding="utf-8") if text is None else text
    joined = text.replace("\\\n", " ")
    return [
        line.split(None, 1)[1].strip()
        for line in joined.splitlines()
        if line.split(None, 1)[:1] == [keyword]
    ]


def final_stage_instructions(keyword: str) -> list[str]:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    final_stage = text[text.rindex("\nFROM ") :]
    return instructions(keyword, final_stage)


def git_mode(path: Path) -> str:
    listing = subprocess.run(
        ["git", "ls-files", "--stage", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return listing.split()[0] if listing else "untracked"


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    [resource] = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return resource


def pod_specs(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    for resource in resources:
        if resource["kind"] in ("Deployment", "Job"):
            yield resource["spec"]["template"]["spec"]


def container_ports(pod: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in pod["containers"]
        for port in container.get("ports", [])
    }
