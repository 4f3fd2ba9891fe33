#!/usr/bin/env bash
# Build Tocsin's image and run docker-compose.yml for real with Podman, then prove the chain: the demo
# rule fires, Alertmanager posts with the bearer token, Tocsin opens the incident; the rule is swapped
# and Prometheus reloaded; the incident resolves.
#
# No container registry is reachable here, so the base images are local stand-ins, built first:
#   - a Debian 12 root (debootstrap --variant=minbase from the apt mirror this machine uses), imported;
#   - the Python base: that root plus Debian's python3 (3.11) and venv, passed as PYTHON_IMAGE;
#   - postgres, prom/prometheus, prom/alertmanager: Debian's packages in images with the official images'
#     interface (POSTGRES_* variables, PGDATA, pg_isready, psql; /bin/prometheus, /bin/alertmanager and
#     their default arguments), tagged with the names docker-compose.yml uses.
# Root only. Everything lives in one temporary directory (image store, networks, volumes) that is
# removed at the end, whatever happens (SHOW_LOGS=1 prints the containers' logs even on success). Needs: podman, runc, debootstrap, podman-compose, python3.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
STANDINS="$ROOT/deploy/ci/standins"
CA=/etc/ssl/certs/ca-certificates.crt
W="$(mktemp -d /var/tmp/tocsin-podman.XXXXXX)"
PROJECT="tocsinci$$"
PYTHON_STANDIN=localhost/tocsin-ci/python:3.11
TOKEN="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
POLLER=""
CHILD=""
t0=$SECONDS

step() { printf '== [%3ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

mkdir -p "$W/store" "$W/run" "$W/networks" "$W/tmp" "$W/stack"
cat > "$W/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_config_dir = "$W/networks"
EOF
cat > "$W/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/store"
runroot = "$W/run"
EOF
export CONTAINERS_CONF="$W/containers.conf" CONTAINERS_STORAGE_CONF="$W/storage.conf" TMPDIR="$W/tmp"
compose() { (cd "$W/stack" && podman-compose -p "$PROJECT" "$@"); }
container() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1; }

cleanup() {
  status=$?
  set +e
  [ -n "$POLLER" ] && kill "$POLLER" 2>/dev/null && wait "$POLLER" 2>/dev/null
  if { [ "$status" -ne 0 ] || [ -n "${SHOW_LOGS:-}" ]; } && [ -d "$W/stack" ]; then
    for service in tocsin alertmanager prometheus postgres; do
      name="$(container "$service" 2>/dev/null)"
      [ -n "$name" ] && { echo "--- logs of $service"; podman logs --tail 40 "$name" 2>&1; }
    done
  fi
  timeout 60 bash -c "cd '$W/stack' && podman-compose -p '$PROJECT' down -v -t 3" >/dev/null 2>&1
  timeout 60 podman rm -af -t 1 >/dev/null 2>&1
  timeout 30 podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
  # Anything still mounted under the work directory (debootstrap's /proc, overlay layers) goes first.
  findmnt -rn -o TARGET | grep "^$W/" | sort -r | xargs -r umount -l 2>/dev/null
  rm -rf "$W"
  step "cleaned up (exit $status)"
  exit "$status"
}
trap cleanup EXIT
# Bash runs a trap only once the foreground command ends: long steps run through `run`, in the
# background with `wait`, so that a TERM (CI's timeout) stops them and cleans up at once.
trap '[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null; exit 124' TERM INT
run() {
  local rc=0
  "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

wait_until() {  # wait_until SECONDS WHAT COMMAND...: poll every 2 s, bounded
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 2
  done
}

mirror() {  # the Debian mirror apt already uses on this machine (deb822 .sources or one-line .list)
  python3 - <<'EOF'
import glob, re
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(path).read().split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "bookworm" in fields.get("Suites", "").split() and "Enabled: no" not in stanza:
            print(fields["URIs"].split()[0]); raise SystemExit
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        parts = re.sub(r"\[[^]]*\]", "", line).split()
        if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
            print(parts[1]); raise SystemExit
raise SystemExit(1)
EOF
}

image_of() { grep -oE "image: *$1:[^ ]+" "$ROOT/docker-compose.yml" | head -1 | sed 's/image: *//'; }
POSTGRES_IMAGE="$(image_of docker.io/library/postgres)"
PROMETHEUS_IMAGE="$(image_of docker.io/prom/prometheus)"
ALERTMANAGER_IMAGE="$(image_of docker.io/prom/alertmanager)"
TOCSIN_IMAGE="$(image_of localhost/tocsin)"
[ -n "$POSTGRES_IMAGE" ] && [ -n "$PROMETHEUS_IMAGE" ] && [ -n "$ALERTMANAGER_IMAGE" ] && [ -n "$TOCSIN_IMAGE" ] \
  || fail "docker-compose.yml no longer names the images this script stands in for"

MIRROR="$(mirror)" || fail "no Debian bookworm source in /etc/apt (sources.list or sources.list.d): debootstrap needs the mirror this machine's apt uses"
step "debootstrap a Debian 12 root from $MIRROR"
run timeout 300 debootstrap --variant=minbase bookworm "$W/rootfs" "$MIRROR" > "$W/debootstrap.log" 2>&1 \
  || { tail -20 "$W/debootstrap.log" >&2; fail "debootstrap"; }
rm -rf "$W"/rootfs/var/cache/apt/archives/*.deb "$W"/rootfs/var/cache/apt/*.bin "$W"/rootfs/var/lib/apt/lists/*
tar -C "$W/rootfs" -c . | podman import -q - localhost/tocsin-ci/debian:12 >/dev/null
rm -rf "$W/rootfs"

step "stand-in images: python base, then postgres, prometheus, alertmanager from Debian's packages"
build() { run timeout 300 podman build -q --format docker "$@" >/dev/null; }
build -t "$PYTHON_STANDIN" -f "$STANDINS/python.Containerfile" "$STANDINS"
build -t localhost/tocsin-ci/services -f "$STANDINS/services.Containerfile" "$STANDINS"
build -t "$POSTGRES_IMAGE" -f "$STANDINS/postgres.Containerfile" "$STANDINS"
build -t "$PROMETHEUS_IMAGE" -f "$STANDINS/prometheus.Containerfile" "$STANDINS"
build -t "$ALERTMANAGER_IMAGE" -f "$STANDINS/alertmanager.Containerfile" "$STANDINS"

step "build Tocsin's image from the Dockerfile (PYTHON_IMAGE=$PYTHON_STANDIN)"
build_start=$SECONDS
run timeout 420 podman build --format docker -v "$CA:$CA:ro" --build-arg "PYTHON_IMAGE=$PYTHON_STANDIN" \
  -t "$TOCSIN_IMAGE" "$ROOT" > "$W/build.log" 2>&1 || { tail -30 "$W/build.log" >&2; fail "podman build"; }
size() { podman image inspect --format '{{.Size}}' "$1"; }
base_size=$(size "$PYTHON_STANDIN")
image_size=$(size "$TOCSIN_IMAGE")
step "built in $((SECONDS - build_start))s: image $((image_size / 1000000)) MB, of which the stand-in base" \
  "$((base_size / 1000000)) MB and Tocsin's layers $(((image_size - base_size) / 1000000)) MB"

[ "$(podman image inspect --format '{{.Config.User}}' "$TOCSIN_IMAGE")" = "10001:10001" ] || fail "image user is not 10001"
podman image inspect --format '{{.HealthCheck.Test}}' "$TOCSIN_IMAGE" | grep -q healthz || fail "no HEALTHCHECK on /healthz"
# No package manager or compiler is left in the image (pip, ensurepip, apt, dpkg; gcc, cc, make).
if leftovers="$(podman run --rm --entrypoint /bin/sh "$TOCSIN_IMAGE" -c '
  for tool in pip pip3 apt apt-get dpkg gcc cc make; do command -v "$tool"; done
  for python in python3 /opt/tocsin/bin/python; do
    "$python" -c "import pip" 2>/dev/null && echo "$python: pip"
    "$python" -c "import ensurepip" 2>/dev/null && echo "$python: ensurepip"
  done
  true' 2>/dev/null)" && [ -z "$leftovers" ]; then :; else fail "the image still holds install tools: $leftovers"; fi
if refusal="$(podman run --rm "$TOCSIN_IMAGE" 2>&1)"; then fail "the image started without DATABASE_URL"; fi
echo "$refusal" | grep -q "DATABASE_URL" || fail "the refusal does not name DATABASE_URL: $refusal"

step "compose up (ports on 127.0.0.1, health checks polled with podman healthcheck run)"
cp "$ROOT/docker-compose.yml" "$W/stack/"
mkdir -p "$W/stack/deploy"
cp -r "$ROOT/deploy/prometheus" "$ROOT/deploy/alertmanager" "$ROOT/deploy/tocsin" "$W/stack/deploy/"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
TOCSIN_PORT=$(free_port) PROMETHEUS_PORT=$(free_port) ALERTMANAGER_PORT=$(free_port)
sed -e "s/^WEBHOOK_TOKEN=$/WEBHOOK_TOKEN=$TOKEN/" -e "s/^TOCSIN_PORT=.*/TOCSIN_PORT=$TOCSIN_PORT/" \
  -e "s/^PROMETHEUS_PORT=.*/PROMETHEUS_PORT=$PROMETHEUS_PORT/" -e "s/^ALERTMANAGER_PORT=.*/ALERTMANAGER_PORT=$ALERTMANAGER_PORT/" \
  "$ROOT/.env.example" > "$W/stack/.env"
(
  # Podman runs health checks from systemd timers; there is no systemd here, so run them by hand.
  while true; do
    for name in $(podman ps --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' 2>/dev/null); do
      podman healthcheck run "$name" >/dev/null 2>&1 || true
    done
    sleep 2
  done
) &
POLLER=$!
up_start=$SECONDS
up() { run timeout 240 bash -c "cd '$W/stack' && podman-compose -p '$PROJECT' up -d --no-build $*" >> "$W/up.log" 2>&1 \
  || { tail -30 "$W/up.log" >&2; fail "podman-compose up $*"; }; }
# podman-compose ignores `depends_on: condition: service_healthy` before Podman 4.6 (Debian 12 has 4.3),
# so do what Docker Compose does: PostgreSQL first, healthy, then the rest.
up postgres
wait_until 90 "PostgreSQL healthy (pg_isready)" podman healthcheck run "$(container postgres)"
up
http_ok() { python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=3)' "$1"; }
wait_until 120 "Tocsin ready (migrated)" http_ok "http://127.0.0.1:$TOCSIN_PORT/readyz"
wait_until 60 "Tocsin's container healthy" podman healthcheck run "$(container tocsin)"
wait_until 60 "Prometheus ready" http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
step "stack up in $((SECONDS - up_start))s"

PG="$(container postgres)"
sql() { podman exec "$PG" psql -U tocsin -d tocsin -Atc "$1"; }
demo_status() { sql "SELECT string_agg(status, ',' ORDER BY id) FROM incidents WHERE title LIKE 'Demo alert%'"; }
status_is() { [ "$(demo_status)" = "$1" ]; }

fire_start=$SECONDS
wait_until 120 "the demo rule's incident" status_is triggered
step "incident opened $((SECONDS - fire_start))s after the stack was up: $(sql "SELECT id, title, severity FROM incidents")"
[ "$(sql "SELECT count(*) FROM alerts WHERE labels->>'alertname' = 'TocsinDemoAlwaysFiring'")" = 1 ] \
  || fail "expected one alert row for the demo rule"

escalated() { [ "$(sql "SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id
  WHERE e.kind = 'escalated' AND i.title LIKE 'Demo alert%'")" -ge 1 ]; }
wait_until 60 "the demo incident's escalation (deploy/tocsin/tocsin.yml)" escalated
step "escalated: $(sql "SELECT message FROM incident_events WHERE kind = 'escalated' ORDER BY id LIMIT 1")"
[ "$(sql "SELECT applied_via FROM config_versions ORDER BY version DESC LIMIT 1")" = serve ] \
  || fail "tocsin serve did not store the mounted tocsin.yml as a config version"
podman exec "$(container tocsin)" tocsin config apply >/dev/null \
  || fail "tocsin config apply in the container failed"

step "swap the demo rule for one that never fires and reload Prometheus"
cat > "$W/stack/deploy/prometheus/rules/demo.yml" <<'EOF'
groups:
  - name: demo
    interval: 5s
    rules:
      - alert: TocsinDemoAlwaysFiring
        expr: vector(1) == 0
        labels:
          severity: warning
EOF
python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], method="POST"), timeout=10)' \
  "http://127.0.0.1:$PROMETHEUS_PORT/-/reload"
resolve_start=$SECONDS
wait_until 180 "the incident resolved" status_is resolved
step "incident resolved $((SECONDS - resolve_start))s after the reload"
[ "$(sql "SELECT count(*) FROM incident_events WHERE kind = 'opened'")" = 1 ] || fail "expected exactly one incident opened"
for service in postgres tocsin alertmanager prometheus; do
  [ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$(container "$service")")" = true ] \
    || fail "$service does not run on a read-only root filesystem"
done
step "podman stack verified in $((SECONDS - t0))s"
