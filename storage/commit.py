"""The single write path: assign ids and uids, check unique constraints, stage copy-on-write files.

A batch is staged (checks run, data files written and fsynced) and becomes visible only when
its transaction publishes the Delta log entry (see ``storage.instance``). A failed check
writes nothing; a failure before the publication deletes the staged files.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from . import faults
from . import log as dlog
from .errors import CommitFailed
from .table import (
    FILE_ROWS,
    Change,
    DataFile,
    State,
    Table,
    TableSpec,
    _unlink,
    data_file,
    find_rows,
    int_values,
    metadata_action,
    remove_action,
    write_part,
)

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


class View(Protocol):
    """What the uid and uniqueness checks read: a committed ``Table`` or a ``Stage`` of one."""

    @property
    def spec(self) -> TableSpec: ...

    def snapshot(self) -> pa.Table: ...

    def find(self, column: str, value: Any) -> tuple[pa.Table, np.ndarray]: ...


class Stage:
    """One table's changes staged inside a transaction: the state it will have, and the Delta
    actions (and already written, fsynced data files) that make it so when published.

    Serves as the view that checks run against (``snapshot``/``find``), so a second commit to
    the same table in one transaction sees the first.
    """

    def __init__(self, table: Table, base: State, next_id_hint: int = 0):
        self.table = table
        self.spec = table.spec
        self.base = base
        self.state = replace(base, next_id=max(base.next_id, next_id_hint), _snap=[], _ids=[])
        self.adds: dict[str, dict] = {}  # files written in this transaction
        self.removes: dict[str, DataFile] = {}  # committed files this transaction replaces
        self.metadata: dict | None = None
        self.commits = 0
        self.change: Change | None = None
        self.remap: tuple | None = None  # (deleted, rewritten) row positions, for the indexes
        self._indexes: dict = {}
        if base.legacy:
            self._migrate()

    # -- the view checks run against -------------------------------------------------------
    def snapshot(self) -> pa.Table:
        return self.state.snapshot(self.spec.schema)

    def find(self, column: str, value) -> tuple[pa.Table, np.ndarray]:
        if self.state.version == self.base.version and not self.base.legacy and not self.commits:
            return self.table.find(column, value)  # the committed table's cached indexes
        snap = self.snapshot()
        return snap, find_rows(snap, column, value, self._indexes)

    @property
    def dirty(self) -> bool:
        return bool(self.adds or self.removes or self.metadata)

    @property
    def written(self) -> list[Path]:
        return [self.table.path / p for p in self.adds]

    # -- staging ---------------------------------------------------------------------------
    def apply(self, inserts: pa.Table | None, updates: pa.Table | None, delete_ids: np.ndarray | None) -> CommitResult:
        """Check and stage one batch; data files are written (and fsynced) now, published later."""
        spec = self.spec
        schema = spec.schema
        next_id = self.state.next_id
        parts: list[pa.Table] = []
        new_ids = np.empty(0, dtype=np.int64)
        new_uids = None
        if inserts is not None and inserts.num_rows:
            n = inserts.num_rows
            new_ids = np.arange(next_id, next_id + n, dtype=np.int64)
            next_id += n
            inserts = _with_column(inserts, "id", pa.array(new_ids, pa.int64()))
            if spec.uid_length:
                inserts, new_uids = _fill_uids(inserts, self, spec.uid_length)
            parts.append(_conform(inserts, schema))
        if updates is not None and updates.num_rows:
            updates = _conform(updates, schema)
            uids_ = int_values(updates.column("id"))
            if len(np.unique(uids_)) != len(uids_):  # the same record twice: its last version wins
                _, first_from_end = np.unique(uids_[::-1], return_index=True)
                updates = updates.take(pa.array(np.sort(len(uids_) - 1 - first_from_end)))
            parts.append(updates)
        written = pa.concat_tables(parts) if parts else schema.empty_table()

        replaced = np.asarray(int_values(written.column("id"))[len(new_ids) :], dtype=np.int64)
        deleted = np.unique(np.asarray(delete_ids if delete_ids is not None else [], dtype=np.int64))
        touched = np.concatenate([replaced, deleted])
        if len(touched):
            missing = touched[self.state.locate(touched) < 0]
            if len(missing):
                raise MissingRows(spec.name, missing)
        _check_unique(self, written, touched)
        version = self.base.version + 1
        if written.num_rows == 0 and not len(deleted):
            return CommitResult(new_ids, new_uids, self.state.version)

        files = list(self.state.files)
        state_parts = list(self.state.parts)
        del_pos: list[np.ndarray] = []  # positions in the old snapshot, so indexes can follow
        upd_pos: list[np.ndarray] = []
        if len(touched):
            starts = np.concatenate([[0], np.cumsum([p.num_rows for p in state_parts])])
            mins = np.fromiter((f.min_id for f in files), np.int64, len(files))
            where = np.searchsorted(mins, touched, side="right") - 1
            upd = written.slice(len(new_ids))
            upd_ids = int_values(upd.column("id")) if upd.num_rows else np.empty(0, np.int64)
            upd_where = np.searchsorted(mins, upd_ids, side="right") - 1
            for fi in np.unique(where).tolist():
                part = state_parts[fi]
                here = touched[where == fi]
                part_ids = int_values(part.column("id"))
                del_pos.append(starts[fi] + np.searchsorted(part_ids, deleted[np.isin(deleted, here)]))
                upd_pos.append(starts[fi] + np.searchsorted(part_ids, replaced[np.isin(replaced, here)]))
                mine = upd_where == fi if len(upd_ids) else np.zeros(0, bool)
                if mine.any() and not np.isin(deleted, here).any() and mine.sum() <= 8:
                    # a few rows changed in place: splice them in by position (no sort)
                    pos = np.searchsorted(part_ids, upd_ids[mine])
                    rows = upd.filter(pa.array(mine))
                    order = np.argsort(pos)
                    pieces, prev = [], 0
                    for k in order.tolist():
                        pieces += [part.slice(prev, int(pos[k]) - prev), rows.slice(k, 1)]
                        prev = int(pos[k]) + 1
                    pieces.append(part.slice(prev))
                    kept = pa.concat_tables(pieces)
                else:
                    kept = part.filter(pc.invert(pc.is_in(part.column("id"), pa.array(here, pa.int64()))))
                    if mine.any():
                        kept = pa.concat_tables([kept, upd.filter(pa.array(mine))])
                        kept = kept.take(pc.sort_indices(kept.column("id")))
                kept = kept.combine_chunks()
                self._drop(files[fi])
                if kept.num_rows:
                    files[fi], state_parts[fi] = self._write(kept), kept
                else:
                    files[fi] = state_parts[fi] = None  # type: ignore[call-overload]
            keep = [i for i, f in enumerate(files) if f is not None]
            files = [files[i] for i in keep]
            state_parts = [state_parts[i] for i in keep]
        if len(new_ids):
            ins = written.slice(0, len(new_ids))
            chunks = [ins.slice(off, FILE_ROWS) for off in range(0, ins.num_rows, FILE_ROWS)]
            files.extend(self._write_many(chunks))
            state_parts.extend(chunks)
        faults.point("after-data")
        disk_columns = self.state.disk_columns
        if disk_columns and not set(schema.names) <= set(disk_columns):
            self.metadata = merged_metadata(schema, self.state.metadata, spec)
            disk_columns = tuple(dict.fromkeys([*disk_columns, *schema.names]))
        removed = touched
        self.change = Change(self.base.version, version, written, removed) if not self.commits else None
        self.remap = None
        if not self.commits:
            gone = np.sort(np.concatenate(del_pos)) if del_pos else np.empty(0, np.int64)
            moved = np.concatenate(upd_pos) if upd_pos else np.empty(0, np.int64)
            self.remap = (gone, np.sort(moved - np.searchsorted(gone, moved)))
        self.commits += 1
        self.state = replace(
            self.state,
            version=version,
            files=tuple(files),
            parts=tuple(state_parts),
            next_id=next_id,
            metadata=self.metadata or self.state.metadata,
            disk_columns=disk_columns,
            _snap=[],
            _ids=[],
        )
        self._indexes = {}
        return CommitResult(new_ids, new_uids, version)

    def rechunk(self, small_only: bool) -> None:
        """Merge adjacent files into files of FILE_ROWS rows: only runs of small files, or everything."""
        files, parts = self.state.files, self.state.parts
        groups: list[list[int]] = []
        if small_only:
            run: list[int] = []
            for i, f in enumerate(files):
                if f.rows < FILE_ROWS // 4:
                    run.append(i)
                    continue
                if run:
                    groups.append(run)
                    run = []
                groups.append([i])
            if run:
                groups.append(run)
        elif any(f.rows != FILE_ROWS for f in files[:-1]) or (files and files[-1].rows > FILE_ROWS):
            groups = [list(range(len(files)))]
        else:
            groups = [[i] for i in range(len(files))]
        out_f: list[DataFile] = []
        out_p: list[pa.Table] = []
        for g in groups:
            if len(g) == 1 and files[g[0]].rows <= FILE_ROWS:
                out_f.append(files[g[0]])
                out_p.append(parts[g[0]])
                continue
            merged = pa.concat_tables([parts[i] for i in g]).combine_chunks()
            for i in g:
                self._drop(files[i])
            for off in range(0, merged.num_rows, FILE_ROWS):
                chunk = merged.slice(off, FILE_ROWS)
                out_f.append(self._write(chunk))
                out_p.append(chunk)
        if self.dirty:
            self.state = replace(
                self.state, version=self.base.version + 1, files=tuple(out_f), parts=tuple(out_p), _snap=[], _ids=[]
            )
            # the same rows in the same order: caches and indexes stay valid
            self.change = (
                None if self.commits else Change(self.base.version, self.state.version, None, np.empty(0, np.int64))
            )
            self.commits += 1

    def _migrate(self) -> None:
        """Rewrite an old row-version table (``_rev``/``_deleted``) as live rows in bounded files."""
        snap = self.base.parts[0] if self.base.parts else self.spec.schema.empty_table()
        for f in self.base.files:
            self.removes[f.path] = f
        files, parts = [], []
        for off in range(0, snap.num_rows, FILE_ROWS):
            chunk = snap.slice(off, FILE_ROWS).combine_chunks()
            files.append(self._write(chunk))
            parts.append(chunk)
        self.metadata = metadata_action(self.spec.schema, self.base.metadata, self.spec)
        self.state = replace(
            self.state,
            version=self.base.version + 1,
            files=tuple(files),
            parts=tuple(parts),
            metadata=self.metadata,
            legacy=False,
            disk_columns=tuple(self.spec.schema.names),
            _snap=[],
            _ids=[],
        )
        self.commits += 1  # counts as a change: caches rebuild

    def _write(self, part: pa.Table) -> DataFile:
        try:
            name, add = write_part(self.table.path, part)
        except (OSError, pa.ArrowException) as e:
            raise CommitFailed(self.table.root, self.spec.name, e) from None
        self.adds[name] = add
        return data_file(add, part)

    def _write_many(self, parts: list[pa.Table]) -> list[DataFile]:
        """Write several files; two threads for bulk inserts (Parquet encoding and fsync release the GIL)."""
        if len(parts) < 4:
            return [self._write(p) for p in parts]
        from concurrent.futures import ThreadPoolExecutor

        def attempt(part):
            try:
                return write_part(self.table.path, part)
            except (OSError, pa.ArrowException) as e:
                return e

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(attempt, parts))
        out, error = [], None
        for part, r in zip(parts, results, strict=True):
            if isinstance(r, BaseException):
                error = error or r
                continue
            self.adds[r[0]] = r[1]  # registered, so an abort deletes it
            out.append(data_file(r[1], part))
        if error is not None:
            raise CommitFailed(self.table.root, self.spec.name, error)
        return out

    def _drop(self, f: DataFile) -> None:
        if f.path in self.adds:  # written earlier in this transaction: never published, just delete it
            del self.adds[f.path]
            _unlink(self.table.path / f.path)
        else:
            self.removes[f.path] = f

    def entry(self) -> bytes:
        """The Delta log entry publishing this stage."""
        actions: list[dict] = []
        if self.metadata is not None:
            actions.append({"metaData": self.metadata})
        actions.extend(remove_action(f) for f in self.removes.values())
        actions.extend({"add": a} for a in self.adds.values())
        return dlog.encode_entry(actions, {"next_id": int(self.state.next_id)})

    def discard(self) -> None:
        """Delete the data files this stage wrote (nothing was published)."""
        for p in self.written:
            _unlink(p)
        self.adds.clear()


def merged_metadata(schema: pa.Schema, old: dict | None, spec=None) -> dict:
    """Metadata whose schema has the old columns plus the new ones of ``schema``."""
    new = metadata_action(schema, old, spec)
    if old is None:
        return new
    fields = json.loads(old["schemaString"])["fields"]
    have = {f["name"] for f in fields}
    fields += [f for f in json.loads(new["schemaString"])["fields"] if f["name"] not in have]
    new["schemaString"] = json.dumps({"type": "struct", "fields": fields}, separators=(",", ":"))
    return new


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


def _fill_uids(inserts: pa.Table, table: View, length: int) -> tuple[pa.Table, np.ndarray]:
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


def _clashes(values: pa.Array, table: View, column: str) -> pa.Array | None:
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
    values: pa.Array, table: View, column: str, exclude_ids: np.ndarray | None = None
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


def _check_unique(table: View, batch: pa.Table, replaced: np.ndarray) -> None:
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
