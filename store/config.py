"""Read the config file (TOCSIN_CONFIG): YAML to a checked Config, or every problem as one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from store.domain.config_schema import Config, ConfigError, parse_config
from store.domain.routing import Route


class ConfigFileError(Exception):
    """The config file cannot be used; `lines` holds one `FILE: PATH: what; expected ...` line per problem."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class _Loader(yaml.SafeLoader):
    """The safe loader, also noting keys written twice in one mapping (PyYAML silently keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                self.duplicates.append((key_node.start_mark.line + 1, key))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str, source: str) -> Any:
    """Parse YAML safely; ConfigFileError for a syntax error (with its line) or a key written twice."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise ConfigFileError([_syntax_line(exc, source)]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([f"{source}: not valid YAML ({exc}); expected a YAML document"]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigFileError(
            [
                f"{source}: line {line}: key {key!r} is written twice in one mapping; expected each key once"
                for line, key in sorted(loader.duplicates, key=lambda d: d[0])
            ]
        )
    return data


def _syntax_line(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    error = f"{exc.context}: {exc.problem}" if exc.context else exc.problem
    if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        error = f"{exc.context} started at line {exc.context_mark.line + 1}: {exc.problem}"
    return f"{source}: {where}YAML syntax error: {error}; expected valid YAML (check indentation and quotes)"


def parse_config_text(text: str, source: str, default_route: Route | None = None) -> Config:
    """Check a config file's text; ConfigFileError lists every problem, one line each (`source` names it)."""
    data = read_yaml(text, source)
    try:
        return parse_config(data, default_route)
    except ConfigError as exc:
        raise ConfigFileError(exc.lines(source)) from None


def read_config_text(path: Path) -> str:
    """The config file's text; ConfigFileError when it cannot be read."""
    source = str(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError([f"{source}: no such file; expected TOCSIN_CONFIG to name the config file"]) from None
    except IsADirectoryError:
        raise ConfigFileError([f"{source}: is a directory; expected TOCSIN_CONFIG to name a YAML file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError([f"{source}: byte {exc.start} is not UTF-8; expected a UTF-8 text file"]) from None
    except OSError as exc:
        raise ConfigFileError([f"{source}: cannot be read ({exc.strerror}); expected a readable file"]) from None


def load_config(path: Path, default_route: Route | None = None) -> Config:
    """Read and check the config file; ConfigFileError lists every problem, one line each."""
    return parse_config_text(read_config_text(path), str(path), default_route)
