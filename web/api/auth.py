"""Bearer-token authentication and roles: 401 for a missing, unknown or revoked token, 403 for a role too low."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from quart import current_app, request

from store.domain.tokens import Role, role_allows
from store.errors import ApiError
from store.runtime import Runtime
from store.throttle import auth_guard
from store.tokens import Principal, authenticate

ANONYMOUS = Principal("anonymous", Role.VIEWER, "anonymous")
READ, WRITE, ADMIN = "read", "write", "admin"
NEEDED = {READ: Role.VIEWER, WRITE: Role.RESPONDER, ADMIN: Role.ADMIN}


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, "unauthorized", message)
    error.headers = {"WWW-Authenticate": 'Bearer realm="tocsin"'}
    return error


def _bearer() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def _principal() -> Principal:
    token = _bearer()
    if token is None:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (tocsin token create)")
    runtime: Runtime = current_app.extensions["tocsin"]
    principal = await authenticate(runtime.db, token)  # Unavailable (503) when the database is down
    if principal is None:
        raise _unauthorized("unknown or revoked token")
    return principal


async def authorize(access: str, anonymous_read: bool) -> Principal:
    """The caller, allowed to `access` ('read', 'write' or 'admin'); raises 401 or 403 (429 after repeated 401s)."""
    if "Authorization" not in request.headers and access == READ and anonymous_read:
        return ANONYMOUS
    async with auth_guard(current_app.extensions, request, "api"):
        principal = await _principal()
    needed = NEEDED[access]
    if not role_allows(principal.role, needed):
        raise ApiError(
            403, "forbidden", f"token {principal.name!r} has role {principal.role}; this needs {needed} or better"
        )
    return principal

View = Callable[..., Awaitable[Any]]


def guard_for(access: str, anonymous_read: bool = False) -> Callable[[View], View]:
    """A decorator that lets only callers allowed to `access` call a view."""

    def guard(view: View) -> View:
        @functools.wraps(view)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            await authorize(access, anonymous_read)
            return await view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return guard


def admin_guard() -> Callable[[View], View]:
    """Only admin tokens: for tokens, config versions, maintenance windows and heartbeats' management."""
    return guard_for(ADMIN)


def read_guard(anonymous_read: bool) -> Callable[[View], View]:
    """A decorator that lets only viewers or better (or anyone, with ANONYMOUS_READ) call a view."""
    return guard_for(READ, anonymous_read)
