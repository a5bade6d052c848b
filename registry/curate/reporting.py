"""Wording of curation log lines: examples, counts and copy-pasteable next calls.

LaminDB's messages are kept where users know them ("3 unique terms (50.0%) are not
validated for name: ..."); hints name the exact call to run next, since users of
``standardize`` were bitten by values passing through silently (lamindb#2286).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import MAX_SHOWN, shorten
from ..logging import logger

MAX_EXAMPLES = 10
MAX_LITERAL = 20  # longest list printed inside a copy-pasteable call


def quoted(values: Iterable, n: int = MAX_EXAMPLES, total: int | None = None) -> str:
    """``'a', 'b', ...`` with at most ``n`` items; ``total`` says how many there are."""
    items = []
    for i, v in enumerate(values):
        if i == n:
            break
        items.append(shorten(v, 80))  # a 10 MB value never floods the log
    count = total if total is not None else len(items)
    more = ", ..." if count > len(items) else ""
    return ", ".join(items) + more


def terms(n: int) -> str:
    return f"{n} unique term" + ("" if n == 1 else "s")


def pct(part: int, whole: int) -> float:
    return round(part / whole * 100, 1) if whole else 0.0


def registry_label(model) -> str:
    """How a user spells the registry: ``bt.CellType`` for bio registries, ``ln.ULabel`` otherwise."""
    if model is None:
        return "Registry"
    prefix = "bt" if getattr(model, "_lookup_prefix", "ln") == "bt" else "ln"
    return f"{prefix}.{model.__name__}"


def call_literal(values: list, limit: int = MAX_LITERAL) -> str | None:
    """``['a', 'b']`` when short enough to paste, else None (callers then point at a variable)."""
    if len(values) > limit:
        return None
    text = "[" + ", ".join(repr(v) for v in values) + "]"
    return text if len(text) <= MAX_SHOWN else None  # too long to paste: callers point at a variable


__all__ = ["logger", "quoted", "terms", "pct", "registry_label", "call_literal"]
