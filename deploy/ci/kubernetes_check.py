#!/usr/bin/env python3
"""Check deploy/kubernetes: render each kustomization, validate every object, check what Tocsin relies on.

Rendering: a small renderer of exactly the kustomize features these files use (resources, labels with
selectors, a configMapGenerator without hash suffix, images, inline JSON 6902 patches), so the check runs where
no kustomize binary is; when `kubectl` is on the PATH, `kubectl kustomize` renders too and both must agree.
Validation: Kubernetes' kinds against the schemas of `kubernetes-validate` (strict: unknown fields refused),
the custom resources (CloudNativePG's Cluster, the Prometheus Operator's AlertmanagerConfig) against their
operators' schemas in deploy/kubernetes/schemas. Policy: two replicas, readiness on /readyz, liveness on
/healthz, no root, a read-only root filesystem, a PodDisruptionBudget and a Service selecting the pods,
secrets from Secrets. Usage: kubernetes_check.py [--no-kubectl] [--no-validate]; exit 1 with one line per
problem.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = ("base", "overlays/cloudnativepg", "alertmanager")
CUSTOM = {
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io_v1_cluster.json",
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): "monitoring.coreos.com_v1alpha1_alertmanagerconfig.json",
}
KUBERNETES_VERSION = "1.30.0"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects a kustomization makes (the features these files use only)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        objects += render(path) if path.is_dir() else _documents(path)
    for generator in spec.get("configMapGenerator", []):
        data = {Path(f).name: (directory / f).read_text() for f in generator.get("files", [])}
        if not spec.get("generatorOptions", {}).get("disableNameSuffixHash"):
            raise ValueError(f"{directory}: only configMapGenerator without a name hash is rendered here")
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]},
                        "data": data})
    for label in spec.get("labels", []):
        for obj in objects:
            _label(obj, label["pairs"], label.get("includeSelectors", False))
    for image in spec.get("images", []):
        for container in _containers(objects):
            name, _, _ = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    for patch in spec.get("patches", []):
        target = patch["target"]
        for obj in objects:
            if obj["kind"] == target["kind"] and obj["metadata"]["name"] == target["name"]:
                _json_patch(obj, yaml.safe_load(patch["patch"]))
    return objects


def _label(obj: dict[str, Any], pairs: dict[str, str], selectors: bool) -> None:
    obj["metadata"].setdefault("labels", {}).update(pairs)
    if not selectors:
        return
    spec = obj.get("spec", {})
    if obj["kind"] == "Service":
        spec.setdefault("selector", {}).update(pairs)
    elif obj["kind"] in ("Deployment", "PodDisruptionBudget"):
        spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
    if obj["kind"] == "Deployment":
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        for constraint in spec["template"]["spec"].get("topologySpreadConstraints", []):
            constraint.setdefault("labelSelector", {}).setdefault("matchLabels", {}).update(pairs)


def _containers(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for o in objects if o["kind"] == "Deployment" for c in o["spec"]["template"]["spec"]["containers"]]


def _json_patch(obj: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    for op in operations:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) and last != "-" else last
        if op["op"] == "test" and node[key] != op["value"]:
            raise ValueError(f"patch test failed at {op['path']}: {node[key]!r} != {op['value']!r}")
        if op["op"] in ("replace", "add"):
            if isinstance(node, list) and op["op"] == "add":
                node.insert(len(node) if key == "-" else key, copy.deepcopy(op["value"]))
            else:
                node[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[key]


def kubectl_render(directory: Path) -> list[dict[str, Any]]:
    """What `kubectl kustomize` makes of the directory."""
    # kubectl from PATH on our own repository's directory: a CI check, not a service.
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True)  # noqa: S603, S607
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def custom_problems(obj: dict[str, Any], where: str) -> list[str] | None:
    """Problems of a custom resource against its operator's schema; None for a kind of Kubernetes itself."""
    import jsonschema

    custom = CUSTOM.get((obj["apiVersion"], obj["kind"]))
    if custom is None:
        return None
    schema = json.loads((KUBE / "schemas" / custom).read_text())
    name = f"{where}: {obj['kind']}/{obj['metadata']['name']}"
    return [f"{name}: {e.json_path}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]


def validate(objects: list[dict[str, Any]], where: str) -> list[str]:
    """Schema problems of the objects, one line each."""
    import kubernetes_validate

    problems = []
    for obj in objects:
        name = f"{where}: {obj['kind']}/{obj['metadata']['name']}"
        custom = custom_problems(obj, where)
        if custom is not None:
            problems += custom
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{name}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")
    return problems


def policy(objects: list[dict[str, Any]], where: str) -> list[str]:
    """What Tocsin's deployment must be, checked on the rendered objects."""
    by_kind = {obj["kind"]: obj for obj in objects}
    if "Deployment" not in by_kind:
        return []
    problems = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(f"{where}: {what}")

    deployment = by_kind["Deployment"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    pod_labels = pod["metadata"]["labels"]
    need(deployment["spec"]["replicas"] == 2, "the Deployment runs two replicas")
    need(container["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness is /readyz")
    need(container["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness is /healthz")
    need(pod["spec"]["securityContext"].get("runAsNonRoot") is True, "the pod runs as non-root")
    need(container["securityContext"].get("readOnlyRootFilesystem") is True, "the root filesystem is read-only")
    need(container["securityContext"].get("allowPrivilegeEscalation") is False, "no privilege escalation")
    for kind in ("Service", "PodDisruptionBudget"):
        selector = by_kind.get(kind, {}).get("spec", {}).get("selector", {})
        selector = selector.get("matchLabels", selector) if kind != "Service" else selector
        need(bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items()),
             f"a {kind} selects the Deployment's pods")
    env = {e["name"]: e for e in container["env"]}
    for name in ("DATABASE_URL", "WEBHOOK_TOKEN"):
        need("secretKeyRef" in env.get(name, {}).get("valueFrom", {}), f"{name} comes from a Secret")
    config = by_kind.get("ConfigMap", {}).get("data", {})
    need("tocsin.yml" in config, "the ConfigMap holds tocsin.yml")
    return problems


def main(argv: list[str]) -> int:
    problems: list[str] = []
    for name in KUSTOMIZATIONS:
        directory = KUBE / name
        objects = render(directory)
        if "--no-kubectl" not in argv and shutil.which("kubectl"):
            theirs = sorted(kubectl_render(directory), key=_key)
            if theirs != sorted(objects, key=_key):
                problems.append(f"{name}: kubectl kustomize renders something else than kubernetes_check.py")
            objects = theirs
        if "--no-validate" not in argv:
            problems += validate(objects, name)
        problems += policy(objects, name)
        print(f"{name}: {len(objects)} objects: {', '.join('/'.join(_key(o)) for o in objects)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
