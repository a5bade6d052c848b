"""An instance: one directory holding a Delta table per registry, a writer lock and a state file.

Layout::

    <root>/instance.json      marks the directory as an instance (format, creation time)
    <root>/.writer.lock       one writer at a time (filelock); readers never take it
    <root>/state.json         committed version and next free id per table (atomic replace)
    <root>/tables/<name>/     Parquet files + Delta Lake log

Readers learn that a table moved by stat-ing ``state.json`` (microseconds), and only then
reload the table. ``state.json`` is a hint: the Delta log is the truth, and the writer
re-reads the log under the lock before every commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from .commit import CommitResult, commit
from .engine import Engine
from .errors import InstanceNotFound, ReadOnlyInstance
from .lock import WriterLock
from .table import DELETED, REV, Table, TableSpec, int_values

FORMAT = 1
COMPACT_THRESHOLD = 64  # data files per table before a commit compacts it




class Instance:
    """A directory of registry tables with one writer lock. Create with :meth:`open`."""

    def __init__(self, root: Path, read_only: bool = False):
        self.root = Path(root).expanduser().resolve()
        self.read_only = read_only
        self._tables: dict[str, Table] = {}
        self._state_stat: tuple | None = None
        self._state: dict = {"tables": {}}
        self._lock = WriterLock(self.root / ".writer.lock")
        self.lock_timeout: float | None = None  # None: storage.lock.DEFAULT_TIMEOUT
        self._thread_lock = threading.RLock()
        self._engine: Engine | None = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True, read_only: bool = False) -> Instance:
        """Open the instance at ``path``; create the directory when ``create`` and it is new."""
        root = Path(path).expanduser().resolve()
        marker = root / "instance.json"
        if not marker.exists():
            if not create or read_only:
                raise InstanceNotFound(f"no registry instance at '{root}'; create one with registry.init('{root}')")
            (root / "tables").mkdir(parents=True, exist_ok=True)
            with WriterLock(root / ".writer.lock"):
                if not marker.exists():
                    _atomic_write(marker, {"format": FORMAT, "created_at": _now().isoformat()})
        return cls(root, read_only=read_only)

    @property
    def name(self) -> str:
        return self.root.name

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"Instance('{self.root}'{mode})"

    # -- tables ----------------------------------------------------------------------------
    def register(self, spec: TableSpec) -> Table:
        """Make ``spec`` known to this process; create its Delta table on disk if it is new."""
        with self._thread_lock:
            table = self._tables.get(spec.name)
            if table is not None:
                return table
            table = Table(self.root, spec)
            if not table.exists() and not self.read_only:
                with self._lock:
                    if not table.exists():
                        table.create()
            self._tables[spec.name] = table
            return table

    def table(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"table '{name}' is not registered on {self!r}") from None

    def table_names(self) -> set[str]:
        return set(self._tables)

    def snapshot(self, name: str) -> pa.Table:
        """Latest committed live rows of ``name`` (cached; reloaded only after a new commit)."""
        table = self.table(name)
        if not table.exists():
            return table.spec.schema.empty_table()
        return table.snapshot(self.current_version(name))

    def snapshot_pl(self, name: str):
        table = self.table(name)
        if not table.exists():
            import polars as pl

            return pl.from_arrow(table.spec.schema.empty_table())
        return table.snapshot_pl(self.current_version(name))

    def find(self, name: str, column: str, value, limit: int | None = None) -> pa.Table:
        """Rows of ``name`` whose ``column`` equals ``value`` (hash-indexed point lookup)."""
        table = self.table(name)
        if not table.exists():
            return table.spec.schema.empty_table()
        snap, rows = table.find(column, value, self.current_version(name))
        if limit is not None:
            rows = rows[:limit]
        if len(rows) <= 16:  # slicing is O(log chunks); take() on a chunked table copies every chunk
            return pa.concat_tables([snap.slice(int(p), 1) for p in rows]) if len(rows) else snap.slice(0, 0)
        return snap.take(pa.array(rows, pa.int64()))

    def current_version(self, name: str) -> int | None:
        """Committed version of ``name`` as published in state.json (None: not known yet)."""
        self._read_state()
        entry = self._state["tables"].get(name)
        if entry is None:
            table = self._tables.get(name)
            # Unknown to the state file: committed only by create (version 0) or never loaded.
            return table.version if table is not None and table.version >= 0 else None
        return entry["version"]

    def _read_state(self) -> None:
        path = self.root / "state.json"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._state_stat:
            try:
                self._state = json.loads(path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                return
            self._state_stat = key

    # -- writing ---------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self)
        return self._engine

    def writer_lock(self) -> WriterLock:
        """The instance's writer lock; held during every commit."""
        if self.read_only:
            raise ReadOnlyInstance(f"{self!r} was opened read-only; write through registry.init('{self.root}') instead")
        self._lock.timeout = self.lock_timeout
        return self._lock

    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None):
        """An atomic multi-table write: ``with inst.transaction() as tx: tx.commit(...)``.

        Takes the writer lock (waiting at most ``timeout`` seconds, default ``lock_timeout``).
        """
        lock = self.writer_lock()
        with self._thread_lock:
            lock.acquire(self.lock_timeout if timeout is None else timeout)
            try:
                yield Transaction(self)
            finally:
                lock.release()

    def commit(
        self,
        name: str,
        *,
        inserts: pa.Table | None = None,
        updates: pa.Table | None = None,
        delete_ids: Iterable[int] | None = None,
    ) -> CommitResult:
        """Commit inserts, updates and deletes to one table atomically (see ``storage.commit``)."""
        table = self.table(name)
        with self._thread_lock, self.writer_lock():
            self._refresh_for_write(table)
            self._read_state()
            entry = self._state["tables"].get(name, {})
            snap = table.snapshot()
            max_id = int(int_values(snap.column("id")).max()) if snap.num_rows else 0
            next_id = max(int(entry.get("next_id", 1)), max_id + 1)
            ids = (
                None
                if delete_ids is None
                else np.asarray(list(delete_ids) if not isinstance(delete_ids, np.ndarray) else delete_ids, np.int64)
            )
            result, next_id = commit(table, inserts=inserts, updates=updates, delete_ids=ids, next_id=next_id)
            if table.file_count > COMPACT_THRESHOLD:
                self._compact(table)
            self._publish(name, table.version, next_id)
            return result

    def delete_rows(self, name: str, ids: Iterable[int]) -> int:
        """Delete rows by id in one commit; returns how many existed."""
        ids = np.unique(np.asarray(list(ids), dtype=np.int64))
        if not len(ids):
            return 0
        table = self.table(name)
        with self._thread_lock, self.writer_lock():
            self._refresh_for_write(table)
            present = np.isin(ids, int_values(table.snapshot().column("id")))
            ids = ids[present]
            if len(ids):
                self.commit(name, delete_ids=ids)
            return int(len(ids))

    def compact(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Rewrite tables as one file each with only live rows, and delete unreferenced files.

        Returns the number of data files per table after compaction.
        """
        out = {}
        with self._thread_lock, self.writer_lock():
            for name in names or sorted(self._tables):
                table = self.table(name)
                if not table.exists():
                    continue
                self._refresh_for_write(table)
                self._compact(table)
                self._read_state()
                entry = self._state["tables"].get(name, {})
                self._publish(name, table.version, int(entry.get("next_id", 1)))
                out[name] = table.file_count
        return out

    def _refresh_for_write(self, table: Table) -> None:
        if not table.exists():
            table.create()
        if table.version < 0 or table.newer_on_disk():
            table._load()

    def _compact(self, table: Table) -> None:
        snap = table.snapshot()
        stored = snap.append_column(REV, pa.array(np.full(snap.num_rows, table.version + 1), pa.int64()))
        stored = stored.append_column(DELETED, pa.array(np.zeros(snap.num_rows, bool)))
        write_deltalake(str(table.path), stored, mode="overwrite", schema_mode="merge")
        dtab = DeltaTable(str(table.path))
        table._delta = dtab
        dtab.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
        table._set(snap, dtab.version(), None)
        table._files = len(dtab.file_uris())

    def _publish(self, name: str, version: int, next_id: int) -> None:
        self._read_state()
        state = {"tables": dict(self._state.get("tables", {}))}
        state["tables"][name] = {"version": version, "next_id": next_id}
        _atomic_write(self.root / "state.json", state)
        self._read_state()


class Transaction:
    """Commits staged inside ``Instance.transaction()``."""

    def __init__(self, instance: Instance):
        self.instance = instance

    def commit(self, name: str, *, inserts=None, updates=None, delete_ids=None) -> CommitResult:
        return self.instance.commit(name, inserts=inserts, updates=updates, delete_ids=delete_ids)

    def delete_rows(self, name: str, ids) -> int:
        return self.instance.delete_rows(name, ids)

    def snapshot(self, name: str) -> pa.Table:
        return self.instance.snapshot(name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _atomic_write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
