"""``from_values``: records for a list of identifiers, existing ones resolved in one join.

LaminDB runs ``standardize`` then one ``filter(name__in=...)`` query, which breaks past
SQLite's host-parameter limit (~57k values, lamindb#2030) and returns records in database
order. Here the unique values are matched against the cached snapshot (exact, casing,
synonyms) and the matching rows are taken from the Arrow snapshot in one ``take``: no query
per value, no parameter limit, and records come back in input order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..errors import shorten
from ..fields import JSON
from .matching import Tier, encode, first_in_input, gather_rows, match_encoded
from .record_list import RecordList, _Pending
from .reporting import call_literal, logger, quoted
from .scope import prepare


def from_values(
    scope, values, field=None, create: bool = False, organism=None, source=None, mute: bool = False
) -> RecordList:
    """Records for ``values``: existing ones where the value (or a casing/synonym variant) exists.

    Args:
        values: identifiers (list, array, pandas/polars Series, or one string).
        field: the field the values are for (default: the registry's name field).
        create: also build new, **unsaved** records for values that match nothing; save
            them with ``records.save()``.
        organism: restrict matching (and set new records' organism) for registries with an
            organism field, given as an Organism record, id or name.
        source: restrict matching (and set new records' source) for registries with a
            source field.
        mute: no logging.

    Returns:
        A ``RecordList`` in input order of first occurrence, one record per distinct
        value. A value matching several records (duplicate names) yields all of them, in
        save order; a record reached by several values (``"T cell"`` and ``"T-cell"``)
        appears once.

    Differences from LaminDB, on purpose: records come back in input order (LaminDB: database
    order); ``create=True`` also resolves casing and synonyms, so ``"T-cell"`` returns the
    existing ``T cell`` record instead of a new duplicate, and duplicated input values give
    one new record, not several; values that are skipped are logged as a warning with the
    exact call that would create them.

    >>> ln.ULabel.from_values(["benchmark", "prediction", "test"])  # doctest: +SKIP
    """
    sc, fname, index, vals = prepare(scope, values, field, organism=organism, source=source)
    use_syn = index.synonyms_field is not None
    series = vals.series
    if series.dtype == pl.String:
        series = series.set(series == "", None)  # empty strings are not identifiers
    enc = encode(series)
    if len(enc) == 0:
        return RecordList()
    m = match_encoded(index, enc, case_sensitive=False, keep="first", synonyms=use_syn)
    first = enc.first
    rows, keys = _existing_rows(index, m)

    missing = np.flatnonzero(m.tier == Tier.NONE)
    missing = missing[np.argsort(first[missing], kind="stable")]
    missing_values = enc.values.gather(missing).to_list()
    new_records: list = []
    from_source = getattr(sc.model, "_records_from_source", None)
    if from_source is not None and missing_values and sc.base is not None:
        # bio registries: values the registry lacks are built from the public source (unsaved);
        # a filtered query set keeps its restriction (sc.base is None), as for the other matchers
        found = from_source(missing_values, fname, dict(sc.restriction).get("organism"), source, sc.instance)
        hit = np.array([r is not None for r in found], dtype=bool)
        if create:
            todo = [v for v, h in zip(missing_values, hit.tolist(), strict=True) if not h]
            plain = iter(_build_new(sc, fname, todo, organism, source) if todo else [])
            new_records = [r if r is not None else next(plain) for r in found]
        else:
            new_records = [r for r in found if r is not None]
            missing = missing[hit]  # the positions of the values new_records stand for
        if hit.any() and not mute:
            logger.info(f"created {int(hit.sum())} {sc.model.__name__} records from the public source")
        missing_values = [v for v, h in zip(missing_values, hit.tolist(), strict=True) if not h]
        # two values naming one source term ("T-cell", "T lymphocyte") share one record
        first_of = {id(r): i for i, r in reversed(list(enumerate(new_records)))}
        distinct = sorted(first_of.values())
        if len(distinct) < len(new_records):
            new_records = [new_records[i] for i in distinct]
            missing = missing[np.asarray(distinct, dtype=np.int64)]
    elif create and missing_values:
        new_records = _build_new(sc, fname, missing_values, organism, source)
    if new_records:
        all_keys = np.concatenate([keys, first[missing]])
        order = np.argsort(all_keys, kind="stable")
    else:
        order = None

    def build() -> list:
        pool = sc.records(rows)
        if order is None:
            return pool
        pool += new_records
        return [pool[i] for i in order.tolist()]

    records = RecordList._lazy(_Pending(len(rows) + len(new_records), build, new_records, lambda: _frame(sc, rows)))
    if not mute:
        _log(sc, fname, index, m, missing_values, len(new_records), create)
    return records


def _existing_rows(index, m) -> tuple[np.ndarray, np.ndarray]:
    """Reference rows of the records the matched values found, and the input position of the
    value that found each: in input order, each record once.

    A matched name shared by several records (duplicate names) finds all of them, in save
    order; without duplicate names (the usual case) the matcher's rows are the answer.
    """
    mapped = np.flatnonzero(m.tier != Tier.NONE)
    first = m.enc.first
    name_index = index.name_index()
    if name_index.has_duplicates:
        left, right = name_index.find_all(m.names(index).gather(mapped))
        counts = right - left
        total = int(counts.sum())
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = name_index.rows[np.repeat(left, counts) + offsets]
        keys = np.repeat(first[mapped], counts)
        order = np.lexsort((rows, keys))
    else:
        rows, keys = m.row[mapped], first[mapped]
        order = np.argsort(keys)  # keys (first input positions) are distinct
    rows, keys = rows[order], keys[order]
    # several values can reach one record ("T cell", "T-cell"): keep its first
    if len(rows) > 1:
        _, keep_at = np.unique(rows, return_index=True)
        if len(keep_at) < len(rows):
            keep_at.sort()
            rows, keys = rows[keep_at], keys[keep_at]
    return rows, keys


def _frame(sc, rows: np.ndarray):
    """``RecordList.df()`` of existing records straight from the snapshot rows (no objects)."""
    import json

    import pandas as pd

    model = sc.model
    columns = [c for c in model._schema.columns if c != "updated_at"]
    sub = sc.frame[pl.Series(rows, dtype=pl.Int64)]
    json_cols = {f.column for f in model._value_fields() if isinstance(f, JSON)}
    data = {}
    for c in columns:
        values = sub.get_column(c).to_list() if c in sub.columns else [None] * len(rows)
        if c in json_cols:
            values = [json.loads(v) if v is not None else None for v in values]
        data[c] = values
    return pd.DataFrame(data, columns=columns)


def _build_new(sc, field: str, values: list, organism, source) -> list:
    """Unsaved records, one per value; organism/source set when the registry has them."""
    extra = {}
    restricted = dict(sc.restriction)  # also holds a default organism (bt.settings.organism)
    for name in ("organism", "source"):
        if name in restricted and sc.has_field(name):
            extra[sc.column(name)] = restricted[name]
    model = sc.model
    # one constructor call per new value: each record is a Python object the user will save
    return [model(**{field: v}, **extra) for v in values]


def _log(sc, field: str, index, m, missing: list, n_new: int, create: bool) -> None:
    label = sc.model.__name__
    tiers = m.tier
    exact = np.flatnonzero(tiers == Tier.EXACT)
    mapped = np.flatnonzero((tiers == Tier.CASE) | (tiers == Tier.SYNONYM))
    values = m.enc.values
    if len(exact):
        shown = values.gather(first_in_input(m.enc, exact, 10)).to_list()
        logger.info(f"loaded {len(exact)} {label} records matching {field}: {quoted(shown, total=len(exact))}")
    if len(mapped):
        shown_idx = first_in_input(m.enc, mapped, 10)
        pairs = zip(
            values.gather(shown_idx).to_list(), gather_rows(index.names, m.row[shown_idx]).to_list(), strict=True
        )
        shown = ", ".join(f"{shorten(v, 80)} → {shorten(n, 80)}" for v, n in pairs) + (
            ", ..." if len(mapped) > 10 else ""
        )
        logger.important(
            f"{len(mapped)} value{'s' if len(mapped) != 1 else ''} resolved to existing {label} records via casing/synonyms: {shown}"
        )
    if not missing:
        return
    if create:
        logger.info(
            f"created {n_new} new {label} records for {field}: {quoted(missing, total=len(missing))} "
            f"(not saved yet: call .save() on the returned list)"
        )
        return
    literal = call_literal(missing)
    arg = literal if literal is not None else "values"
    logger.warning(
        f"did not create {label} records for {len(missing)} non-validated {field}"
        f"{'s' if len(missing) != 1 else ''}: {quoted(missing, total=len(missing))}\n"
        f"→  to create them: {sc.label}.from_values({arg}, field={field!r}, create=True).save()"
    )
