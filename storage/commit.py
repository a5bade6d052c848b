"""The single write path: lock, refresh, assign ids and uids, check unique constraints, append, publish.

A commit is one Delta Lake append (inserts, updated row versions and tombstones together), so
a process killed at any point leaves either the whole batch or none of it on disk. Checks run
before anything is written; a failed check writes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake

from .table import DELETED, REV, Change, Table, int_values, live_rows

BASE62 = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


class MissingRows(LookupError):
    """An update or delete names ids that are not (or no longer) in the table."""

    def __init__(self, table: str, ids: np.ndarray):
        self.table, self.ids = table, ids
        super().__init__(
            f"{table} has no rows with id {', '.join(map(str, ids[:5].tolist()))}; they were deleted or never saved"
        )


class ConstraintViolation(ValueError):
    """A unique constraint would break. ``column``, ``value`` and ``existing_uid`` say where."""

    def __init__(self, table: str, column: str, value, existing_uid: str | None, within_batch: bool):
        self.table, self.column, self.value = table, column, value
        self.existing_uid, self.within_batch = existing_uid, within_batch
        if within_batch:
            msg = f"{column}={value!r} appears more than once in the records being saved to {table}"
        else:
            msg = f"{column}={value!r} already exists in {table}" + (
                f" (record uid '{existing_uid}')" if existing_uid else ""
            )
        super().__init__(msg)


@dataclass(frozen=True)
class CommitResult:
    ids: np.ndarray  # ids assigned to inserted rows, in order
    uids: np.ndarray | None  # uids assigned to inserted rows (when the table has uids)
    version: int


def random_uids(n: int, length: int) -> pa.Array:
    """``n`` random base62 strings of ``length`` characters as an Arrow array, vectorised."""
    rng = np.random.default_rng(secrets.randbits(128))
    data = BASE62[rng.integers(0, 62, size=n * length, dtype=np.uint8)]
    offsets = np.arange(0, (n + 1) * length, length, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def commit(
    table: Table,
    *,
    inserts: pa.Table | None = None,
    updates: pa.Table | None = None,
    delete_ids: np.ndarray | None = None,
    next_id: int,
) -> tuple[CommitResult, int]:
    """Write one batch to ``table``. The caller holds the instance's writer lock and has refreshed
    ``table`` to the latest version. Returns the result and the next free id.

    ``inserts`` has every column but ``id`` (and ``uid`` when it is null, it gets generated);
    ``updates`` carries full rows including ``id``.
    """
    spec = table.spec
    snapshot = table.snapshot()
    base_version = table.version
    schema = spec.schema
    parts: list[pa.Table] = []
    new_ids = np.empty(0, dtype=np.int64)
    new_uids = None

    if inserts is not None and inserts.num_rows:
        n = inserts.num_rows
        new_ids = np.arange(next_id, next_id + n, dtype=np.int64)
        next_id += n
        inserts = _with_column(inserts, "id", pa.array(new_ids, pa.int64()))
        if spec.uid_length:
            inserts, new_uids = _fill_uids(inserts, table, spec.uid_length)
        parts.append(_conform(inserts, schema))
    if updates is not None and updates.num_rows:
        parts.append(_conform(updates, schema))
    written = pa.concat_tables(parts) if parts else schema.empty_table()

    replaced = np.asarray(int_values(written.column("id"))[len(new_ids) :], dtype=np.int64)
    deleted = np.asarray(delete_ids if delete_ids is not None else [], dtype=np.int64)
    touched = np.concatenate([replaced, deleted])
    if len(touched):
        missing = touched[~np.isin(touched, int_values(snapshot.column("id")))]
        if len(missing):
            raise MissingRows(spec.name, missing)
    _check_unique(table, written, np.concatenate([replaced, deleted]))

    rev = base_version + 1
    stored = written.append_column(REV, pa.array(np.full(written.num_rows, rev), pa.int64()))
    stored = stored.append_column(DELETED, pa.array(np.zeros(written.num_rows, bool)))
    if len(deleted):
        tomb = {name: pa.nulls(len(deleted), f.type) for name, f in zip(schema.names, schema, strict=True)}
        tomb["id"] = pa.array(deleted, pa.int64())
        tomb[REV] = pa.array(np.full(len(deleted), rev), pa.int64())
        tomb[DELETED] = pa.array(np.ones(len(deleted), bool))
        stored = pa.concat_tables([stored, pa.table(tomb, schema=spec.stored_schema())])
    if stored.num_rows == 0:
        return CommitResult(new_ids, new_uids, base_version), next_id

    # schema_mode="merge" only when a field was added to the Record class since the table was written.
    write_deltalake(table.delta(), stored, mode="append", schema_mode="merge" if table.needs_schema_merge else None)
    table.needs_schema_merge = False
    version = base_version + 1

    # Follow the change in memory instead of re-reading the table.
    removed = np.concatenate([replaced, deleted])
    if len(removed):
        keep = pc.invert(pc.is_in(snapshot.column("id"), pa.array(removed, pa.int64())))
        merged = pa.concat_tables([snapshot.filter(keep), written])
        merged = live_rows(
            merged.append_column(REV, pa.array(np.zeros(merged.num_rows, np.int64))).append_column(
                DELETED, pa.array(np.zeros(merged.num_rows, bool))
            ),
            schema,
        )
    else:
        merged = pa.concat_tables([snapshot, written]) if snapshot.num_rows else written
    old_pl = table._polars
    table._set(merged, version, Change(base_version, version, written, removed))
    if old_pl is not None and not len(removed):
        table._polars = pl.concat([old_pl, pl.from_arrow(written)], rechunk=False)
    table._files += 1
    return CommitResult(new_ids, new_uids, version), next_id


def _conform(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """``t`` with the table's columns in order; columns it lacks are nulls."""
    unknown = set(t.column_names) - set(schema.names)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}; the table has {schema.names}")
    cols = [
        t.column(n) if n in t.column_names else pa.nulls(t.num_rows, f.type)
        for n, f in zip(schema.names, schema, strict=True)
    ]
    return pa.table(cols, names=schema.names).cast(schema)


def _with_column(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in t.column_names:
        return t.set_column(t.column_names.index(name), name, values)
    return t.append_column(name, values)


def _fill_uids(inserts: pa.Table, table: Table, length: int) -> tuple[pa.Table, np.ndarray]:
    """Generate uids where missing; regenerate the rare collisions (8 chars: ~1 in 400 batches of 10^6)."""
    n = inserts.num_rows
    given = inserts.column("uid").combine_chunks() if "uid" in inserts.column_names else pa.nulls(n, pa.string())
    if given.null_count == 0:
        return inserts, given.to_numpy(zero_copy_only=False)
    uids = pc.coalesce(given, random_uids(n, length)) if given.null_count < n else random_uids(n, length)
    for _ in range(10):
        clash = _clashes(uids, table, "uid")
        if clash is None:
            break
        if given.null_count < n:
            clash = pc.and_(clash, given.is_null())
        uids = pc.if_else(clash, random_uids(n, length), uids)
    return _with_column(inserts, "uid", uids), uids.to_numpy(zero_copy_only=False)


def _clashes(values: pa.Array, table: Table, column: str) -> pa.Array | None:
    """Boolean mask of ``values`` that repeat within ``values`` or occur in ``column``; None if none do."""
    hits = _in_existing(values, table, column)
    s = pl.Series(values)
    dup = s.n_unique() != len(s)
    if hits is None and not dup:
        return None
    mask = np.zeros(len(values), bool)
    if dup:
        mask |= s.is_duplicated().to_numpy()
    if hits is not None:
        mask |= hits
    return pa.array(mask)


def _in_existing(
    values: pa.Array, table: Table, column: str, exclude_ids: np.ndarray | None = None
) -> np.ndarray | None:
    """Mask of ``values`` present in the table's ``column`` (None when none are), choosing the cheap way:
    hash-index probes for a few values, a scan against a small set, or a polars semi-join."""
    snapshot = table.snapshot()
    existing = snapshot.column(column)
    if len(existing) == 0 or len(values) == 0:
        return None
    if len(values) <= 64:
        # A few values: probe the hash index once per value instead of scanning the column.
        ids = snapshot.column("id")
        excluded = set(exclude_ids.tolist()) if exclude_ids is not None else set()
        mask = np.zeros(len(values), bool)
        for i, v in enumerate(values.to_pylist()):
            _, rows = table.find(column, v)
            mask[i] = any(ids[int(r)].as_py() not in excluded for r in rows)
        return mask if mask.any() else None
    if exclude_ids is not None and len(exclude_ids):
        keep = pc.invert(pc.is_in(snapshot.column("id"), pa.array(exclude_ids, pa.int64())))
        existing = snapshot.filter(keep).column(column)
    if len(values) <= 10_000:
        # Scan the big column once against a small hash set of the new values.
        found = pc.is_in(existing, value_set=values.drop_null() if hasattr(values, "drop_null") else values)
        if not pc.any(found).as_py():
            return None
        present = existing.filter(found)
        return pc.is_in(values, value_set=present.combine_chunks()).to_numpy(zero_copy_only=False)
    left = pl.DataFrame({"v": pl.Series(values)}).with_row_index("i")
    right = pl.DataFrame({"v": pl.Series(existing)})
    idx = left.join(right, on="v", how="semi").get_column("i").to_numpy()
    if not len(idx):
        return None
    mask = np.zeros(len(values), bool)
    mask[idx] = True
    return mask


def _check_unique(table: Table, batch: pa.Table, replaced: np.ndarray) -> None:
    """Raise ConstraintViolation for the first value that would be duplicated."""
    if batch.num_rows == 0:
        return
    for col in table.spec.unique:
        values = batch.column(col).combine_chunks()
        if values.null_count:
            values = values.drop_null()
        s = pl.Series(values)
        if s.n_unique() != len(s):
            raise ConstraintViolation(table.spec.name, col, s.filter(s.is_duplicated())[0], None, within_batch=True)
        hits = _in_existing(values, table, col, replaced)
        if hits is not None:
            value = values[int(np.argmax(hits))].as_py()
            snap, rows = table.find(col, value)
            uid = snap.column("uid")[int(rows[0])].as_py() if len(rows) and "uid" in snap.column_names else None
            raise ConstraintViolation(table.spec.name, col, value, uid, within_batch=False)
