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

from .inputs import as_values
from .matching import CASE, EXACT, NONE, SYNONYM, match
from .record_list import RecordList
from .reporting import call_literal, logger, quoted
from .scope import resolve


def from_values(scope, values, field=None, create: bool = False, organism=None, source=None, mute: bool = False) -> RecordList:
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
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    uniques = vals.uniques()
    if len(uniques) == 0:
        return RecordList()
    use_syn = fname == sc.schema.name_field and sc.has_field("synonyms")
    index = sc.index(fname, "synonyms" if use_syn else None)
    if uniques.dtype != index.names.dtype:
        try:
            uniques = uniques.cast(index.names.dtype)
        except pl.exceptions.PolarsError:
            pass
    m = match(index, uniques, case_sensitive=False, keep="first", synonyms=use_syn).with_row_index("__order")

    found = m.filter(pl.col("tier") != NONE)
    rows = (
        found.select("__order", "name")
        .join(
            index.frame.select(pl.col(index.field).alias("name")).with_row_index("__row"),
            on="name",
            how="inner",
        )
        .sort("__order", "__row")
        .unique(subset="__row", keep="first", maintain_order=True)
    )
    existing = sc.records(rows.get_column("__row").to_numpy())
    order = rows.get_column("__order").to_numpy()

    missing = m.filter(pl.col("tier") == NONE)
    new_records: list = []
    if create and missing.height:
        new_records = _build_new(sc, fname, missing.get_column("value").to_list(), organism, source)
    if new_records:
        order = np.concatenate([order, missing.get_column("__order").to_numpy()])
        pool = existing + new_records
        perm = np.argsort(order, kind="stable")
        records = RecordList(pool[i] for i in perm)
    else:
        records = RecordList(existing)

    if not mute:
        _log(sc, fname, m, len(existing), new_records, create)
    return records


def _build_new(sc, field: str, values: list, organism, source) -> list:
    """Unsaved records, one per value; organism/source set when the registry has them."""
    extra = {}
    for name, value in (("organism", organism), ("source", source)):
        if value is not None and sc.has_field(name):
            restricted = dict(sc.restriction)
            extra[sc.column(name)] = restricted.get(name)
    model = sc.model
    # one constructor call per new value: each record is a Python object the user will save
    return [model(**{field: v}, **extra) for v in values]


def _log(sc, field: str, m: pl.DataFrame, n_existing: int, new_records: list, create: bool) -> None:
    label = sc.model.__name__
    tier = m.get_column("tier")
    exact = m.filter(tier == EXACT).get_column("value")
    mapped = m.filter((tier == CASE) | (tier == SYNONYM))
    if len(exact):
        logger.info(f"loaded {len(exact)} {label} records matching {field}: {quoted(exact.to_list(), total=len(exact))}")
    if mapped.height:
        pairs = list(zip(mapped.get_column("value").to_list(), mapped.get_column("name").to_list()))
        shown = ", ".join(f"{v!r} → {n!r}" for v, n in pairs[:10]) + (", ..." if len(pairs) > 10 else "")
        logger.important(
            f"{len(pairs)} value{'s' if len(pairs) != 1 else ''} resolved to existing {label} records via casing/synonyms: {shown}"
        )
    missing = m.filter(tier == NONE).get_column("value").to_list()
    if not missing:
        return
    if create:
        logger.info(
            f"created {len(new_records)} new {label} records for {field}: {quoted(missing, total=len(missing))} "
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
