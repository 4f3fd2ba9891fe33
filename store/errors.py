"""Errors: the store's domain errors, and the HTTP error shape the transports answer with.

Store services raise only domain errors (StoreError): not found, not allowed, a conflict with the current state (an
invalid transition), an invalid value, or a backend (the database, Alertmanager) unavailable. Each
transport maps them once: the API and the dashboard to HTTP statuses (web/errors.py), the chat core to
words (bot/actions.py).
"""

from __future__ import annotations

from typing import Any

import asyncpg


class StoreError(Exception):
    """A domain error: a stable code, a message for people, and details naming fields."""

    code = "error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code


class NotFound(StoreError, LookupError):
    """The thing asked for does not exist."""

    code = "not_found"

    @classmethod
    def incident(cls, incident_id: int) -> NotFound:
        """The one way an unknown incident is told: 'incident #N does not exist'."""
        return cls(f"incident #{incident_id} does not exist")


class Conflict(StoreError):
    """An action that makes no sense in the current state (an invalid transition, a name taken, silences off)."""

    code = "invalid_transition"


class Forbidden(StoreError):
    """The actor's role does not allow this (a responder changing someone else's override, say)."""

    code = "forbidden"


class Invalid(StoreError, ValueError):
    """A value that is not acceptable; `field` names it."""

    code = "invalid_payload"

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}], code)
        self.field = field


class Stale(StoreError):
    """A change based on a version that is no longer current: someone saved since it was read."""

    code = "precondition_failed"


class VersionRequired(StoreError):
    """A change that does not say which version it edited."""

    code = "precondition_required"


class Unavailable(StoreError):
    """A backend (the database, Alertmanager) cannot be reached or refused; retrying later may work."""

    code = "database_unavailable"

    @classmethod
    def database(cls, exc: BaseException | None = None) -> Unavailable:
        """The database is away (the cause's type only: its text may hold addresses or credentials)."""
        cause = f" ({type(exc).__name__})" if exc is not None else ""
        return cls(f"the database is unavailable{cause}; retry later")


# Errors that mean "PostgreSQL is not there right now" rather than "this request is wrong".
UNAVAILABLE = (
    Unavailable,
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
# A statement that ran past its connection's statement_timeout or lock_timeout: rolled back, try again later.
TIMED_OUT = (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError)


class ApiError(Exception):
    """An HTTP error for the caller: status, stable code, message, and details naming fields."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        """The JSON error body of CONTRACT section 3."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def internal_error() -> ApiError:
    """500 for an error nobody expected (its traceback goes to the log, never to the caller)."""
    return ApiError(500, "internal_error", "an unexpected error occurred; see the server log")


class DatabaseUnavailable(ApiError):
    """PostgreSQL cannot be reached right now; the caller should retry."""

    def __init__(self, message: str = "the database is unavailable; retry later") -> None:
        super().__init__(503, "database_unavailable", message)
        self.headers = {"Retry-After": "5"}


STATUSES: tuple[tuple[type[StoreError], int], ...] = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Stale, 412),
                                                      (Invalid, 422), (VersionRequired, 428), (Unavailable, 503))


def http_error(error: StoreError) -> ApiError:
    """The HTTP answer of a domain error: 404, 409, 412, 422, 428 or 503 (with Retry-After)."""
    status = next((s for kind, s in STATUSES if isinstance(error, kind)), 500)
    if isinstance(error, Unavailable) and error.code == "database_unavailable":
        return DatabaseUnavailable(error.message)
    answer = ApiError(status, error.code, error.message, error.details)
    if status == 503:
        answer.headers = {"Retry-After": "5"}
    return answer
