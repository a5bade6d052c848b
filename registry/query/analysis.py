"""What a filter says about the rows it can match, decided in one place.

"Is this condition ``field = value`` on a column of the registry itself, and is that column
unique?" is asked by the compiler (``ORDER BY`` is dropped when at most one row can match),
by the query set (a unique column probed by equality gets an ART index) and by ``get``
(plain equalities are answered from the storage hash index without SQL). All three read the
answer from :func:`top_equalities` (per condition) and :func:`unique_equalities`.

Only conditions AND-ed at the top of a filter count: under ``|`` or ``~`` an equality no
longer restricts the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..schema import FieldSpec, RegistrySchema
from .lookups import LOOKUPS
from .paths import Path, field_of
from .q import AND, Q
from .query import Query

IN_PROBE_LIMIT = 1000  # ``field__in`` lists up to this long are probed value by value (longer ones are joined)


@dataclass(frozen=True)
class Equality:
    """``field = value`` (``lookup="exact"``) or ``field IN value`` (``"in"``) on a column of the
    registry itself. ``field`` is a value field, an FK id column or a forward FK (``created_by``)."""

    field: FieldSpec
    value: Any
    lookup: str


def equality(path: Path, value: Any) -> Equality | None:
    """The equality ``path = value`` states, or None (a relation hop, another lookup, a JSON or
    many-valued field)."""
    if path.hops or path.field.is_many or path.field.kind == "json":
        return None
    lookup = path.lookup or "exact"
    if lookup not in ("exact", "in"):
        return None
    return Equality(path.field, value, lookup)


def direct_path(schema: RegistrySchema, key: str) -> Path | None:
    """``key`` resolved when it names a field of ``schema`` itself (``name``, ``name__exact``,
    ``created_by``, ``created_by_id__in``); None when it follows a relation or is unknown.

    For conditions that were never resolved (``get(**expressions)``, a ``Query`` built without a
    schema map); resolved ones carry their ``Path`` already.
    """
    name, _, lookup = key.partition("__")
    if "__" in lookup or (lookup and lookup not in LOOKUPS):
        return None
    spec = field_of(schema, name)
    if spec is None:
        return None
    return Path(key, (), spec, schema, lookup or None)


def top_equalities(schema: RegistrySchema, where: Query | Mapping[str, Any]) -> Iterator[Equality | None]:
    """One item per condition AND-ed at the top of ``where`` (for a mapping of expressions, as
    ``get(**expressions)`` takes them: one per expression, in order): its equality, or None."""
    if isinstance(where, Query):
        for node in where.wheres:
            if node.negated or node.connector != AND:
                continue
            for child in node.children:
                if isinstance(child, Q):
                    continue
                key, value = child
                path = where.paths.get(key) or direct_path(schema, key)
                yield equality(path, value) if path is not None else None
        return
    for key, value in where.items():
        path = direct_path(schema, key)
        yield equality(path, value) if path is not None else None


def unique_equalities(
    schema: RegistrySchema, where: Query | Mapping[str, Any], *, in_lists: bool = False
) -> list[tuple[FieldSpec, Any]] | None:
    """The conditions ``unique_field = value`` (value not None) AND-ed at the top of ``where``,
    each of which pins at most one row; None when there is none.

    ``in_lists`` adds ``unique_field__in=[...]`` lists of at most ``IN_PROBE_LIMIT`` values: each
    value is one index probe (what the query set asks before building an ART index).
    """
    found = []
    for eq in top_equalities(schema, where):
        if eq is None or not eq.field.unique or eq.field.is_relation:
            continue
        if eq.lookup == "exact" and eq.value is not None:
            found.append((eq.field, eq.value))
        elif (
            in_lists
            and eq.lookup == "in"
            and isinstance(eq.value, (list, tuple, set, frozenset))
            and len(eq.value) <= IN_PROBE_LIMIT
        ):
            found.append((eq.field, eq.value))
    return found or None
