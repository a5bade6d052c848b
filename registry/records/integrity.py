"""Referential integrity: foreign keys point at live records, and deletes follow ``on_delete``.

Both checks run inside the writer's ``instance.transaction()``, against the tables as that
transaction sees them, so no other process can slip a delete in between check and commit.
They work on whole columns: a bulk save checks the distinct ids of each foreign-key column
against the target's sorted ids (one ``searchsorted``), never record by record.

Deleting follows each ``ForeignKey.on_delete`` as Django does: ``PROTECT`` refuses while a
record outside the delete points at one inside it, ``CASCADE`` deletes the pointing records
too (and what points at them), ``SET_NULL`` clears the pointing column. Many-to-many link rows
always go with either of their records. Everything is staged in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IntegrityError
from ..fields import ForeignKey, ManyToMany
from ..storage.table import int_values

SHOWN_IDS = 5  # ids listed in a message


def _label(model) -> str:
    """How a user spells the registry in a hint: ``bt.Gene``, ``ln.ULabel``."""
    return f"{'bt' if getattr(model, '_lookup_prefix', 'ln') == 'bt' else 'ln'}.{model.__name__}"


def _ids_text(ids: np.ndarray) -> str:
    shown = ", ".join(map(str, ids[:SHOWN_IDS].tolist()))
    return shown + (f", … ({len(ids)} in all)" if len(ids) > SHOWN_IDS else "")


def _present(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask of ``values`` found in ``ids`` (snapshots are sorted by id: a binary search each)."""
    if not len(ids):
        return np.zeros(len(values), bool)
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        return np.isin(values, ids)
    pos = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return ids[pos] == values


def check_references(model, rows: pa.Table | None, snapshot: Callable[[str], pa.Table]) -> None:
    """Raise ``IntegrityError`` if a foreign-key column of ``rows`` holds an id its target lacks.

    ``snapshot(table)`` returns a table as the writing transaction sees it.
    """
    if rows is None or not rows.num_rows:
        return
    for f in model._fields.values():
        if not isinstance(f, ForeignKey) or f.column not in rows.column_names:
            continue
        col = rows.column(f.column)
        if col.null_count == len(col):
            continue
        lo_hi = pc.min_max(col).as_py()
        if lo_hi["min"] == lo_hi["max"]:  # one id for the whole batch (created_by of a bulk save)
            values = np.array([lo_hi["min"]], np.int64)
        else:
            values = int_values(pc.unique(col.drop_null()))
        target = f.target_model()
        ids = int_values(snapshot(target._schema_table()).column("id"))
        missing = values[~_present(ids, values)]
        if len(missing):
            missing = np.sort(missing)
            n_rows = int(pc.sum(pc.is_in(col, value_set=pa.array(missing, pa.int64()))).as_py() or 0)
            who = f"a {model.__name__} record points" if n_rows == 1 else f"{n_rows} {model.__name__} records point"
            raise IntegrityError(
                f"{who} to no {target.__name__}: {model.__name__}.{f.column}="
                f"{_ids_text(missing)} (no {target.__name__} has {'this id' if len(missing) == 1 else 'these ids'}); "
                f"nothing was saved. Set {f.name} to a saved {target.__name__}, e.g. "
                f"{f.name}={_label(target)}.get(...), or save that {target.__name__} first"
            )


def check_linked(source, source_id: int, target, ids: np.ndarray, snapshot: Callable[[str], pa.Table]) -> None:
    """Raise ``IntegrityError`` unless the ``source`` record and every ``target`` id exist (before linking)."""
    src_ids = int_values(snapshot(source._schema_table()).column("id"))
    if not _present(src_ids, np.array([source_id], np.int64))[0]:
        raise IntegrityError(
            f"cannot link to {source.__name__} id={source_id}: it no longer exists (deleted, perhaps by another "
            f"process); nothing was linked. Load it again with {_label(source)}.get(...)"
        )
    values = np.asarray(ids, np.int64)
    missing = values[~_present(int_values(snapshot(target._schema_table()).column("id")), values)]
    if len(missing):
        raise IntegrityError(
            f"cannot link {source.__name__} id={source_id} to {target.__name__} id {_ids_text(missing)}: "
            f"no such {target.__name__} (deleted, perhaps by another process); nothing was linked. "
            f"Link saved records, e.g. {_label(target)}.get(...)"
        )


@dataclass
class DeletePlan:
    """What one delete touches: ids to delete and columns to clear, per registry."""

    deletes: dict = field(default_factory=dict)  # model -> sorted unique ids
    nulls: dict = field(default_factory=dict)  # model -> {column: ids of rows to clear}

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.deletes.values())


def plan_delete(model, ids: np.ndarray, registries: Mapping[str, type], snapshot) -> DeletePlan:
    """Collect the records a delete of ``model`` ``ids`` removes or changes; refuse on PROTECT.

    ``ids`` must exist. ``snapshot(table)`` is the transaction's view of a table.
    """
    plan = DeletePlan({model: np.unique(np.asarray(ids, np.int64))})
    referrers = _referrers(registries)
    queue = [(model, plan.deletes[model])]
    protected = []
    while queue:
        target, new_ids = queue.pop()
        for source, fk in referrers.get(target.__name__, ()):
            snap = snapshot(source._schema_table())
            if not snap.num_rows:
                continue
            hit = snap.filter(pc.fill_null(pc.is_in(snap.column(fk.column), value_set=pa.array(new_ids)), False))
            if not hit.num_rows:
                continue
            hit_ids = int_values(hit.column("id"))
            if fk.on_delete == "CASCADE":
                have = plan.deletes.get(source)
                fresh = hit_ids if have is None else np.setdiff1d(hit_ids, have)
                if len(fresh):
                    plan.deletes[source] = np.union1d(have, fresh) if have is not None else np.unique(fresh)
                    queue.append((source, fresh))
            elif fk.on_delete == "SET_NULL":
                cols = plan.nulls.setdefault(source, {})
                cols[fk.column] = np.union1d(cols.get(fk.column, np.empty(0, np.int64)), hit_ids)
            else:
                protected.append((source, fk, hit))
    for source, fk, hit in protected:
        hit_ids = int_values(hit.column("id"))
        outside = ~np.isin(hit_ids, plan.deletes.get(source, np.empty(0, np.int64)))
        if outside.any():
            _refuse(fk, source, hit.filter(pa.array(outside)), model, plan.deletes[model])
    for source, cols in plan.nulls.items():  # rows deleted anyway need no clearing
        gone = plan.deletes.get(source)
        if gone is not None:
            for col in cols:
                cols[col] = np.setdiff1d(cols[col], gone)
    return plan


def _refuse(fk: ForeignKey, source, hit: pa.Table, model, ids: np.ndarray) -> None:
    target = fk.target_model()
    refs = np.unique(int_values(hit.column(fk.column)))
    what = f"{model.__name__} id={int(ids[0])}" if len(ids) == 1 else f"{len(ids)} {model.__name__} records"
    arg = f"{fk.column}={int(refs[0])}" if len(refs) == 1 else f"{fk.column}__in={refs[:SHOWN_IDS].tolist()}"
    n = hit.num_rows
    raise IntegrityError(
        f"cannot delete {what}: {n} {source.__name__} record{'s' if n != 1 else ''} "
        f"(id {_ids_text(int_values(hit.column('id')))}) reference{'s' if n == 1 else ''} {target.__name__} "
        f"id {_ids_text(refs)} through {source.__name__}.{fk.name} (on_delete=PROTECT); nothing was deleted. "
        f"Delete or re-point them first, e.g. {_label(source)}.filter({arg}).delete()"
    )


def _referrers(registries: Mapping[str, Any]) -> dict[str, list]:
    """Target registry name -> [(source registry, ForeignKey)] over every concrete registry."""
    out: dict[str, list] = {}
    for source in registries.values():
        if source.__dict__.get("_abstract"):
            continue
        for f in source._fields.values():
            if isinstance(f, ForeignKey):
                out.setdefault(f.target, []).append((source, f))
    return out


def apply_delete(plan: DeletePlan, registries: Mapping[str, type], inst, tx) -> dict:
    """Stage ``plan`` in ``tx``: deletes, cleared columns and link rows; returns rows deleted per registry."""
    n = {}
    now = pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("us", tz="UTC"))
    touched = set(plan.deletes) | set(plan.nulls)
    for model in sorted(touched, key=lambda m: m.__name__):
        table = model._schema_table()
        ids = plan.deletes.get(model)
        updates = _cleared(model, plan.nulls.get(model, {}), tx.snapshot(table), now)
        if updates is not None:
            tx.commit(table, updates=updates)
        if ids is not None and len(ids):
            n[model] = tx.delete_rows(table, ids)
    for model, ids in plan.deletes.items():
        delete_links(model, ids, registries, inst, tx)
    return n


def _cleared(model, cols: dict, snap: pa.Table, now) -> pa.Table | None:
    """Full rows of ``model`` with the given columns set to null where their ids are listed."""
    cols = {c: ids for c, ids in cols.items() if len(ids)}
    if not cols:
        return None
    every = np.unique(np.concatenate(list(cols.values())))
    rows = snap.filter(pc.is_in(snap.column("id"), value_set=pa.array(every, pa.int64())))
    row_ids = rows.column("id")
    for col, ids in cols.items():
        clear = pc.is_in(row_ids, value_set=pa.array(ids, pa.int64()))
        i = rows.schema.get_field_index(col)
        empty = pa.nulls(rows.num_rows, rows.schema.field(col).type)
        rows = rows.set_column(i, col, pc.if_else(clear, empty, rows.column(col)))
    if "updated_at" in rows.column_names:
        i = rows.schema.get_field_index("updated_at")
        stamp = pa.array(np.full(rows.num_rows, now.value, np.int64)).cast(pa.timestamp("us", tz="UTC"))
        rows = rows.set_column(i, "updated_at", stamp.cast(rows.schema.field(i).type))
    return rows


def delete_links(model, ids: np.ndarray, registries: Mapping[str, Any], inst, tx) -> None:
    """Stage the removal of link-table rows that point to deleted ``model`` records."""
    value_set = pa.array(np.asarray(ids, np.int64), pa.int64())
    for owner in registries.values():
        if owner.__dict__.get("_abstract"):
            continue
        for f in owner._fields.values():
            if not isinstance(f, ManyToMany):
                continue
            s, t = f.link_columns
            cols = [c for c, m in ((s, owner), (t, f.target_model())) if m is model]
            if not cols:
                continue
            owner._ensure_tables(inst)
            snap = tx.snapshot(f.link_table)
            if not snap.num_rows:
                continue
            mask = None
            for c in cols:
                m = pc.is_in(snap.column(c), value_set=value_set)
                mask = m if mask is None else pc.or_(mask, m)
            hit = int_values(snap.filter(mask).column("id"))
            if len(hit):
                tx.delete_rows(f.link_table, hit)


__all__ = ["check_references", "check_linked", "plan_delete", "apply_delete", "delete_links", "DeletePlan"]
