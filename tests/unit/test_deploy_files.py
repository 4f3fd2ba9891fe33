"""The shipped config files parse with Tocsin's own schema, and deploy/kubernetes renders to what Tocsin needs
(the same renderer CI compares with `kubectl kustomize`; CI also validates against Kubernetes' schemas)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

from store.domain.config_schema import parse_config

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("kubernetes_check", ROOT / "deploy" / "ci" / "kubernetes_check.py")
assert SPEC and SPEC.loader
check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check)


@pytest.mark.parametrize("path", ["deploy/tocsin/tocsin.yml", "deploy/kubernetes/base/tocsin.yml"])
def test_the_shipped_configs_have_a_schedule_a_policy_and_a_route(path: str) -> None:
    config = parse_config(yaml.safe_load((ROOT / path).read_text()))
    assert config.schedules and config.policies and config.routes.routes
    assert all(route.escalation for route in config.routes.routes)


def test_the_compose_stack_mounts_the_config() -> None:
    tocsin = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tocsin"]
    assert tocsin["environment"]["TOCSIN_CONFIG"] == "/etc/tocsin/tocsin.yml"
    assert "./deploy/tocsin/tocsin.yml:/etc/tocsin/tocsin.yml:ro" in tocsin["volumes"]


@pytest.mark.parametrize("name", check.KUSTOMIZATIONS)
def test_each_kustomization_renders_to_what_tocsin_needs(name: str) -> None:
    objects = check.render(check.KUBE / name)
    assert check.policy(objects, name) == []
    assert [p for obj in objects for p in check.custom_problems(obj, name) or []] == []


def test_a_custom_resource_is_checked_against_its_operators_schema() -> None:
    (config,) = check.render(check.KUBE / "alertmanager")
    config["spec"]["receivers"][0]["webhookConfigs"][0]["sendResolved"] = "yes"
    assert check.custom_problems(config, "am") == [
        "am: AlertmanagerConfig/tocsin: $.spec.receivers[0].webhookConfigs[0].sendResolved: 'yes' is not of type "
        "'boolean'"]


def test_the_overlay_takes_the_database_from_cloudnativepg() -> None:
    objects = {o["kind"]: o for o in check.render(check.KUBE / "overlays/cloudnativepg")}
    env = {e["name"]: e for e in objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "tocsin-db-app", "key": "uri"}
    assert objects["Cluster"]["spec"]["bootstrap"]["initdb"] == {"database": "tocsin", "owner": "tocsin"}


def test_the_policy_check_refuses_a_root_container() -> None:
    objects = check.render(check.KUBE / "base")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False
    deployment["spec"]["replicas"] = 1
    assert check.policy(objects, "base") == ["base: the Deployment runs two replicas", "base: the pod runs as non-root"]
