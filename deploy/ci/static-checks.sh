#!/usr/bin/env bash
# Static checks of the deployment files: Dockerfile lint, compose file against the compose-spec schema
# and through docker-compose's own parser, Prometheus rules and config, Alertmanager config, the systemd unit.
# Kubernetes: deploy/kubernetes rendered (kubectl kustomize too where kubectl is installed) and validated.
# Needs on PATH: hadolint, check-jsonschema (PyPI), docker-compose, promtool, amtool, systemd-analyze (Debian),
# and a python3 with kubernetes-validate, jsonschema and pyyaml (verify.sh's tool virtualenv).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== hadolint Dockerfile"
hadolint Dockerfile

echo "== compose file: compose-spec schema"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

echo "== compose file: docker-compose config -q (with .env.example and a token)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r docker-compose.yml deploy Dockerfile "$work/"
sed 's/^WEBHOOK_TOKEN=$/WEBHOOK_TOKEN=static-check-token/' .env.example > "$work/.env"
(cd "$work" && docker-compose config -q)
# Without a token the stack must refuse to start rather than run an open webhook.
if (cd "$work" && rm .env && docker-compose config -q 2>/dev/null); then
  echo "docker-compose accepted the stack without WEBHOOK_TOKEN" >&2
  exit 1
fi

echo "== compose file: least privilege (read-only root, cap_drop ALL, no-new-privileges) on every service"
python3 - <<'PY'
import sys, yaml
services = yaml.safe_load(open("docker-compose.yml"))["services"]
# PostgreSQL's entrypoint (official image and stand-in) starts as root to own its files, then drops to postgres.
allowed_caps = {"postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}}
bad = []
for name, service in services.items():
    if service.get("read_only") is not True:
        bad.append(f"{name}: read_only: true missing")
    if service.get("cap_drop") != ["ALL"]:
        bad.append(f"{name}: cap_drop: [ALL] missing")
    if not set(service.get("cap_add", [])) <= allowed_caps.get(name, set()):
        bad.append(f"{name}: cap_add {service.get('cap_add')} beyond {sorted(allowed_caps.get(name, []))}")
    if "no-new-privileges:true" not in service.get("security_opt", []):
        bad.append(f"{name}: security_opt no-new-privileges:true missing")
if bad:
    sys.exit("\n".join(bad))
PY

echo "== Prometheus config and rules, Alertmanager config"
promtool check rules deploy/prometheus/rules/*.yml
sed 's#/etc/prometheus/rules/#'"$PWD"'/deploy/prometheus/rules/#' deploy/prometheus/prometheus.yml > "$work/prometheus.yml"
promtool check config "$work/prometheus.yml"
amtool check-config deploy/alertmanager/alertmanager.yml

echo "== entrypoint, systemd unit (its directives; the binary path stands in for the installed one)"
sh -n deploy/docker/entrypoint.sh
mkdir "$work/unit"
sed 's#/opt/tocsin/venv/bin/tocsin#/bin/true#' deploy/systemd/tocsin.service > "$work/unit/tocsin.service"
out="$(systemd-analyze verify --man=no "$work/unit/tocsin.service" 2>&1)" || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
# The hardening keeps its score (docs/security.md quotes it): 15 is an exposure of 1.5 on systemd's 0-10 scale.
systemd-analyze security --offline=yes --threshold=15 "$work/unit/tocsin.service" | tail -1
echo "== Kubernetes: deploy/kubernetes rendered, validated against Kubernetes' and the operators' schemas"
python3 deploy/ci/kubernetes_check.py
echo "static checks passed"
