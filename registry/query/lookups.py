"""The lookup table (``exact``, ``icontains``, ``in`` …) and the coercion of filter values.

Regular lookups are one row of ``LOOKUPS``: an SQL template with one ``?`` per parameter and
how to turn the user's value into that parameter. ``in``, ``range`` and ``isnull`` are
irregular and compiled by the translator itself. Case-sensitive substring lookups use
DuckDB's literal string functions (``contains``, ``starts_with``, ``ends_with``), so no value
is ever read as a pattern; the case-insensitive ones use ``ILIKE`` with ``%`` and ``_``
escaped (an ``ESCAPE`` clause is added only when the value holds one: it costs DuckDB ~2x).
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError, shorten

# Kinds of the value a lookup compares against.
TEXT_KINDS = ("str",)
ORDERED_KINDS = ("str", "int", "float", "datetime")


@dataclass(frozen=True)
class LookupRule:
    """How one filter lookup (``icontains``) compiles: its SQL (``{col}`` is the column, ``?`` the
    parameter) and value rules. (Not ``curate``'s ``Lookup``, the attribute access to records.)

    ``text`` lookups compare strings: a non-string column is cast to VARCHAR and the value
    converted with ``str``. ``kinds`` lists the column kinds the lookup applies to.
    """

    name: str
    template: str | None
    kinds: tuple[str, ...]
    text: bool = False
    pattern: Callable[[str], str] | None = None  # builds an ILIKE pattern from the value


def like_escape(value: str) -> str:
    """Escape ILIKE metacharacters so ``value`` matches literally (escape char ``\\``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def needs_like_escape(value: str) -> bool:
    return "%" in value or "_" in value


_ALL = ("str", "int", "float", "datetime", "bool")
_NUMERIC_TEXT = ("str", "int", "float", "datetime")

LOOKUPS: dict[str, LookupRule] = {
    lk.name: lk
    for lk in [
        LookupRule("exact", "{col} = ?", _ALL),
        LookupRule("iexact", "lower({col}) = lower(?)", _NUMERIC_TEXT, text=True),
        LookupRule("contains", "contains({col}, ?)", _NUMERIC_TEXT, text=True),
        LookupRule("icontains", "{col} ILIKE ?", _NUMERIC_TEXT, text=True, pattern=lambda v: f"%{v}%"),
        LookupRule("startswith", "starts_with({col}, ?)", _NUMERIC_TEXT, text=True),
        LookupRule("istartswith", "{col} ILIKE ?", _NUMERIC_TEXT, text=True, pattern=lambda v: f"{v}%"),
        LookupRule("endswith", "ends_with({col}, ?)", _NUMERIC_TEXT, text=True),
        LookupRule("iendswith", "{col} ILIKE ?", _NUMERIC_TEXT, text=True, pattern=lambda v: f"%{v}"),
        LookupRule("gt", "{col} > ?", ORDERED_KINDS),
        LookupRule("gte", "{col} >= ?", ORDERED_KINDS),
        LookupRule("lt", "{col} < ?", ORDERED_KINDS),
        LookupRule("lte", "{col} <= ?", ORDERED_KINDS),
        LookupRule("regex", "regexp_matches({col}, ?)", _NUMERIC_TEXT, text=True),
        LookupRule("iregex", "regexp_matches({col}, ?, 'i')", _NUMERIC_TEXT, text=True),
        # Irregular ones: compiled by the translator.
        LookupRule("in", None, _ALL),
        LookupRule("range", None, ORDERED_KINDS),
        LookupRule("isnull", None, _ALL + ("json",)),
    ]
}

# Lookups allowed on a relation itself (``created_by=user``, ``ulabels__in=[...]``): they compare ids.
RELATION_LOOKUPS = ("exact", "in", "isnull")
FK_LOOKUPS = ("exact", "in", "isnull", "gt", "gte", "lt", "lte", "range")


def supported_for(kind: str) -> list[str]:
    return sorted(name for name, lk in LOOKUPS.items() if kind in lk.kinds)


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def coerce(value: Any, kind: str, label: str) -> Any:
    """Return ``value`` as the Python type DuckDB should bind for a column of ``kind``.

    ``label`` names the field in errors (``ULabel.id``). Follows Django's ``get_prep_value``:
    numbers are accepted for string fields (as their ``str``), numeric strings for number
    fields; anything else is a ``ValidationError`` naming field, value and expected type.
    """
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return str(value)
        raise ValidationError(f"{label} expects a string, got {describe(value)}")
    if kind == "int":
        if isinstance(value, bool):
            raise ValidationError(f"{label} expects an integer, got {describe(value)}")
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(float(value))
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ValidationError(f"{label} expects an integer, got {describe(value)}")
    if kind == "float":
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValidationError(f"{label} expects a number, got {describe(value)}")
    if kind == "bool":
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        raise ValidationError(f"{label} expects True or False, got {describe(value)}")
    if kind == "datetime":
        return _coerce_datetime(value, label)
    raise ValidationError(f"{label} ({kind}) can only be filtered with __isnull, got {describe(value)}")


def _coerce_datetime(value: Any, label: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                f"{label} expects a datetime or an ISO 8601 string such as '2024-01-31T12:00', got {describe(value)}"
            ) from None
    elif hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    elif type(value).__name__ == "datetime64":
        value = value.astype("datetime64[us]").astype(dt.datetime)
    if isinstance(value, dt.datetime):
        # Naive datetimes are taken as UTC: records store created_at/updated_at in UTC.
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise ValidationError(f"{label} expects a datetime, got {describe(value)}")


MAX_PATTERN = 10_000  # characters; compiling a pattern costs more than linear time in its length


def check_regex(value: str, label: str) -> None:
    """Reject patterns Python cannot compile, before DuckDB fails with a less helpful message."""
    if len(value) > MAX_PATTERN:
        raise ValidationError(
            f"{label}: a regular expression of {len(value):,} characters is too long (at most {MAX_PATTERN:,}): "
            f"{shorten(value, 60)}"
        )
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"{label}: invalid regular expression {shorten(value)}: {shorten(str(exc))}") from None
