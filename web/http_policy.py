"""What every HTTP answer obeys, whatever the route: body limits, body timeout, no caching, CORS only when asked.

These are the framework's (Quart's), not the server's, so they hold under any ASGI server; the server's
own timeouts (a request's head) are in web/server.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quart import Quart, Response, request
from quart.wrappers import Request
from werkzeug.exceptions import RequestEntityTooLarge

from store.errors import ApiError
from web.settings import Settings

MAX_BODY_BYTES = 1_048_576  # every route but the webhooks'
# Routes that take whole alert batches (WEBHOOK_MAX_BYTES); any other route takes at most MAX_BODY_BYTES.
WEBHOOK_PREFIXES = ("/api/v1/webhooks/",)
CORS_PREFIX = "/api/"
CORS_METHODS = "GET, POST, PUT, DELETE"
CORS_HEADERS = "Authorization, Content-Type, If-Match"


def body_limit(path: str, webhook_max: int) -> int:
    """The largest body `path` accepts."""
    return webhook_max if path.startswith(WEBHOOK_PREFIXES) else MAX_BODY_BYTES


def limited_request_class(webhook_max: int) -> type[Request]:
    """Quart's request with the body limit of its route (Quart refuses more, declared or streamed, with 413)."""

    class LimitedRequest(Request):
        def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
            kwargs["max_content_length"] = body_limit(path, webhook_max)
            super().__init__(method, scheme, path, *args, **kwargs)

    return LimitedRequest


def cors_headers(origins: tuple[str, ...], path: str, method: str, headers: Mapping[str, str]) -> dict[str, str]:
    """CORS_ORIGINS' headers for an answer to this request (none unless its Origin is allowed on /api/)."""
    origin = headers.get("Origin")
    if not origins or origin is None or not path.startswith(CORS_PREFIX):
        return {}
    if "*" not in origins and origin.lower().rstrip("/") not in origins:
        return {}
    allowed = {"Access-Control-Allow-Origin": "*" if "*" in origins else origin}
    if method == "OPTIONS" and headers.get("Access-Control-Request-Method"):
        allowed.update({"Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS,
                        "Access-Control-Max-Age": "600"})
    return allowed


def answer_headers(settings: Settings) -> Callable[[str, str, Mapping[str, str]], dict[str, str]]:
    """The headers of this policy for an answer to (path, method, request headers): for answers made without
    Quart (webhook/asgi.py); Quart's answers get the same from the after_request hook below."""
    origins = settings.security.cors_origins

    def headers_for(path: str, method: str, headers: Mapping[str, str]) -> dict[str, str]:
        cors = cors_headers(origins, path, method, headers)
        return {"Cache-Control": "no-store", **cors, **({"Vary": "Origin"} if cors else {})}

    return headers_for


def apply(app: Quart, settings: Settings) -> None:
    """Body limits and timeout, `Cache-Control: no-store` unless a route says otherwise, CORS_ORIGINS."""
    app.request_class = limited_request_class(settings.webhook.max_bytes)
    app.config["MAX_CONTENT_LENGTH"] = max(settings.webhook.max_bytes, MAX_BODY_BYTES)
    app.config["BODY_TIMEOUT"] = settings.http.body_timeout
    origins = settings.security.cors_origins

    @app.after_request
    async def answer_policy(response: Response) -> Response:
        # Answers carry incident data or tokens' results: no shared or browser cache keeps them.
        response.headers.setdefault("Cache-Control", "no-store")
        cors = cors_headers(origins, request.path, request.method, request.headers)
        if cors:
            response.headers.update(cors)
            response.vary.add("Origin")
        return response

    @app.errorhandler(RequestEntityTooLarge)
    async def too_large(error: RequestEntityTooLarge) -> Response:
        limit = body_limit(request.path, settings.webhook.max_bytes)
        api_error = ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes")
        response = Response(app.json.dumps(api_error.body()), 413, content_type="application/json")
        return response
