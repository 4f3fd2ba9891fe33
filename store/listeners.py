"""After-commit listeners: a service tells them what it committed (the composition root adds metrics here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Listeners(Generic[T]):
    """Functions told of each committed result; a listener's failure is logged, never raised into the service."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._listeners: list[Callable[[T], None]] = []

    def add(self, listener: Callable[[T], None]) -> None:
        """Be told of every result (once per listener)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove(self, listener: Callable[[T], None]) -> None:
        """Stop being told."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def announce(self, result: T) -> T:
        """Tell every listener; a listener's bug must not turn a committed change into an error."""
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:
                log.exception("%s listener failed", self.what)
        return result
