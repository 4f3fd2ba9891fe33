"""Percentiles and result rows shared by the benchmarks (run by hand, not collected)."""

from __future__ import annotations

import statistics


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def header(label: str, clients: int, requests: int) -> str:
    """The title line of a table of timings in milliseconds."""
    return f"{label:32} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (ms, {clients} clients, {requests} requests)"


def row(name: str, timings: list[float]) -> str:
    """One line of that table: p50, p95, p99 and max."""
    return (f"{name:32} {statistics.median(timings):7.1f} {percentile(timings, 95):7.1f} "
            f"{percentile(timings, 99):7.1f} {max(timings):7.1f}")
