"""`kustomize build` for the features deploy/kubernetes uses, and only those, without the
kustomize binary (none on the development machines or in CI).

Supported: `resources` (files and folders with their own kustomization), `configMapGenerator`
(`files`, `literals`) with `generatorOptions.disableNameSuffixHash: true`, `namespace`,
`images`, `replicas`, `patches` whose content is a JSON 6902 list of operations (applied
with `jsonpatch`, as kustomize applies them) targeting a kind and a name, and `replacements`
from one field of a resource selected by kind and name (with `delimiter` and `index`) into
existing fields of resources selected the same way, run last as kustomize 5 runs them. Any other
field, or a strategic-merge patch, raises `Unsupported`: a kustomization this renderer would read
differently from kustomize fails the tests instead of passing them. What kustomize itself refuses
(a replacement's source or target field missing) raises `Refused`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonpatch
import yaml

Resource = dict[str, Any]

SUPPORTED_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "configMapGenerator",
        "generatorOptions",
        "namespace",
        "images",
        "replicas",
        "patches",
        "replacements",
    }
)
CLUSTER_SCOPED = frozenset({"Namespace"})
SCALABLE = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


class Unsupported(ValueError):
    """The kustomization uses something this renderer does not do as kustomize does."""


class Refused(ValueError):
    """`kustomize build` fails on this kustomization too."""


def build(folder: Path) -> list[Resource]:
    """The resources `kustomize build folder` prints, in the same order."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{folder}: kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources += build(path)
        else:
            documents = yaml.safe_load_all(path.read_text(encoding="utf-8"))
            resources += [document for document in documents if document]
    resources += _generated_config_maps(folder, kustomization)
    for patch in kustomization.get("patches", []):
        _apply_patch(folder, resources, patch)
    if namespace := kustomization.get("namespace"):
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    for replicas in kustomization.get("replicas", []):
        _set_replicas(resources, replicas)
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    for replacement in kustomization.get("replacements", []):
        _replace(folder, resources, replacement)
    return resources


def _generated_config_maps(folder: Path, kustomization: dict[str, Any]) -> list[Resource]:
    generators = kustomization.get("configMapGenerator", [])
    options = kustomization.get("generatorOptions", {})
    if generators and options != {"disableNameSuffixHash": True}:
        raise Unsupported(f"{folder}: generatorOptions {options} (content hashes not computed)")
    config_maps = []
    for generator in generators:
        unknown = set(generator) - {"name", "files", "literals"}
        if unknown:
            raise Unsupported(f"{folder}: configMapGenerator fields {sorted(unknown)}")
        data: dict[str, str] = {}
        for entry in generator.get("files", []):
            key, _, path = entry.rpartition("=")
            file = folder / path
            data[key or file.name] = file.read_text(encoding="utf-8")
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        config_maps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    return config_maps


def _targets(resources: list[Resource], kind: str, name: str, what: str) -> list[Resource]:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    if not found:
        raise Unsupported(f"{what}: no {kind} named {name}")  # kustomize would be silent
    return found


def _apply_patch(folder: Path, resources: list[Resource], patch: dict[str, Any]) -> None:
    target = patch.get("target", {})
    if set(patch) - {"path", "patch", "target"} or set(target) - {"kind", "name"}:
        raise Unsupported(f"{folder}: patch {patch} (only path or patch, target kind and name)")
    text = patch["patch"] if "patch" in patch else (folder / patch["path"]).read_text("utf-8")
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise Unsupported(f"{folder}: strategic-merge patch {patch}; write JSON 6902 operations")
    for resource in _targets(resources, target["kind"], target["name"], f"patch {patch}"):
        patched = jsonpatch.JsonPatch(operations).apply(resource)
        resource.clear()
        resource.update(patched)


def _set_replicas(resources: list[Resource], replicas: dict[str, Any]) -> None:
    found = [
        r for r in resources if r["kind"] in SCALABLE and r["metadata"]["name"] == replicas["name"]
    ]
    if not found:
        raise Unsupported(f"replicas: nothing scalable named {replicas['name']}")
    for resource in found:
        resource["spec"]["replicas"] = replicas["count"]


def _set_image(resources: list[Resource], image: dict[str, Any]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise Unsupported(f"images: {image} (only name, newName, newTag)")
    for resource in resources:
        template = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("containers", []) + template.get("initContainers", []):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                new_tag = image.get("newTag", tag)
                new_name = image.get("newName", name)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _replace(folder: Path, resources: list[Resource], replacement: dict[str, Any]) -> None:
    """kustomize's replacement filter: the source's value (or its `index`-th part split on
    `delimiter`) replaces each target field (or that part of it; past the last part, it is
    appended). Targets are selected by their current name, one after the other."""
    source = replacement.get("source", {})
    if set(replacement) != {"source", "targets"} or set(source) - {
        "kind",
        "name",
        "fieldPath",
        "options",
    }:
        raise Unsupported(f"{folder}: replacement {replacement} (only source and targets)")
    [node] = _targets(resources, source["kind"], source["name"], f"replacement source {source}")
    [value] = _fields(node, source["fieldPath"])
    delimiter, index = _options(folder, source)
    if delimiter:
        parts = value.split(delimiter)
        if not 0 <= index < len(parts):
            raise Refused(f"{folder}: index {index} out of bounds for {value!r}")
        value = parts[index]
    for target in replacement["targets"]:
        select = target.get("select", {})
        if set(target) - {"select", "fieldPaths", "options"} or set(select) - {"kind", "name"}:
            raise Unsupported(f"{folder}: replacement target {target} (only select kind, name)")
        delimiter, index = _options(folder, target)
        for resource in _targets(resources, select["kind"], select["name"], f"target {target}"):
            for field_path in target["fieldPaths"]:
                for parent, key in _field_slots(resource, field_path):
                    new = value
                    if delimiter:
                        parts = str(parent[key]).split(delimiter)
                        if index < 0:
                            parts.insert(0, value)
                        elif index >= len(parts):
                            parts.append(value)
                        else:
                            parts[index] = value
                        new = delimiter.join(parts)
                    parent[key] = new


def _options(folder: Path, selector: dict[str, Any]) -> tuple[str, int]:
    options = selector.get("options", {})
    if set(options) - {"delimiter", "index"}:
        raise Unsupported(f"{folder}: replacement options {options} (only delimiter, index)")
    return options.get("delimiter", ""), options.get("index", 0)


def _split_field_path(field_path: str) -> list[str]:
    """kustomize's path splitter: `.` separates, `\\.` is a dot within a key, and a list entry
    `[name=value]` is one element even with dots in its value."""
    elements: list[str] = []
    for part in field_path.split("."):
        if elements and elements[-1].endswith("\\"):
            elements[-1] = elements[-1][:-1] + "." + part
        elif elements and elements[-1].startswith("[") and not elements[-1].endswith("]"):
            elements[-1] += "." + part
        else:
            elements.append(part)
    for element in elements:
        if element.startswith("[") and "=" not in element:
            # A bracketed key: kustomize's versions read it differently; escape the dots instead.
            raise Unsupported(f"field path {field_path}: write {element} with escaped dots")
    return elements


def _field_slots(resource: Resource, field_path: str) -> list[tuple[Any, Any]]:
    """(container, key) of every field the path names; kustomize fails when there is none."""
    *walk, last = _split_field_path(field_path)
    nodes: list[Any] = [resource]
    for element in walk:
        nodes = [child for node in nodes for child in _children(node, element)]
    slots = [
        (node, last)
        for node in nodes
        if isinstance(node, dict) and last in node and not last.startswith("[")
    ]
    if not slots:
        raise Refused(f"unable to find field {field_path!r} in {resource['metadata']['name']}")
    return slots


def _fields(resource: Resource, field_path: str) -> list[str]:
    return [str(parent[key]) for parent, key in _field_slots(resource, field_path)]


def _children(node: Any, element: str) -> list[Any]:
    if element.startswith("["):
        key, _, wanted = element[1:-1].partition("=")
        if not isinstance(node, list):
            return []
        return [item for item in node if isinstance(item, dict) and item.get(key) == wanted]
    if isinstance(node, dict) and element in node:
        return [node[element]]
    return []
