"""The deploy files validate offline (issue 11, "Deploy files that validate"): yamllint on every
YAML under deploy/; the kustomize base and the production overlay rendered (tests/deploy/
kustomize.py, no kustomize binary here) and every resource validated against Kubernetes' own
schemas (`kubernetes-validate`, which ships them; strict: an unknown field is an error); then
what no schema sees: references between the resources, to the secrets the province creates,
to the API's routes, to the settings the processes read, and to the Containerfile; and worker
versioning's Deployment per build (deploy/README.md, "Upgrades")."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from api.app import API_SHUTDOWN_S, create_app
from api.auth import Authenticator, AuthSettings
from settings import REPO_ROOT, Settings
from sources.catalogue import DEFAULT_PATH as CATALOGUE_PATH
from tests.deploy.kustomize import Refused, Resource, Unsupported, build
from worker import SHUTDOWN_DEADLINE_S, deployment_config

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
VERSION_LABEL = "app.kubernetes.io/version"  # the release, hence the worker's build id
LABEL_FIELD = re.compile(r"metadata\.labels\['([^']+)'\]")  # a downward API fieldRef
# Kubernetes' own patterns: a label value, and a name (DNS-1123 subdomain).
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


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
        base_deployment = base["Deployment", name]
        deployment = deployment_of(production, base_deployment["metadata"]["labels"])
        assert deployment["spec"]["replicas"] > base_deployment["spec"]["replicas"]
        requests = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        base_container = base_deployment["spec"]["template"]["spec"]["containers"][0]
        assert requests != base_container["resources"]


def test_config_and_secret_references_resolve(rendered: list[Resource]) -> None:
    """Every ConfigMap a pod reads is rendered; every Secret is the province's `motcua-secrets`
    (or an optional key of it), and each key it is asked for is listed in deploy/README.md;
    every value from the downward API is a label the pod has."""
    config_maps = {r["metadata"]["name"]: r for r in rendered if r["kind"] == "ConfigMap"}
    for template in pod_templates(rendered):
        pod = template["spec"]
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, "secrets by key, so each is documented"
                assert source["configMapRef"]["name"] in config_maps
            for variable in container.get("env", []):
                if "fieldRef" in variable["valueFrom"]:
                    label = LABEL_FIELD.fullmatch(variable["valueFrom"]["fieldRef"]["fieldPath"])
                    assert label and label[1] in template["metadata"]["labels"], variable
                    continue
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
    settings, and each pod's environment (the ConfigMap's values and its own, the secrets
    aside) parses as those fields: a process whose settings do not parse does not start."""
    known = {f"MOTCUA_{name.upper()}" for name in AuthSettings.model_fields}
    config = one(rendered, "ConfigMap", "motcua-config")["data"]
    names = set(config)
    for pod in pod_specs(rendered):
        for container in pod["containers"]:
            names |= {variable["name"] for variable in container.get("env", [])}
    unknown = names - known - NOT_MOTCUA_ENV
    assert not unknown, f"not read by any process: {sorted(unknown)}"
    for template in pod_templates(rendered):
        container_settings(rendered, template)


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
    worker = worker_deployment(rendered)["spec"]["template"]["spec"]
    address = one(rendered, "ConfigMap", "motcua-config")["data"]["MOTCUA_WORKER_METRICS_ADDRESS"]
    assert int(address.rpartition(":")[2]) == container_ports(worker)["metrics"]
    all_port_names = {name for pod in pods for name in container_ports(pod["spec"])}
    for policy in (r for r in rendered if r["kind"] == "NetworkPolicy"):
        for rule in policy["spec"]["ingress"]:
            assert {port["port"] for port in rule["ports"]} <= all_port_names


def test_stopping_fits_in_the_grace_period(rendered: list[Resource]) -> None:
    """The kubelet's SIGKILL comes after the processes' own bounds (README, "Stopping")."""
    worker = worker_deployment(rendered)["spec"]["template"]["spec"]
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


def test_worker_build_id_is_the_image_tag_in_name_selector_and_settings(
    production: list[Resource],
) -> None:
    """Issue 11, worker versioning: the release's image tag is the worker's build id, its
    Deployment's name ends with it and its selector includes it; the config names the worker
    deployment; the worker's settings give the SDK that version."""
    worker = worker_deployment(production)
    template = worker["spec"]["template"]
    [container] = template["spec"]["containers"]
    tag = container["image"].rpartition(":")[2]
    assert worker["metadata"]["name"] == f"motcua-worker-{tag}"
    assert DNS_SUBDOMAIN.fullmatch(worker["metadata"]["name"])
    assert len(tag) <= 63 and LABEL_VALUE.fullmatch(tag)
    assert worker["spec"]["selector"]["matchLabels"][VERSION_LABEL] == tag
    assert template["metadata"]["labels"][VERSION_LABEL] == tag
    config = one(production, "ConfigMap", "motcua-config")["data"]
    assert config["MOTCUA_DEPLOYMENT_NAME"] == "motcua"
    settings = container_settings(production, template)
    versioning = deployment_config(settings)
    assert versioning is not None and versioning.use_worker_versioning
    assert versioning.version.deployment_name == "motcua"
    assert versioning.version.build_id == tag


def test_every_pod_of_a_release_carries_its_tag_and_only_workers_poll(
    production: list[Resource],
) -> None:
    """The API and the migration read the build id too (the two settings go together, and
    the ConfigMap is shared), but they are Temporal clients: only the worker runs worker.py,
    and their Deployment's selector leaves the version out, so that a release rolls them."""
    tag = worker_deployment(production)["metadata"]["labels"][VERSION_LABEL]
    for template in pod_templates(production):
        assert template["metadata"]["labels"][VERSION_LABEL] == tag
        settings = container_settings(production, template)
        assert (settings.deployment_name, settings.build_id) == ("motcua", tag)
    api = one(production, "Deployment", "motcua-api")
    assert VERSION_LABEL not in api["spec"]["selector"]["matchLabels"]
    commands = {
        r["metadata"]["labels"]["app.kubernetes.io/component"]: r["spec"]["template"]["spec"][
            "containers"
        ][0]["args"]
        for r in production
        if r["kind"] in ("Deployment", "Job")
    }
    assert commands == {"worker": ["worker"], "api": ["api"], "migrate": ["migrate"]}


def test_two_builds_run_side_by_side_and_share_the_budget_and_the_metrics(
    production: list[Resource], tmp_path: Path
) -> None:
    """`kubectl apply` (no --prune) of the next release adds a worker Deployment and replaces
    everything else in place; the two builds' Deployments select only their own pods, while
    the disruption budget, the network policy and the metrics annotations cover both."""
    release = render_release(tmp_path, "0.2.0")
    old, new = worker_deployment(production), worker_deployment(release)
    assert new["metadata"]["name"] == "motcua-worker-0.2.0" != old["metadata"]["name"]
    names = {(r["kind"], r["metadata"]["name"]) for r in production}
    new_names = {(r["kind"], r["metadata"]["name"]) for r in release}
    assert new_names - names == {("Deployment", "motcua-worker-0.2.0")}
    assert names - new_names == {("Deployment", old["metadata"]["name"])}
    pods = [old["spec"]["template"], new["spec"]["template"]]
    for deployment, own, other in ((old, pods[0], pods[1]), (new, pods[1], pods[0])):
        assert selects(deployment["spec"]["selector"]["matchLabels"], own)
        assert not selects(deployment["spec"]["selector"]["matchLabels"], other)
    budget = one(release, "PodDisruptionBudget", "motcua-worker")
    [policy] = [r for r in release if r["kind"] == "NetworkPolicy"]
    for pod in pods:
        assert selects(budget["spec"]["selector"]["matchLabels"], pod)
        assert selects(policy["spec"]["podSelector"]["matchLabels"], pod)
        assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    build_ids = {container_settings(release, pod).build_id for pod in pods}
    assert build_ids == {old["metadata"]["labels"][VERSION_LABEL], "0.2.0"}


def test_release_steps_apply_every_resource_exactly_once(production: list[Resource]) -> None:
    """deploy/README.md, "Upgrades": a release applies its render by `-l` selections, the
    configuration (no `app.kubernetes.io/component`), then the migration, the workers and the
    API; a resource has one component or none, so each is applied in exactly one step."""
    components = ("migrate", "worker", "api")
    assert "-l '!app.kubernetes.io/component'" in README
    for component in components:
        assert f"-l app.kubernetes.io/component={component}" in README
    for resource in production:
        component = resource["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        assert component in (None, *components), (resource["kind"], resource["metadata"]["name"])


@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        ({"source": {"kind": "ConfigMap", "name": "c", "fieldPath": "data.missing"}}, Refused),
        ({"source": {"kind": "ConfigMap", "name": "c", "fieldPath": "data.[a.b]"}}, Unsupported),
        ({"sourceValue": "x"}, Unsupported),
        ({"targets_options": {"create": True}}, Unsupported),
        ({"target_path": "data.missing"}, Refused),
    ],
    ids=["missing-source", "bracketed-key", "source-value", "create", "missing-target"],
)
def test_the_renderer_replaces_only_as_kustomize_does(
    tmp_path: Path, replacement: dict[str, Any], error: type[Exception]
) -> None:
    (tmp_path / "c.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    target: dict[str, Any] = {
        "select": {"kind": "ConfigMap", "name": "c"},
        "fieldPaths": [replacement.pop("target_path", "metadata.name")],
    }
    if options := replacement.pop("targets_options", None):
        target["options"] = options
    entry = {
        "source": {"kind": "ConfigMap", "name": "c", "fieldPath": "metadata.name"},
        "targets": [target],
        **replacement,
    }
    kustomization = {"resources": ["c.yaml"], "replacements": [entry]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    with pytest.raises(error):
        build(tmp_path)


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


def render_release(folder: Path, tag: str) -> list[Resource]:
    """The production overlay with the image tag of another release, as `kustomize edit set
    image` leaves it, rendered from a copy (the base reached through a link)."""
    overlay = folder / "overlays" / "production"
    shutil.copytree(PRODUCTION, overlay)
    (folder / "base").symlink_to(BASE)
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    [image] = kustomization["images"]
    image["newTag"] = tag
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return build(overlay)


def container_settings(resources: list[Resource], template: dict[str, Any]) -> AuthSettings:
    """The settings the pod's container starts with: its ConfigMaps, its own values and its
    labels (downward API); the secrets are the province's, unset here."""
    config_maps = {r["metadata"]["name"]: r for r in resources if r["kind"] == "ConfigMap"}
    [container] = template["spec"]["containers"]
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment |= config_maps[source["configMapRef"]["name"]]["data"]
    for variable in container.get("env", []):
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
        elif field := variable["valueFrom"].get("fieldRef"):
            label = LABEL_FIELD.fullmatch(field["fieldPath"])
            assert label, field
            environment[variable["name"]] = template["metadata"]["labels"][label[1]]
    values: dict[str, Any] = {
        name.removeprefix("MOTCUA_").lower(): value
        for name, value in environment.items()
        if name.startswith("MOTCUA_")
    }
    return AuthSettings(_env_file=None, **values)  # type: ignore[call-arg]


def selects(match_labels: dict[str, str], template: dict[str, Any]) -> bool:
    return match_labels.items() <= template["metadata"]["labels"].items()


def deployment_of(resources: list[Resource], labels: dict[str, str]) -> Resource:
    """The one Deployment of a component (`app.kubernetes.io/component`), whatever its name."""
    component = labels["app.kubernetes.io/component"]
    [deployment] = [
        r
        for r in resources
        if r["kind"] == "Deployment"
        and r["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return deployment


def worker_deployment(resources: list[Resource]) -> Resource:
    return deployment_of(resources, {"app.kubernetes.io/component": "worker"})


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    [resource] = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return resource


def pod_templates(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    for resource in resources:
        if resource["kind"] in ("Deployment", "Job"):
            yield resource["spec"]["template"]


def pod_specs(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    for template in pod_templates(resources):
        yield template["spec"]


def container_ports(pod: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in pod["containers"]
        for port in container.get("ports", [])
    }
