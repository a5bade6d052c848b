"""One registry table on disk (Delta Lake log + Parquet files) and this process's cached snapshot.

Every write is an *append* of row versions: an update appends the new version of a row, a
delete appends a tombstone. The live snapshot is "last version per id, minus tombstones",
sorted by id. Appending keeps single-record saves cheap (a Delta append is ~5 ms, rewriting a
10^6-row file to change one row is ~170 ms); compaction folds the versions away.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from .index import HashIndex, scan

# Bookkeeping columns stored next to the user's columns; never shown in snapshots.
REV = "_rev"
DELETED = "_deleted"
INTERNAL = (REV, DELETED)
INDEX_MIN_ROWS = 20_000  # below this a scan is as fast as building and probing an index


@dataclass(frozen=True)
class TableSpec:
    """What storage needs to know about a table: its Arrow schema and constraints."""

    name: str
    schema: pa.Schema
    unique: tuple[str, ...] = ()
    uid_length: int | None = None

    def stored_schema(self) -> pa.Schema:
        return self.schema.append(pa.field(REV, pa.int64())).append(pa.field(DELETED, pa.bool_()))


@dataclass(frozen=True)
class Change:
    """The last change applied to a snapshot in this process, so caches can follow it cheaply."""

    from_version: int
    to_version: int
    inserted: pa.Table | None  # rows that are new
    removed_ids: np.ndarray  # ids of rows replaced or deleted


class Table:
    """A Delta table plus the latest Arrow snapshot this process has seen of it."""

    def __init__(self, root: Path, spec: TableSpec):
        self.spec = spec
        self.path = root / "tables" / spec.name
        self._lock = threading.RLock()
        self._snapshot: pa.Table | None = None
        self._version: int = -1
        self._polars: pl.DataFrame | None = None
        self._files: int = 0
        self.last_change: Change | None = None
        self._indexes: dict[str, HashIndex] = {}
        self._delta: DeltaTable | None = None  # handle reused by writes (re-reading the log costs ~7 ms)
        self.needs_schema_merge = False

    # -- reading ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / "_delta_log").is_dir()

    def create(self) -> None:
        """Create the empty Delta table (version 0)."""
        DeltaTable.create(str(self.path), schema=self.spec.stored_schema(), mode="ignore")

    @property
    def version(self) -> int:
        """Version of the cached snapshot (-1 before the first load)."""
        return self._version

    def snapshot(self, version: int | None = None) -> pa.Table:
        """Live rows sorted by id; reloads from disk only if ``version`` differs from the cache."""
        with self._lock:
            if self._snapshot is None or (version is not None and version != self._version):
                self._load()
            return self._snapshot  # type: ignore[return-value]

    def snapshot_pl(self, version: int | None = None) -> pl.DataFrame:
        with self._lock:
            snap = self.snapshot(version)
            if self._polars is None:
                self._polars = pl.from_arrow(snap)  # type: ignore[assignment]
            return self._polars  # type: ignore[return-value]

    def disk_version(self) -> int:
        return DeltaTable(str(self.path)).version()

    def delta(self) -> DeltaTable:
        """The open Delta table handle (kept current by our own writes)."""
        if self._delta is None:
            self._delta = DeltaTable(str(self.path))
        return self._delta

    def newer_on_disk(self) -> bool:
        """True if a commit after the cached version exists (one stat of the next Delta log entry)."""
        return (self.path / "_delta_log" / f"{self._version + 1:020d}.json").exists()

    def _load(self) -> None:
        for attempt in range(3):
            dt = DeltaTable(str(self.path))
            version = dt.version()
            files = dt.file_uris()
            try:
                raw = _read_files(files, self.spec.stored_schema())
                self._delta = dt
                on_disk = {f.name for f in dt.schema().fields}
                self.needs_schema_merge = not set(self.spec.stored_schema().names) <= on_disk
                break
            except FileNotFoundError:
                # A compaction in another process vacuumed a file between listing and reading.
                if attempt == 2:
                    raise
        self._set(live_rows(raw, self.spec.schema), version, None)
        self._files = len(files)

    def _set(self, snapshot: pa.Table, version: int, change: Change | None) -> None:
        appended_only = change is not None and not len(change.removed_ids)
        if not appended_only:
            self._indexes = {}  # row positions moved; hash indexes rebuild on next lookup
        if snapshot.num_rows and snapshot.column(0).num_chunks > 32:
            snapshot = snapshot.combine_chunks()  # many small appends: keep scans and takes fast
        self._snapshot = snapshot
        self._polars = None
        self._version = version
        self.last_change = change

    def find(self, column: str, value, version: int | None = None) -> tuple[pa.Table, np.ndarray]:
        """``(snapshot, row positions)`` where ``column == value``; indexed on large tables."""
        with self._lock:
            snap = self.snapshot(version)
            col = snap.column(column)
            if value is None:
                return snap, np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
            if snap.num_rows < INDEX_MIN_ROWS:
                return snap, scan(col, value)
            index = self._indexes.get(column)
            if index is None or index.stale(snap.num_rows):
                index = self._indexes[column] = HashIndex(col)
            return snap, index.find(col, value)

    @property
    def file_count(self) -> int:
        return self._files


def _read_files(files: list[str], schema: pa.Schema) -> pa.Table:
    """Read Parquet data files with pyarrow.

    Not deltalake's own Arrow export (it aborts the interpreter at exit while its tables are
    alive) and not ``pq.read_table`` (it imports pandas: +0.4 s on every cold start).
    """
    if not files:
        return schema.empty_table()
    parts = []
    for f in files:
        t = pq.ParquetFile(_local(f)).read()
        if t.schema != schema:
            cols = [
                t.column(n) if n in t.column_names else pa.nulls(t.num_rows, fld.type)
                for n, fld in zip(schema.names, schema, strict=True)
            ]
            t = pa.table(cols, names=schema.names).cast(schema)
        parts.append(t)
    return pa.concat_tables(parts)


def _local(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def live_rows(raw: pa.Table, schema: pa.Schema) -> pa.Table:
    """Fold row versions: keep the highest ``_rev`` per id, drop tombstones, sort by id."""
    if raw.num_rows == 0:
        return schema.empty_table()
    ids = raw.column("id")
    n_unique = pc.count_distinct(ids).as_py()
    has_deleted = pc.any(raw.column(DELETED)).as_py()
    if n_unique == raw.num_rows and not has_deleted:
        table = raw.select(schema.names)
        idv = int_values(table.column("id"))
        if len(idv) > 1 and not np.all(idv[1:] > idv[:-1]):
            table = table.take(pc.sort_indices(table.column("id")))
        return table.combine_chunks() if table.column("id").num_chunks > 1 else table
    df = pl.from_arrow(raw)
    df = (
        df.sort(["id", REV])
        .unique(subset="id", keep="last", maintain_order=True)
        .filter(~pl.col(DELETED))
        .select(schema.names)
    )
    return df.to_arrow().cast(schema)


def int_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An int64 column as numpy without nulls, read from the Arrow buffer.

    (``pyarrow``'s ``to_numpy`` imports pandas on first use: +0.4 s on every cold start.)
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if len(column) == 0:
        return np.empty(0, np.int64)
    column = column.cast(pa.int64())
    return np.frombuffer(column.buffers()[1], dtype=np.int64, count=len(column) + column.offset)[column.offset :]
