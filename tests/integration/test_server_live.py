"""A real server process: HTTPS with a certificate made here, and /metrics on its own port."""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.server import free_port, serving


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_https_with_tls_files_and_metrics_on_their_own_port(database_url: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(cert))
    metrics_port = free_port()
    env = {"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key), "METRICS_PORT": str(metrics_port)}
    with serving(database_url, scheme="https", context=context, **env) as url:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5, context=context) as response:
            assert response.status == 200 and b'"ok"' in response.read()
        plain = url.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"{plain}/healthz", timeout=5).read()
        with pytest.raises(urllib.error.HTTPError) as not_here:
            urllib.request.urlopen(f"{url}/metrics", timeout=5, context=context)
        assert not_here.value.code == 404
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "tocsin_http_request_duration_seconds" in text and "tocsin_open_incidents" in text
