"""Search a registry: exact and synonym hits first, then word matches, then typo-tolerant rapidfuzz hits.

``Registry.search(string)`` and ``QuerySet.search(string)`` land here. The ranking itself is
pure and lives in submodules (one concept each):

- ``normalize``: the folded and word-normalised forms that every comparison uses;
- ``candidates``: a registry's searchable values as one exploded, normalised table (cached per
  table version in the table's derived data, following commits);
- ``scoring``: the disjoint score bands of the tiers;
- ``rank``: one query -> ranked record positions and scores;
- ``batch``: many queries at once (a pandas DataFrame of the best matches per query).

What differs from LaminDB, on purpose: typos and missing spaces are found ("lymphocite",
"Tcell"); the score (0-100, exact hits 100) is a column of ``df()``; a record scores by its
best value instead of the sum over fields; uids only match exactly or by a 5+ character
prefix, and free-text descriptions only ever count as substring hits, so a short query does
not surface unrelated records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from registry.errors import FieldError, InvalidArgument, ValidationError, did_you_mean, shorten, text_error
from registry.records.declaration import RecordMeta
from registry.records.queryset import BasicQuerySet, queryset
from registry.search import batch as _batch
from registry.search import rank as _rank
from registry.search.candidates import FieldRole, build, cached, default_roles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["search", "search_positions", "resolve_fields"]

# Longer queries are refused: nothing stored is that long to be found by them, and the tiers'
# patterns and fuzzy scores grow with the query (a 10 MB query took seconds, then failed).
MAX_QUERY_LENGTH = 1_000

# Below this share of the registry, a filtered query set is searched by building candidates for
# its rows alone (cost ~ its size); above it, through the registry's cached candidates.
_SUBSET_SHARE = 0.1


def _scope(scope) -> tuple[Any, Any]:
    """(Record class, QuerySet or None) for a registry class or a query set."""
    if isinstance(scope, BasicQuerySet):
        return scope.model, scope
    if isinstance(scope, RecordMeta):
        return scope, None
    raise InvalidArgument(
        f"search needs a registry class (e.g. CellType) or one of its query sets, got {type(scope).__name__}"
    )


def resolve_fields(model: Any, field) -> list[FieldRole]:
    """The searched fields with their roles, in tie-break priority (see ``candidates.default_roles``).

    ``field``: None (every string field), a field name, a field object (``CellType.name``) or a
    list of them.
    """
    schema = model._schema
    strings = schema.string_fields()
    if field is None:
        return default_roles(strings, schema.name_field)
    items = list(field) if isinstance(field, (list, tuple)) else [field]
    if not items:
        raise InvalidArgument(f"field=[] searches nothing; pass field names such as {strings[:3]}, or None for all")
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            name = item
        else:
            attr = getattr(item, "name", None)
            owner = getattr(item, "model", None)
            if not isinstance(attr, str) or not isinstance(owner, type):
                raise InvalidArgument(
                    f"Please pass a string field, e.g. `{model.__name__}.{schema.name_field}` or "
                    f"'{schema.name_field}', not {type(item).__name__} {item!r}"
                )
            name = attr
            if not issubclass(model, owner):
                raise FieldError(f"{owner.__name__}.{name} is a field of {owner.__name__}, not of {model.__name__}")
        spec = schema.fields.get(name)
        if spec is None:
            raise FieldError(
                f"{model.__name__} has no field '{name}'{did_you_mean(name, strings)} "
                f"(searchable: {', '.join(strings)})"
            )
        if spec.kind != "str":
            raise InvalidArgument(
                f"{model.__name__}.{name} is not a string field; search takes string fields: {', '.join(strings)}"
            )
        if name not in names:
            names.append(name)
    return default_roles(names, schema.name_field)


def _check_limit(limit) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise InvalidArgument(f"limit must be a non-negative int or None (all hits), got {limit!r}")


def _source(model: Any, qs, roles: list[FieldRole], case_sensitive: bool):
    """(frame, candidates, allowed mask or None) to search for ``qs`` (or the whole registry)."""
    instance = qs.instance if qs is not None else model._resolve_instance(None)
    table, frame, version = model._versioned_snapshot_pl(instance)
    allowed = None
    if qs is not None and not qs._is_all():
        sub = qs.to_polars()
        if sub.height < _SUBSET_SHARE * frame.height:
            # id order, as in the snapshot, so ties break the same way on both paths
            sub = sub.sort("id")
            return sub, build(sub, roles, case_sensitive), None
        allowed = frame["id"].is_in(sub["id"].implode()).to_numpy()
    if version is None:
        return frame, build(frame, roles, case_sensitive), allowed
    return frame, cached(table, version, frame, roles, case_sensitive), allowed


def _is_batch(string) -> bool:
    if isinstance(string, (list, tuple, np.ndarray, pl.Series)):
        return True
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False
    return isinstance(string, (pd.Series, pd.Index))


def _check_query(string) -> None:
    if string is None:
        raise ValidationError("Cannot search for None value! Pass a string such as 'T cell' (or a list of strings).")
    if not isinstance(string, str):
        raise InvalidArgument(
            f"search takes a string or a list of strings, got {type(string).__name__} {shorten(string)}"
        )
    _check_text(string)


def _all_fine(queries: list[str]) -> bool:
    """Every query short enough and valid Unicode (checked in C, not query by query)."""
    if max(map(len, queries)) > MAX_QUERY_LENGTH:
        return False
    joined = "".join(queries)
    if joined.isascii():
        return True
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(string: str) -> None:
    """Refuse a query too long to mean anything, or one that is not valid Unicode."""
    if len(string) > MAX_QUERY_LENGTH:
        raise ValidationError(
            f"search query of {len(string):,} characters is too long (at most {MAX_QUERY_LENGTH:,}): "
            f"{shorten(string, 60)}; search for a few words of it instead"
        )
    bad = text_error(string, "search query")
    if bad is not None:
        raise bad


def search_positions(
    scope, string: str, *, field=None, limit: int | None = 20, case_sensitive: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Record ids (best first) and scores for one query, without building a QuerySet."""
    model, qs = _scope(scope)
    _check_query(string)
    _check_limit(limit)
    roles = resolve_fields(model, field)
    frame, cands, allowed = _source(model, qs, roles, case_sensitive)
    rows, scores = _rank.rank(cands, string, limit=limit, allowed=allowed)
    return frame["id"].gather(rows).to_numpy(), scores


def search(scope, string, *, field=None, limit: int | None = 20, case_sensitive: bool = False):
    """Search a registry (or a query set) by all its string fields or the given ones.

    Args:
        scope: a registry class (``bt.CellType``) or a QuerySet to search within.
        string: the query; a list (or Series/array) of queries runs a batch search.
        field: a field name, a field (``bt.CellType.name``) or a list of them; default: every
            string field (name, synonyms split on ``|``, abbr, ontology ids, description, uid).
        limit: maximum number of hits (per query in a batch); None returns all hits.
        case_sensitive: compare case-sensitively (default: case-folded).

    Returns:
        One query: a QuerySet ordered by score (best first) whose ``df()`` has a ``score``
        column (0-100; 100 = an exact value or a whole synonym). A batch: a pandas DataFrame
        with columns ``query``, ``rank``, ``uid``, the name field (``name``; ``symbol`` for
        Gene, ``handle`` for User) and ``score``, the best ``limit`` hits per distinct query
        in input order (queries without a hit, and missing values None/NaN, have no rows).

    Scores fall in disjoint bands per tier, so a better tier always ranks first: exact 100,
    whole words [90, 100), word start [80, 90), substring [70, 80), all words in any order
    [60, 70), typo-tolerant similarity [45, 60); see ``registry.search.scoring``. Regex
    metacharacters in the query are literal. A batch skips the "all words" tier and uid/id
    prefixes (see ``registry.search.batch``).

    >>> import registry.bio as bt  # doctest: +SKIP
    >>> hits = bt.CellType.search("Tcell")  # doctest: +SKIP
    >>> hits.df()[["name", "score"]].iloc[0].tolist()  # doctest: +SKIP
    ['T cell', 54.55]
    >>> bt.CellType.search(["t cell", "lymphocite"], limit=1)[["query", "name", "score"]]  # doctest: +SKIP
            query        name  score
    0      t cell      T cell  100.0
    1  lymphocite  lymphocyte   54.0
    """
    model, qs = _scope(scope)
    _check_limit(limit)
    roles = resolve_fields(model, field)
    if _is_batch(string):
        return _search_many(model, qs, list(string), roles, limit, case_sensitive)
    _check_query(string)
    frame, cands, allowed = _source(model, qs, roles, case_sensitive)
    rows, scores = _rank.rank(cands, string, limit=limit, allowed=allowed)
    ids = frame["id"].gather(rows).to_numpy()
    if qs is None or getattr(qs._query, "is_sliced", False):
        # A slice cannot be ranked (the QuerySet contract); the ids already carry the restriction.
        qs = queryset(model, qs.instance if qs is not None else None, read_only=getattr(qs, "read_only", False))
    return qs._ranked(ids, scores)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _search_many(model, qs, queries: list, roles, limit, case_sensitive) -> pd.DataFrame:
    # Missing values (None, NaN) in a column being mapped match nothing and get no rows.
    bad = [(i, q) for i, q in enumerate(queries) if not isinstance(q, str) and not _is_missing(q)]
    if bad:
        i, q = bad[0]
        raise InvalidArgument(
            f"a batch search takes strings; item {i} is {type(q).__name__} {shorten(q)} ({len(bad)} such items)"
        )
    unique = list(dict.fromkeys(q for q in queries if isinstance(q, str)))
    if unique and not _all_fine(unique):
        for q in unique:  # only when some query is bad: find it
            _check_text(q)
    frame, cands, allowed = _source(model, qs, roles, case_sensitive)
    ranked = _batch.rank_many(cands, unique, limit=limit, allowed=allowed)
    name_field = model._schema.name_field
    rows = ranked["row"]
    out = pl.DataFrame(
        {
            "query": pl.Series(unique, dtype=pl.String).gather(ranked["qidx"]),
            "rank": ranked["rank"].cast(pl.Int64),
            "uid": frame["uid"].gather(rows),
            name_field: frame[name_field].gather(rows),
            "score": ranked["score"],
        }
    )
    return out.to_pandas()
