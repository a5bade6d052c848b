"""One registry table on disk (Delta Lake log + bounded Parquet files) and this process's cached snapshot.

At every committed version the Delta snapshot holds exactly the live rows with the registry's
columns, so any Delta reader (polars, DuckDB, Spark, deltalake) reads the table right. Rows are
kept in data files of at most ``FILE_ROWS`` rows with disjoint, known id ranges: an insert adds
new files, an update or delete rewrites only the files holding the affected ids (copy-on-write),
all in one log entry of ``add`` and ``remove`` actions.

In memory a table is a :class:`State`: the active files and one Arrow table per file (the
"parts", in id order); the snapshot is their zero-copy concatenation. Tables written by older
versions of this library (row versions with ``_rev``/``_deleted`` columns) are read by folding
the versions and rewritten in the new layout on the first write.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import log as dlog
from .errors import CorruptInstance
from .index import ColumnHashIndex, scan

# Bookkeeping columns of the old row-version layout (read for migration, never written).
REV = "_rev"
DELETED = "_deleted"
INTERNAL = (REV, DELETED)
HASH_INDEX_MIN_ROWS = 20_000  # below this a scan is as fast as building and probing a ColumnHashIndex
FILE_ROWS = 16_384  # rows per data file: a one-row change rewrites at most this many
COMBINE_PARTS = 1024  # snapshots with more chunks than this are made contiguous


@dataclass(frozen=True)
class TableSpec:
    """What storage needs to know about a table: its Arrow schema and constraints."""

    name: str
    schema: pa.Schema
    unique: tuple[str, ...] = ()
    uid_length: int | None = None
    # Foreign keys this table's columns hold: column -> referenced table (doctor checks them).
    references: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the table directory
    rows: int
    min_id: int
    max_id: int
    size: int


@dataclass(frozen=True)
class State:
    """A committed (or staged) version of a table: files and their rows, in id order."""

    version: int
    files: tuple[DataFile, ...]
    parts: tuple[pa.Table, ...]
    next_id: int
    metadata: dict | None = None
    legacy: bool = False  # old row-version layout: rewritten on the next write
    disk_columns: tuple[str, ...] = ()
    _snap: list = field(default_factory=list, compare=False, repr=False)
    _ids: list = field(default_factory=list, compare=False, repr=False)

    def ids(self, schema: pa.Schema) -> np.ndarray:
        """The snapshot's ids as a sorted numpy array (cached)."""
        if not self._ids:
            self._ids.append(int_values(self.snapshot(schema).column("id")))
        return self._ids[0]

    def locate(self, ids: np.ndarray) -> np.ndarray:
        """Snapshot positions of ``ids`` (-1 where absent), by file: a binary search over the
        files' id ranges, then within one file's ids (no table-wide array to rebuild per commit)."""
        ids = np.asarray(ids, np.int64)
        out = np.full(len(ids), -1, np.int64)
        if self.legacy:
            all_ids = int_values(self.parts[0].column("id")) if self.parts else np.empty(0, np.int64)
            pos = np.searchsorted(all_ids, ids)
            ok = pos < len(all_ids)
            ok[ok] = all_ids[pos[ok]] == ids[ok]
            out[ok] = pos[ok]
            return out
        if not self.files or not len(ids):
            return out
        mins = np.fromiter((f.min_id for f in self.files), np.int64, len(self.files))
        starts = np.concatenate([[0], np.cumsum([p.num_rows for p in self.parts])])
        where = np.searchsorted(mins, ids, side="right") - 1
        for fi in np.unique(where[where >= 0]).tolist():
            mine = where == fi
            part_ids = int_values(self.parts[fi].column("id"))
            pos = np.searchsorted(part_ids, ids[mine])
            ok = pos < len(part_ids)
            ok[ok] = part_ids[pos[ok]] == ids[mine][ok]
            out[np.flatnonzero(mine)[ok]] = starts[fi] + pos[ok]
        return out

    def snapshot(self, schema: pa.Schema) -> pa.Table:
        if not self._snap:
            if not self.parts:
                snap = schema.empty_table()
            elif len(self.parts) == 1:
                snap = self.parts[0]
            else:
                snap = pa.concat_tables(self.parts)
                if len(self.parts) > COMBINE_PARTS:
                    snap = snap.combine_chunks()
            self._snap.append(snap)
        return self._snap[0]

    @property
    def num_rows(self) -> int:
        return sum(f.rows for f in self.files) if not self.legacy else self.parts[0].num_rows if self.parts else 0

    def max_id(self) -> int:
        if self.legacy:
            ids = int_values(self.parts[0].column("id")) if self.parts else np.empty(0, np.int64)
            return int(ids.max()) if len(ids) else 0
        return max((f.max_id for f in self.files), default=0)


@dataclass(frozen=True)
class Change:
    """The last change applied to a snapshot in this process, so caches can follow it cheaply."""

    from_version: int
    to_version: int
    inserted: pa.Table | None  # rows that are new (or new versions of rows listed in removed_ids)
    removed_ids: np.ndarray  # ids of rows replaced or deleted
    # Row positions a copy-on-write commit moved: (deleted positions of the previous snapshot,
    # rewritten positions of the new one); None when unknown (then positional caches rebuild).
    moved: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def appended_only(self) -> bool:
        """Rows were only added at the end: positions of earlier rows still hold."""
        return not len(self.removed_ids)


T = TypeVar("T")
FOLLOW_CHANGES = 16  # own-process changes remembered for derived data that lags a few versions


@dataclass
class _Derived:
    version: int
    value: Any
    follow: Callable[[Any, Change], Any] | None


class Table:
    """A Delta table plus the latest snapshot this process has seen of it."""

    def __init__(self, root: Path, spec: TableSpec, state_hint=None):
        self.spec = spec
        self.root = Path(root)
        self.path = self.root / "tables" / spec.name
        self._lock = threading.RLock()
        self._state: State | None = None
        self.last_change: Change | None = None
        self._changes: deque[Change] = deque(maxlen=FOLLOW_CHANGES)  # consecutive, ending at last_change
        self._derived: dict[Hashable, _Derived] = {}
        # state_hint(name) -> (version, next_id) recorded in state.json, or None
        self._state_hint = state_hint or (lambda name: None)

    # -- on disk ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.path / dlog.LOG / dlog.entry_name(0)).exists()

    def create(self) -> None:
        """Create the empty Delta table (version 0: protocol and metadata)."""
        (self.path / dlog.LOG).mkdir(parents=True, exist_ok=True)
        meta = metadata_action(self.spec.schema, None, self.spec)
        data = dlog.encode_entry([{"protocol": protocol_for(meta)}, {"metaData": meta}], {"operation": "CREATE TABLE"})
        dlog.publish_entry(self.path, 0, data)

    @property
    def version(self) -> int:
        """Version of the cached snapshot (-1 before the first load)."""
        s = self._state
        return -1 if s is None else s.version

    @property
    def state(self) -> State:
        with self._lock:
            if self._state is None:
                self._load()
            elif self.newer_on_disk():
                self._refresh()
            return self._state  # type: ignore[return-value]

    def newer_on_disk(self) -> bool:
        """True if a commit after the cached version exists (one stat of the next Delta log entry)."""
        return (self.path / dlog.LOG / dlog.entry_name(self.version + 1)).exists()

    def snapshot(self, version: int | None = None) -> pa.Table:
        """Live rows sorted by id, at the newest committed version (one stat to check)."""
        with self._lock:
            return self.state.snapshot(self.spec.schema)

    def snapshot_pl(self, version: int | None = None) -> pl.DataFrame:
        with self._lock:
            snap = self.snapshot()
            return self.derived_at(self.version, ("polars",), lambda: frame_of(snap), _append_polars)

    # -- derived data ----------------------------------------------------------------------
    def derived(
        self, key: Hashable, build: Callable[[], T], *, follow: Callable[[T, Change], T | None] | None = None
    ) -> T:
        """Data derived from this table's current snapshot (a hash index, a search candidates
        frame, a curation reference index), built once per snapshot version and shared by every
        user of the table. ``key`` is a tuple whose first item names the owner, e.g.
        ``("hash-index", column)``.

        ``build()`` must read this table's current snapshot. When the table moved on by
        own-process changes (``last_change``) since the value was built and ``follow`` is given,
        ``follow(old_value, change)`` is applied per change and may return the updated value
        (``None``: rebuild). Changes of other processes, or more than ``FOLLOW_CHANGES`` of
        them, always rebuild.

        Locking: ``follow`` runs under the table's lock (keep it proportional to the change; it
        may update the value in place only if readers of the value hold the table's lock too).
        ``build`` runs *outside* it, so a build may wait on other threads that read this table
        (background builders) without deadlocking; two threads missing at once may both build
        (the value is stored only if the table did not move during the build).
        """
        with self._lock:
            version = self.state.version
        return self._derive(version, key, build, follow, pinned=False)

    def derived_at(
        self,
        version: int,
        key: Hashable,
        build: Callable[[], T],
        follow: Callable[[T, Change], T | None] | None = None,
    ) -> T:
        """``derived`` for a caller holding a snapshot of ``version`` (which may already be behind
        the table): ``build()`` derives from that snapshot, and the value is tagged with ``version``
        (unless a newer value is stored), so the next call at a newer version follows or rebuilds it
        as usual."""
        return self._derive(version, key, build, follow, pinned=True)

    _derived_at = derived_at  # the name curate/scope.py used before it was public

    def _derive(self, version: int, key: Hashable, build: Callable[[], T], follow, *, pinned: bool) -> T:
        with self._lock:
            entry = self._derived.get(key)
            if entry is not None and entry.version == version:
                return entry.value
            if entry is not None and entry.version < version:
                value = self._follow(entry, version)
                if value is not None:
                    self._derived[key] = _Derived(version, value, entry.follow)
                    return value
                del self._derived[key]
        value = build()
        with self._lock:
            entry = self._derived.get(key)
            if entry is not None and entry.version >= version:
                return entry.value if entry.version == version else value  # share one value per version
            if pinned or self.version == version:  # unpinned: only if the table did not move during build()
                self._derived[key] = _Derived(version, value, follow)
        return value

    def derived_values(self, key_prefix: tuple = ()) -> dict[Hashable, Any]:
        """The derived values stored now (of any version), by key, for keys starting with the
        items of ``key_prefix`` (for tests and cache listings)."""
        n = len(key_prefix)
        with self._lock:
            return {
                k: e.value
                for k, e in self._derived.items()
                if not n or (isinstance(k, tuple) and k[:n] == tuple(key_prefix))
            }

    def forget_derived(self, key_prefix: tuple | None = None) -> None:
        """Drop derived data: all of it, or the keys starting with the items of ``key_prefix``."""
        with self._lock:
            if key_prefix is None:
                self._derived.clear()
                return
            n = len(key_prefix)
            for key in [k for k in self._derived if isinstance(k, tuple) and k[:n] == tuple(key_prefix)]:
                del self._derived[key]

    def _follow(self, entry: _Derived, version: int) -> Any:
        """``entry``'s value carried through the remembered changes up to ``version``, or None."""
        if entry.follow is None:
            return None
        steps = [c for c in self._changes if c.from_version >= entry.version]
        if not steps or steps[0].from_version != entry.version or steps[-1].to_version != version:
            return None
        value = entry.value
        for change in steps:
            value = entry.follow(value, change)
            if value is None:
                return None
        return value

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        state = read_state(self.root, self.spec, self.path, None)
        self._check_not_behind(state)
        self._set(state, None)

    def _check_not_behind(self, state: State) -> None:
        hint = self._state_hint(self.spec.name)
        if (
            hint is not None
            and hint[0] > state.version
            # a commit published after we listed the log is not damage: the next read follows it
            and not (self.path / dlog.LOG / dlog.entry_name(state.version + 1)).exists()
        ):
            raise CorruptInstance(
                self.root,
                self.spec.name,
                hint[0],
                f"tables/{self.spec.name}/{dlog.LOG}/{dlog.entry_name(state.version + 1)}",
                f"state.json records version {hint[0]} but the log ends at version {state.version} "
                "(a committed log entry is missing)",
            )

    def _refresh(self) -> None:
        """Follow commits made by other processes, reading only the files they added."""
        old = self._state
        assert old is not None
        if old.legacy:
            return self._load()
        v = old.version + 1
        entries = []
        while (self.path / dlog.LOG / dlog.entry_name(v)).exists():
            entries.append(dlog.parse_entry(self.root, self.spec.name, self.path / dlog.LOG / dlog.entry_name(v), v))
            v += 1
        if any(e.metadata is not None for e in entries):
            return self._load()
        removed = {p for e in entries for p in e.removes}
        known = {f.path for f in old.files}
        if not removed <= known:
            return self._load()
        added: dict[str, dict] = {}
        for e in entries:
            for a in e.adds:
                added[a["path"]] = a
            for p in e.removes:
                added.pop(p, None)
        files = [(f, p) for f, p in zip(old.files, old.parts, strict=True) if f.path not in removed]
        version = entries[-1].version
        for a in added.values():
            part = read_part(self.root, self.spec, self.path, a["path"], version, old.disk_columns or None)
            files.append((data_file(a, part), part))
        files.sort(key=lambda fp: fp[0].min_id)
        next_id = max(old.next_id, int(entries[-1].info.get("next_id", 0)))
        state = replace(
            old,
            version=version,
            files=tuple(f for f, _ in files),
            parts=tuple(p for _, p in files),
            next_id=max(next_id, max((f.max_id for f, _ in files), default=0) + 1),
            _snap=[],
            _ids=[],
        )
        self._check_not_behind(state)
        if removed:
            change = None
        else:
            new_parts = [p for f, p in files if f.path in added]
            change = Change(
                old.version, version, pa.concat_tables(new_parts) if new_parts else None, np.empty(0, np.int64)
            )
        self._set(state, change)

    def _set(self, state: State, change: Change | None, remap: tuple | None = None) -> None:
        """Move to ``state``; ``change`` (own-process commits) lets derived data follow it."""
        if change is not None and remap is not None and not change.appended_only:
            change = replace(change, moved=remap)
        self._state = state
        self.last_change = change
        if change is None:
            self._changes.clear()
        else:
            if self._changes and self._changes[-1].to_version != change.from_version:
                self._changes.clear()
            self._changes.append(change)

    # -- reading at a version --------------------------------------------------------------
    def read_version(self, version: int | None = None, as_of: dt.datetime | None = None) -> pa.Table:
        """The live rows at an older ``version`` or as of a point in time (Delta time travel)."""
        if as_of is not None:
            version = version_as_of(self.root, self.spec.name, self.path, as_of)
        state = read_state(self.root, self.spec, self.path, version)
        return state.snapshot(self.spec.schema)

    def find(self, column: str, value, version: int | None = None) -> tuple[pa.Table, np.ndarray]:
        """``(snapshot, row positions)`` where ``column == value``; indexed on large tables."""
        with self._lock:
            state = self.state
            snap = state.snapshot(self.spec.schema)
            if column == "id" and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                if not -(2**63) <= value < 2**63:
                    return snap, np.empty(0, np.int64)
                pos = state.locate(np.array([value], np.int64))  # sorted ids: no index to keep
                return snap, pos[pos >= 0]
            col = snap.column(column)
            if value is None or snap.num_rows < HASH_INDEX_MIN_ROWS:
                return snap, scan_rows(col, value)
            key = ("hash-index", column)
            index = self.derived_at(state.version, key, lambda: ColumnHashIndex(col), _follow_hash_index)
            if index.stale(snap.num_rows):
                self.forget_derived(key)
                index = self.derived_at(state.version, key, lambda: ColumnHashIndex(col), _follow_hash_index)
            return snap, index.find(col, value)

    @property
    def file_count(self) -> int:
        s = self._state
        return 0 if s is None else len(s.files)


class PinnedTable(Table):
    """A table frozen at an older version (time travel); never follows new commits."""

    def __init__(self, root: Path, spec: TableSpec, version: int | None, as_of_ms: float | None):
        super().__init__(root, spec)
        self._pin = (version, as_of_ms)

    @property
    def state(self) -> State:
        with self._lock:
            if self._state is None:
                version, as_of_ms = self._pin
                if version is None:
                    assert as_of_ms is not None  # a pin names a version or a time
                    version = _version_at_ms(self.root, self.spec.name, self.path, as_of_ms)
                if version is None:  # the table did not exist yet at that time
                    self._state = State(-1, (), (), 1)
                else:
                    self._state = read_state(self.root, self.spec, self.path, version)
            return self._state

    def newer_on_disk(self) -> bool:
        return False

    def exists(self) -> bool:
        return super().exists() and self.state.version >= 0


def commit_time_ms(root: Path, name: str, path: Path, version: int) -> float:
    """When ``version`` of a table was committed (its commitInfo timestamp, else the file's mtime)."""
    f = path / dlog.LOG / dlog.entry_name(version)
    e = dlog.parse_entry(root, name, f, version)
    return e.timestamp if e.timestamp is not None else os.stat(f).st_mtime * 1000


def _version_at_ms(root: Path, name: str, path: Path, ms: float) -> int | None:
    versions, _ = dlog.list_log(path)
    found = None
    for v in versions:
        if commit_time_ms(root, name, path, v) <= ms:
            found = v
        else:
            break
    return found


def scan_rows(col: pa.ChunkedArray, value) -> np.ndarray:
    """Row positions where ``col == value`` (``None``: the nulls) by a full scan."""
    if value is None:
        return np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
    return scan(col, value)


def find_rows(snap: pa.Table, column: str, value, indexes: dict) -> np.ndarray:
    """Row positions where ``column == value``, with hash indexes kept in ``indexes`` (a staged,
    uncommitted snapshot's own; committed tables keep theirs as derived data, see ``Table.find``)."""
    col = snap.column(column)
    if value is None or snap.num_rows < HASH_INDEX_MIN_ROWS:
        return scan_rows(col, value)
    index = indexes.get(column)
    if index is None or index.stale(snap.num_rows):
        index = indexes[column] = ColumnHashIndex(col)
    return index.find(col, value)


# Few enough moved rows to follow in a hash index rather than rebuild it.
REMAP_MAX_ROWS = 4096


def _follow_hash_index(index: ColumnHashIndex, change: Change) -> ColumnHashIndex | None:
    """Appended rows are scanned by the index itself; a few moved rows are remapped in place
    (readers hold the table's lock); anything else rebuilds."""
    if change.appended_only:
        return index
    if change.moved is not None and len(change.moved[0]) + len(change.moved[1]) <= REMAP_MAX_ROWS:
        index.remap(*change.moved)
        return index
    return None


def _append_polars(frame: pl.DataFrame, change: Change) -> pl.DataFrame | None:
    """The polars snapshot after an append is the old one plus the new rows (no copy)."""
    if not change.appended_only or change.inserted is None:
        return None
    return pl.concat([frame, frame_of(change.inserted)], rechunk=False)


def frame_of(table: pa.Table) -> pl.DataFrame:
    """``pl.from_arrow`` of a table, typed: a table always gives a DataFrame (arrays give a Series)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


# -- log replay ------------------------------------------------------------------------------
def read_state(root: Path, spec: TableSpec, path: Path, version: int | None) -> State:
    """Replay the log (from the newest checkpoint) up to ``version`` (None: newest) and read the files.

    Every entry is verified; a gap, an empty, torn or unparseable entry raises CorruptInstance.
    """
    versions, checkpoint = dlog.list_log(path)
    name = spec.name
    if not versions:
        raise CorruptInstance(root, name, 0, f"tables/{name}/{dlog.LOG}", "the table has no log entries")
    newest = versions[-1]
    target = newest if version is None else version
    if version is not None and (version < 0 or version > newest):
        raise ValueError(f"table '{name}' has versions 0 to {newest}; there is no version {version}")
    start = 0
    active: dict[str, dict] = {}
    meta = None
    if checkpoint is not None and checkpoint <= target:
        try:
            active, meta, _ = dlog.read_checkpoint(path, checkpoint)
            start = checkpoint + 1
        except Exception:  # noqa: BLE001 - a damaged checkpoint: the JSON entries are still there
            active, meta, start = {}, None, 0
    if start == 0 and versions[0] != 0:
        raise CorruptInstance(
            root, name, 0, f"tables/{name}/{dlog.LOG}/{dlog.entry_name(0)}", "the first log entries are missing"
        )
    present = set(versions)
    info: dict = {}
    for v in range(start, target + 1):
        if v not in present:
            raise CorruptInstance(
                root, name, v, f"tables/{name}/{dlog.LOG}/{dlog.entry_name(v)}", "a log entry in the middle is missing"
            )
        e = dlog.parse_entry(root, name, path / dlog.LOG / dlog.entry_name(v), v)
        for p in e.removes:
            active.pop(p, None)
        for a in e.adds:
            active[a["path"]] = a
        if e.metadata is not None:
            meta = e.metadata
        info = e.info or info
    if start > target:
        # The newest entry's commitInfo carries next_id even when a checkpoint covers it.
        last = dlog.parse_entry(root, name, path / dlog.LOG / dlog.entry_name(target), target)
        info = last.info or info
    disk_columns = tuple(f["name"] for f in json.loads(meta["schemaString"])["fields"]) if meta else ()
    legacy = REV in disk_columns
    items = sorted(active.values(), key=lambda a: a["path"])
    parts = [read_part(root, spec, path, a["path"], target, disk_columns or None, keep_internal=legacy) for a in items]
    if legacy:
        raw = pa.concat_tables(parts) if parts else _stored_schema(spec.schema).empty_table()
        snap = live_rows(raw, spec.schema)
        files = tuple(data_file(a, p) for a, p in zip(items, parts, strict=True))
        max_id = max((f.max_id for f in files), default=0)
        return State(
            target,
            files,
            (snap,),
            max(int(info.get("next_id", 0)), max_id + 1),
            meta,
            True,
            disk_columns,
        )
    pairs = sorted(((data_file(a, p), p) for a, p in zip(items, parts, strict=True)), key=lambda fp: fp[0].min_id)
    files = tuple(f for f, _ in pairs)
    max_id = max((f.max_id for f in files), default=0)
    return State(
        target,
        files,
        tuple(p for _, p in pairs),
        max(int(info.get("next_id", 0)), max_id + 1),
        meta,
        False,
        disk_columns,
    )


def version_as_of(root: Path, name: str, path: Path, as_of: dt.datetime) -> int:
    """The newest version committed at or before ``as_of``."""
    if as_of.tzinfo is None:
        as_of = as_of.astimezone()
    found = _version_at_ms(root, name, path, as_of.timestamp() * 1000)
    if found is None:
        raise ValueError(f"table '{name}' did not exist yet at {as_of.isoformat()}")
    return found


def data_file(add: dict, part: pa.Table) -> DataFile:
    ids = int_values(part.column("id"))
    lo = int(ids.min()) if len(ids) else 0
    hi = int(ids.max()) if len(ids) else -1
    return DataFile(add["path"], part.num_rows, lo, hi, int(add.get("size", 0)))


def read_part(
    root: Path,
    spec: TableSpec,
    path: Path,
    rel: str,
    version: int,
    disk_columns=None,
    keep_internal: bool = False,
) -> pa.Table:
    """One data file conformed to the spec's columns (missing columns are nulls), sorted by id.

    A missing or unreadable file raises CorruptInstance naming table, version and file.
    """
    schema = _stored_schema(spec.schema) if keep_internal else spec.schema
    full = path / rel
    try:
        t = pq.ParquetFile(full).read()
    except FileNotFoundError:
        raise CorruptInstance(
            root, spec.name, version, f"tables/{spec.name}/{rel}", "the data file is missing"
        ) from None
    except (OSError, pa.ArrowException) as e:
        raise CorruptInstance(
            root, spec.name, version, f"tables/{spec.name}/{rel}", f"the data file is unreadable ({_short(e)})"
        ) from None
    if t.schema != schema:
        try:
            cols = [
                t.column(n) if n in t.column_names else pa.nulls(t.num_rows, fld.type)
                for n, fld in zip(schema.names, schema, strict=True)
            ]
            t = pa.table(cols, names=schema.names).cast(schema)
        except (pa.ArrowException, KeyError) as e:
            raise CorruptInstance(
                root,
                spec.name,
                version,
                f"tables/{spec.name}/{rel}",
                f"the data file has the wrong columns ({_short(e)})",
            ) from None
    if t.column("id").num_chunks > 1:
        t = t.combine_chunks()
    if not keep_internal:
        ids = int_values(t.column("id"))
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            t = t.take(pc.sort_indices(t.column("id")))
    return t


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__


def _stored_schema(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field(REV, pa.int64())).append(pa.field(DELETED, pa.bool_()))


def write_part(path: Path, part: pa.Table) -> tuple[str, dict]:
    """Write one data file durably; returns its name and its Delta ``add`` action."""
    name = dlog.new_file_name()
    full = path / name
    fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            pq.write_table(part, f, compression="snappy", use_dictionary=False, write_statistics=False)
            f.flush()
        os.fsync(fd)
        size = os.fstat(fd).st_size
    except BaseException:
        os.close(fd)
        _unlink(full)
        raise
    os.close(fd)
    ids = int_values(part.column("id"))
    stats = {
        "numRecords": part.num_rows,
        "minValues": {"id": int(ids[0])} if len(ids) else {},
        "maxValues": {"id": int(ids[-1])} if len(ids) else {},
        "nullCount": {"id": 0},
    }
    add = {
        "path": name,
        "partitionValues": {},
        "size": size,
        "modificationTime": dlog.now_ms(),
        "dataChange": True,
        "stats": json.dumps(stats, separators=(",", ":")),
    }
    return name, add


def remove_action(f: DataFile) -> dict:
    return {
        "remove": {
            "path": f.path,
            "deletionTimestamp": dlog.now_ms(),
            "dataChange": True,
            "extendedFileMetadata": True,
            "partitionValues": {},
            "size": f.size,
        }
    }


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def metadata_action(schema: pa.Schema, old: dict | None, spec: TableSpec | None = None) -> dict:
    """A Delta ``metaData`` action for ``schema`` (keeping the table id of ``old``). The table's
    constraints go into its configuration, so ``registry doctor`` can check them from disk."""
    import uuid

    from deltalake import Schema

    conf = dict((old or {}).get("configuration") or {})
    if spec is not None:
        conf["registry.unique"] = ",".join(spec.unique)
        conf["registry.references"] = ",".join(f"{c}:{t}" for c, t in spec.references)
    return {
        "id": (old or {}).get("id") or str(uuid.uuid4()),
        "name": None,
        "description": None,
        "format": {"provider": "parquet", "options": {}},
        "schemaString": Schema.from_arrow(schema).to_json(),
        "partitionColumns": [],
        "createdTime": (old or {}).get("createdTime") or dlog.now_ms(),
        "configuration": conf,
    }


def protocol_for(meta: dict) -> dict:
    if "timestamp_ntz" in meta["schemaString"]:
        return {
            "minReaderVersion": 3,
            "minWriterVersion": 7,
            "readerFeatures": ["timestampNtz"],
            "writerFeatures": ["timestampNtz"],
        }
    return {"minReaderVersion": 1, "minWriterVersion": 2}


def live_rows(raw: pa.Table, schema: pa.Schema) -> pa.Table:
    """Fold row versions of the old layout: keep the highest ``_rev`` per id, drop tombstones, sort by id."""
    if raw.num_rows == 0:
        return schema.empty_table()
    df = frame_of(raw)
    df = (
        df.sort(["id", REV])
        .unique(subset="id", keep="last", maintain_order=True)
        .filter(~pl.col(DELETED).fill_null(False))
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
