"""Opaque cursors: the last row's sort key as base64url JSON, checked on the way back in."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from store.errors import ApiError
from web.api.schema import BIGINT_MAX, FieldError, parse_time


def encode(kind: str, key: tuple[Any, ...] | None) -> str | None:
    """The cursor that continues after `key` in list `kind` (None: no further page)."""
    if key is None:
        return None
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"k": kind, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(reason: str) -> ApiError:
    return ApiError(
        422,
        "invalid_parameter",
        f"invalid query: cursor: {reason}; pass next_cursor from the previous page unchanged",
        [{"field": "cursor", "message": reason}],
    )


def decode(cursor: str | None, kind: str, kinds: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The key a cursor stands for, checked against the list `kind` and its key kinds; 422 naming cursor."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad("not a cursor this server made") from None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise _bad(f"made for another list or sort, not {kind}")
    values = data.get("v")
    if not isinstance(values, list) or len(values) != len(kinds):
        raise _bad("malformed")
    key: list[Any] = []
    for value, expected in zip(values, kinds, strict=True):
        if expected == "int":
            if not isinstance(value, int) or isinstance(value, bool) or not -BIGINT_MAX <= value <= BIGINT_MAX:
                raise _bad("malformed")
            key.append(value)
        else:
            if not isinstance(value, str):
                raise _bad("malformed")
            try:
                key.append(parse_time(value))
            except FieldError:
                raise _bad("malformed") from None
    return tuple(key)
