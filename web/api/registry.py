"""API endpoints declared once: the declaration registers the route, validates requests and feeds OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Blueprint, request

from store.errors import ApiError
from store.tokens import Principal
from web.api import auth
from web.api.schema import BIGINT_MAX, Body, Query

MAX_BODY_BYTES = 1_048_576
TEXT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # ids in the config and token names


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation: method, path (OpenAPI style, `{id}` integers), access, query, body and response."""

    method: str
    path: str
    operation_id: str
    summary: str
    access: str  # auth.READ or auth.WRITE
    response: dict[str, Any]
    status: int = 200
    query: Query = field(default_factory=Query)
    body: Body | None = None
    errors: tuple[int, ...] = ()
    example: Any = None  # a typical answer, shown in the OpenAPI document
    request_example: dict[str, Any] | None = None  # a typical body, for endpoints that take one
    text_params: tuple[str, ...] = ()  # path parameters that are ids as text (a schedule, a token's name)

    def quart_rule(self) -> str:
        """The path with `{name}` turned into Quart's `<int:name>` (or `<name>` for a text parameter)."""
        return re.sub(r"\{(\w+)\}", lambda m: f"<{m[1]}>" if m[1] in self.text_params else f"<int:{m[1]}>",
                      self.path)

    def path_params(self) -> list[str]:
        """Names of the path's parameters."""
        return re.findall(r"\{(\w+)\}", self.path)


@dataclass(slots=True)
class Call:
    """What a handler receives: the caller, the validated query and body, the path parameters."""

    principal: Principal
    query: dict[str, Any]
    body: dict[str, Any]
    path: dict[str, Any]


Handler = Callable[[Call], Awaitable[tuple[Any, int] | Any]]


async def _read_body() -> Any:
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        return None
    if request.mimetype != "application/json":
        message = f"expected Content-Type application/json, got {request.mimetype!r}"
        raise ApiError(415, "unsupported_media_type", message)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {str(exc)[:200]}") from None


class Registry:
    """The endpoints of the API and the blueprint serving them."""

    def __init__(self, name: str) -> None:
        self.blueprint = Blueprint(name, __name__)
        self.endpoints: list[Endpoint] = []

    def route(self, endpoint: Endpoint, anonymous_read: bool) -> Callable[[Handler], Handler]:
        """Register `handler` for `endpoint`: authorize, validate, call, answer with endpoint.status."""

        def register(handler: Handler) -> Handler:
            async def view(**path: Any) -> tuple[Any, int]:
                principal = await auth.authorize(endpoint.access, anonymous_read)
                for name, value in path.items():
                    if isinstance(value, int) and not 1 <= value <= BIGINT_MAX:
                        raise ApiError(404, "not_found", f"{name} {value} does not exist")
                    if isinstance(value, str) and not TEXT_ID.fullmatch(value):
                        raise ApiError(404, "not_found", f"{name} {value[:80]!r} does not exist")
                query = endpoint.query.parse(request.args)
                body: dict[str, Any] = {}
                if endpoint.body is not None:
                    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                        raise ApiError(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
                    body = endpoint.body.parse(await _read_body())
                result = await handler(Call(principal, query, body, dict(path)))  # StoreError: the app maps it
                return result, endpoint.status

            view.__name__ = endpoint.operation_id
            self.blueprint.add_url_rule(endpoint.quart_rule(), endpoint.operation_id, view, methods=[endpoint.method])
            self.endpoints.append(endpoint)
            return handler

        return register
