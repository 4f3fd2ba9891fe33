"""GET /api/docs: the OpenAPI document as a readable page, rendered by the vendored Redoc bundle (no CDN)."""

from __future__ import annotations

from importlib import resources

from quart import Blueprint, Response

BUNDLE = "redoc.standalone.js"
# Everything comes from this server: the page, the bundle and the document. Redoc styles itself inline and
# runs its search in a worker made from a blob.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'"
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tocsin API</title>
</head>
<body>
<redoc spec-url="v1/openapi.json" expand-responses="200,201"></redoc>
<script src="docs/{bundle}"></script>
</body>
</html>
"""


def create_blueprint() -> Blueprint:
    """The page and its one script; both need no token, like the OpenAPI document itself."""
    bp = Blueprint("api_docs", __name__)
    static = resources.files("web.api") / "static"

    @bp.get("/api/docs")
    async def api_docs() -> Response:
        response = Response(PAGE.format(bundle=BUNDLE), content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = POLICY
        return response

    @bp.get(f"/api/docs/{BUNDLE}")
    async def bundle() -> Response:
        response = Response((static / BUNDLE).read_bytes(), content_type="text/javascript; charset=utf-8")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    return bp
