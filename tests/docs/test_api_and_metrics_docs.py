"""/api/docs serves the OpenAPI page from local assets, every operation has an example that fits its schema,
and the alert rules in docs/operating.md name only metrics that /metrics serves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import yaml
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families

from tests.docs.markdown import ROOT, blocks
from tests.support.api import running_app

SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum", "_created")}
FROM_PROMETHEUS = {"up"}  # made by Prometheus for every target, not served by Tocsin


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


async def test_api_docs_page_uses_only_local_assets(database_url: str) -> None:
    async with running_app(database_url) as (_, client):
        page = await client.get("/api/docs")
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assets = _Assets()
        assets.feed(await page.get_data(as_text=True))
        assert assets.urls
        for url in assets.urls:
            absolute = urljoin("http://tocsin.test/api/docs", url)
            assert absolute.startswith("http://tocsin.test/api/"), f"{url} is not served by Tocsin"
            answer = await client.get(absolute.removeprefix("http://tocsin.test"))
            assert answer.status_code == 200, url
        bundle = await (await client.get("/api/docs/redoc.standalone.js")).get_data(as_text=True)
        assert "Redoc" in bundle and len(bundle) > 500_000
    assert (ROOT / "web" / "api" / "static" / "redoc-LICENSE.txt").read_text().startswith("The MIT License")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _no_stale_fields(example: Any, schema: dict[str, Any], components: dict[str, Any], where: str) -> None:
    """Every field of the example is declared, so that an example cannot carry a field the API dropped."""
    schema = _resolve(schema, components)
    properties: dict[str, Any] = dict(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        properties.update(_resolve(branch, components).get("properties", {}))
    if isinstance(example, list) and "items" in schema:
        for item in example:
            _no_stale_fields(item, schema["items"], components, where)
    elif isinstance(example, dict) and properties:
        assert set(example) <= set(properties), f"{where}: undeclared {set(example) - set(properties)}"
        for key, value in example.items():
            _no_stale_fields(value, properties[key], components, f"{where}.{key}")


def _check(example: Any, schema: dict[str, Any], components: dict[str, Any], where: str) -> None:
    root = {**schema, "components": {"schemas": components}}
    errors = list(Draft202012Validator(root).iter_errors(example))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"
    _no_stale_fields(example, schema, components, where)


async def test_every_operation_has_an_example_that_fits_its_schema(database_url: str) -> None:
    async with running_app(database_url) as (_, client):
        doc = await (await client.get("/api/v1/openapi.json")).get_json()
    components = doc["components"]["schemas"]
    operations = [(m.upper(), p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    assert len(operations) >= 10
    for method, path, op in operations:
        where = f"{method} {path}"
        assert op["tags"], where
        success = next(s for s in op["responses"] if s.startswith("2"))
        for media in op["responses"][success]["content"].values():  # JSON, and CSV or Markdown where offered
            assert "example" in media, f"{where}: no example answer"
            _check(media["example"], media["schema"], components, where)
        if "requestBody" in op:
            body = op["requestBody"]["content"]["application/json"]
            assert "example" in body, f"{where}: no example body"
            _check(body["example"], body["schema"], components, where + " body")


async def test_the_alert_rules_in_operating_md_name_only_served_metrics(database_url: str) -> None:
    async with running_app(database_url) as (_, client):
        text = await (await client.get("/metrics")).get_data(as_text=True)
    families = [f for f in text_string_to_metric_families(text) if f.name.startswith("tocsin_")]
    served = {f.name for f in families} | {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
        if family.name.startswith("tocsin_")
    }
    page = ROOT / "docs" / "operating.md"
    [rules] = [b for b in blocks(page) if b.kind == "file" and b.value == "tocsin-alerts.yml"]
    exprs = [r["expr"] for g in yaml.safe_load(rules.body)["groups"] for r in g["rules"]]
    assert len(exprs) >= 6
    for expr in exprs:
        # Metric names: Tocsin's, and any name directly followed by a label selector (such as up{...}).
        named = set(re.findall(r"\b(tocsin_[a-z0-9_]+)", expr)) | set(re.findall(r"\b([a-z_][a-z0-9_]*)\{", expr))
        assert named, expr
        unknown = {n for n in named if n not in served and n not in FROM_PROMETHEUS}
        assert not unknown, f"{expr!r} names {unknown}, not in /metrics"
    table = page.read_text().split("## Metrics worth alerting on", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(tocsin_[a-z_]+)", table, re.M))
    assert listed and listed <= served, listed - served


def _shape(path: str) -> str:
    """A route or OpenAPI path with its parameters blanked: /api/v1/incidents/<int:id> -> /api/v1/incidents/{}."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


async def test_every_api_route_of_the_app_is_in_the_openapi_document(database_url: str) -> None:
    async with running_app(database_url) as (app, client):
        doc = await (await client.get("/api/v1/openapi.json")).get_json()
        routes = {
            (method, _shape(rule.rule))
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(("/api/v1/", "/v2/")) and rule.rule != "/api/v1/openapi.json"
            for method in rule.methods - {"HEAD", "OPTIONS"}
        }
    documented = {(method.upper(), _shape(path)) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented
    assert {("GET", "/api/v1/oncall"), ("GET", "/api/v1/schedules/{}.ics"),
            ("POST", "/api/v1/webhooks/alertmanager"), ("POST", "/api/v1/webhooks/grafana"),
            ("POST", "/api/v1/events/v2/enqueue"), ("POST", "/v2/enqueue")} <= documented
