"""Errors with a stable code that every transport can show (HTTP maps them to a status)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error for the caller: HTTP status, stable code, message, and details naming fields."""

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


class DatabaseUnavailable(ApiError):
    """PostgreSQL cannot be reached right now; the caller should retry."""

    def __init__(self, message: str = "the database is unavailable; retry later") -> None:
        super().__init__(503, "database_unavailable", message)
        self.headers = {"Retry-After": "5"}
