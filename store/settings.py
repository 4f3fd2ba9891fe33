"""The settings the store needs, handed over by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where PostgreSQL is and how many connections to keep."""

    url: str | None = None  # None: embedded PostgreSQL under data_dir
    max_open_conns: int = 10
    max_idle_conns: int = 2
    conn_max_lifetime: float = 300.0
    data_dir: Path = Path("./tocsin-data")
