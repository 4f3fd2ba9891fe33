"""Declared request schemas: one declaration both validates requests and describes them in OpenAPI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from store.errors import ApiError

BIGINT_MAX = 2**63 - 1
DURATION = re.compile(r"^(\d{1,6})(s|m|h|d)$")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class FieldError(ValueError):
    """One field's value is wrong; the message says what was expected."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 time with a zone, as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise FieldError(f"{text!r} is not an RFC 3339 time such as 2026-11-26T19:03:00Z") from None
    if value.tzinfo is None:
        raise FieldError(f"{text!r} has no time zone: expected e.g. 2026-11-26T19:03:00Z")
    return value.astimezone(UTC)


def parse_since(text: str, now: datetime) -> datetime:
    """A duration back from now ('7d', '24h', '90m', '30s') or an RFC 3339 time."""
    match = DURATION.match(text.strip())
    if match:
        try:
            return now - timedelta(seconds=int(match.group(1)) * UNIT[match.group(2)])
        except OverflowError:  # 999999d reaches before year 1
            raise FieldError(f"{text!r} reaches too far back; expected a duration such as 7d") from None
    try:
        return parse_time(text)
    except FieldError:
        raise FieldError(f"{text!r}: expected a duration such as 7d, 24h, 30m or an RFC 3339 time") from None


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise FieldError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError("must be valid Unicode text") from None


@dataclass(frozen=True, slots=True)
class Field:
    """One query parameter, path parameter or body property."""

    name: str
    type: str  # "string" | "integer" | "boolean"
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None  # "date-time" is parsed into a datetime
    pattern: str | None = None
    repeated: bool = False
    default: Any = None
    nullable: bool = False
    max_items: int | None = None  # a repeated body field's longest array

    def json_schema(self) -> dict[str, Any]:
        """This field as JSON Schema (OpenAPI 3.1)."""
        schema: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type}
        for key, value in (
            ("enum", list(self.enum) if self.enum else None),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("format", self.format),
            ("pattern", self.pattern),
            ("default", self.default),
        ):
            if value is not None:
                schema[key] = value
        if self.repeated:
            items = {k: v for k, v in schema.items() if k != "default"}
            array: dict[str, Any] = {"type": "array", "items": items}
            if self.max_items is not None:
                array["maxItems"] = self.max_items
            if self.default is not None:
                array["default"] = self.default
            return array
        return schema

    def parse(self, raw: Any, *, from_text: bool) -> Any:
        """Check one value (query values arrive as text) and convert it; a body's repeated field is an array."""
        if self.repeated and not from_text:
            if not isinstance(raw, list):
                raise FieldError(f"expected an array, got {type(raw).__name__}")
            if self.max_items is not None and len(raw) > self.max_items:
                raise FieldError(f"expected at most {self.max_items} items")
            return [replace(self, repeated=False).parse(item, from_text=False) for item in raw]
        if raw is None and self.nullable:
            return None
        if self.type == "boolean":
            if not isinstance(raw, bool):
                raise FieldError(f"expected true or false, got {type(raw).__name__}")
            return raw
        if self.type == "integer":
            return self._integer(raw, from_text)
        if self.type == "boolean":
            if not isinstance(raw, bool):
                raise FieldError(f"expected true or false, got {str(raw)[:40]!r}")
            return raw
        if not isinstance(raw, str):
            raise FieldError(f"expected a string, got {type(raw).__name__}")
        _check_text(raw)
        if self.enum is not None and raw not in self.enum:
            raise FieldError(f"{raw!r} is not one of {', '.join(self.enum)}")
        if self.min_length is not None and len(raw) < self.min_length:
            raise FieldError(f"expected at least {self.min_length} characters")
        if self.max_length is not None and len(raw) > self.max_length:
            raise FieldError(f"expected at most {self.max_length} characters")
        if self.pattern is not None and not re.search(self.pattern, raw):
            raise FieldError(f"{raw[:80]!r} does not match {self.pattern}")
        if self.format == "date-time":
            return parse_time(raw)
        return raw

    def _integer(self, raw: Any, from_text: bool) -> int:
        if from_text and isinstance(raw, str) and re.fullmatch(r"-?\d{1,20}", raw.strip()):
            value = int(raw)
        elif not from_text and isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        else:
            raise FieldError(f"expected a whole number, got {str(raw)[:40]!r}")
        low = self.minimum if self.minimum is not None else -BIGINT_MAX
        high = self.maximum if self.maximum is not None else BIGINT_MAX
        if not low <= value <= high:
            raise FieldError(f"expected a number from {low} to {high}, got {value}")
        return value


def _invalid(problems: list[dict[str, str]], where: str) -> ApiError:
    first = problems[0]
    message = f"invalid {where}: {first['field']}: {first['message']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more)"
    return ApiError(422, "invalid_parameter" if where == "query" else "invalid_payload", message, problems)


@dataclass(frozen=True, slots=True)
class Query:
    """The query parameters an endpoint accepts; anything else is refused."""

    fields: tuple[Field, ...] = ()

    def parse(self, args: Any) -> dict[str, Any]:
        """Validate a MultiDict of query arguments into a dict (defaults filled in)."""
        known = {f.name: f for f in self.fields}
        problems = [
            {"field": name, "message": f"unknown parameter; expected one of: {', '.join(known) or 'none'}"}
            for name in args
            if name not in known
        ]
        values: dict[str, Any] = {}
        for f in self.fields:
            given = args.getlist(f.name)
            if not given:
                if f.required:
                    problems.append({"field": f.name, "message": "required"})
                values[f.name] = [] if f.repeated else f.default
                continue
            if len(given) > 1 and not f.repeated:
                problems.append({"field": f.name, "message": "given more than once; expected one value"})
                continue
            try:
                parsed = [f.parse(v, from_text=True) for v in given]
            except FieldError as exc:
                problems.append({"field": f.name, "message": str(exc)})
                continue
            values[f.name] = parsed if f.repeated else parsed[0]
        if problems:
            raise _invalid(problems, "query")
        return values

    def openapi(self) -> list[dict[str, Any]]:
        """The OpenAPI `parameters` of this query."""
        out = []
        for f in self.fields:
            param: dict[str, Any] = {
                "name": f.name,
                "in": "query",
                "required": f.required,
                "description": f.description,
                "schema": f.json_schema(),
            }
            if f.repeated:
                param.update(style="form", explode=True)
            out.append(param)
        return out


@dataclass(frozen=True, slots=True)
class Body:
    """A JSON object body: its properties; unknown ones are refused."""

    name: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    optional: bool = False  # an empty body counts as {}

    def parse(self, data: Any) -> dict[str, Any]:
        """Validate a decoded JSON value into a dict (defaults filled in)."""
        if data is None and self.optional:
            data = {}
        if not isinstance(data, dict):
            raise _invalid([{"field": "body", "message": f"expected a JSON object, got {type(data).__name__}"}], "body")
        known = {f.name: f for f in self.fields}
        problems = [{"field": str(k)[:80], "message": "unknown property"} for k in data if k not in known]
        values: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in data:
                if f.required:
                    problems.append({"field": f.name, "message": "required"})
                values[f.name] = f.default
                continue
            try:
                values[f.name] = f.parse(data[f.name], from_text=False)
            except FieldError as exc:
                problems.append({"field": f.name, "message": str(exc)})
        if problems:
            raise _invalid(problems, "body")
        return values

    def json_schema(self) -> dict[str, Any]:
        """The body as a JSON Schema object."""
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: {**f.json_schema(), "description": f.description} for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
        }
