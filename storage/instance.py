"""An instance: one directory holding a Delta table per registry, a writer lock, a journal and a state file.

Layout::

    <root>/instance.json      marks the directory as an instance (format, creation time)
    <root>/.writer.lock       one writer at a time (flock with a bounded wait; records pid and host)
    <root>/journal.json       present only while a multi-table transaction is being published
    <root>/state.json         a hint: version and next free id per table (written after each commit)
    <root>/tables/<name>/     bounded Parquet files + Delta Lake log

Commit point. A transaction touching one table commits when its Delta log entry is published
(``storage.log``). One touching several tables commits when its journal (every table's entry)
is durable; the entries are then published, and a crash in between is rolled forward on the
next open. Everything after the commit point (state.json, compaction, checkpoints, caches)
is best effort: a failure there is a warning, never an error for a write that landed.
Everything before it leaves no trace: staged data files are deleted.

Readers never lock. They learn that a table moved by one ``stat`` of its next log entry, and
read only the files that were added. ``state.json`` only lets readers notice a log that lost
a committed entry (then they raise ``CorruptInstance`` instead of answering with fewer rows).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa

from . import faults
from . import log as dlog
from .commit import CommitResult, Stage
from .engine import Engine
from .errors import CommitFailed, CorruptInstance, InstanceNotFound, InvalidInstancePath, LockTimeout, ReadOnlyInstance
from .lock import WriterLock
from .table import FILE_ROWS, PinnedTable, Table, TableSpec, commit_time_ms, frame_of

FORMAT = 2
COMPACT_THRESHOLD = 32  # small data files per table before a commit merges them
CHECKPOINT_EVERY = 100  # versions between Delta checkpoints
RETENTION_HOURS = 7 * 24  # vacuum keeps files younger than this, so time travel works
JOURNAL = "journal.json"


class StorageWarning(RuntimeWarning):
    """Something after a commit point failed (state file, compaction, checkpoint); the commit stands."""


class Instance:
    """A directory of registry tables with one writer lock. Create with :meth:`open`."""

    def __init__(self, root: Path, read_only: bool = False, pin: tuple | None = None):
        self.root = Path(root).expanduser().resolve()
        self.read_only = read_only or pin is not None
        self._pin = pin  # (table, version, as_of_ms): a read-only view of the past
        self._tables: dict[str, Table] = {}
        self._state_stat: tuple | None = None
        self._state: dict = {"tables": {}}
        self._lock = WriterLock(self.root / ".writer.lock")
        self.lock_timeout: float | None = None  # None: storage.lock.DEFAULT_TIMEOUT (60 s)
        self.retention_hours: float = RETENTION_HOURS
        self._thread_lock = threading.RLock()
        self._engine: Engine | None = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True, read_only: bool = False) -> Instance:
        """Open the instance at ``path``; create the directory when ``create`` and it is new.

        Refuses ``""``/``None``, a non-empty directory that is not an instance, and a directory
        inside another instance. Rolls a crashed multi-table transaction forward.
        """
        root = _check_path(path)
        marker = root / "instance.json"
        if not marker.exists():
            if not create or read_only:
                raise InstanceNotFound(f"no registry instance at '{root}'; create one with registry.init('{root}')")
            if root.is_file():
                raise InvalidInstancePath(f"'{root}' is a file; registry.init() needs a directory")
            if root.is_dir() and any(p.name not in (".writer.lock", "tables") for p in root.iterdir()):
                raise InvalidInstancePath(
                    f"'{root}' is a non-empty directory that is not a registry instance; "
                    "choose an empty or new directory, e.g. registry.init('./mydata')"
                )
            outer = _enclosing_instance(root.parent)
            if outer is not None:
                raise InvalidInstancePath(
                    f"'{root}' is inside the registry instance at '{outer}'; choose a directory outside it"
                )
            (root / "tables").mkdir(parents=True, exist_ok=True)
            with WriterLock(root / ".writer.lock"):
                if not marker.exists():
                    dlog.atomic_replace(
                        marker, json.dumps({"format": FORMAT, "created_at": _now().isoformat()}).encode()
                    )
        inst = cls(root, read_only=read_only)
        if not read_only:
            # Roll a crashed transaction forward and drop temp files of interrupted writes, if no
            # writer is busy (a busy writer would do it itself on its next transaction).
            with contextlib.suppress(LockTimeout, OSError):
                with inst._lock_for_recovery():
                    inst._recover()
                    _remove_temp_files(root)
        return inst

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
            if self._pin is not None:
                name, version, as_of_ms = self._pin
                table = PinnedTable(self.root, spec, version if spec.name == name else None, as_of_ms)
                self._tables[spec.name] = table
                return table
            table = Table(self.root, spec, self._hint)
            if not table.exists() and not self.read_only:
                with self.writer_lock():
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
        """Latest committed live rows of ``name`` (cached; re-read only after a new commit)."""
        table = self.table(name)
        if not table.exists():
            return table.spec.schema.empty_table()
        return table.snapshot()

    def snapshot_pl(self, name: str):
        table = self.table(name)
        if not table.exists():
            return frame_of(table.spec.schema.empty_table())
        return table.snapshot_pl()

    def at(self, table: str | None = None, version: int | None = None, as_of: dt.datetime | None = None) -> Instance:
        """A read-only view of this instance in the past: ``table`` at ``version`` (the other tables
        as they were when that version was committed), or every table as of the time ``as_of``."""
        if version is not None:
            if table is None:
                raise ValueError("a version number needs the table it belongs to")
            t = self.table(table)
            versions, _ = dlog.list_log(t.path)
            if (
                isinstance(version, bool)
                or not isinstance(version, (int, np.integer))
                or not versions
                or not (0 <= int(version) <= versions[-1])
            ):
                newest = versions[-1] if versions else -1
                raise ValueError(f"table '{table}' has versions 0 to {newest}; there is no version {version!r}")
            ms = commit_time_ms(self.root, table, t.path, int(version))
            pin: tuple[str | None, int | None, float] = (table, int(version), ms)
        elif as_of is not None:
            if not isinstance(as_of, dt.datetime):
                raise ValueError(f"as_of must be a datetime, got {type(as_of).__name__} {as_of!r}")
            if as_of.tzinfo is None:
                as_of = as_of.astimezone()
            pin = (None, None, as_of.timestamp() * 1000)
        else:
            raise ValueError("give a version or an as_of time")
        view = Instance(self.root, read_only=True, pin=pin)
        for spec in [t.spec for t in self._tables.values()]:
            view.register(spec)
        return view

    def read_version(self, name: str, version: int | None = None, as_of: dt.datetime | None = None) -> pa.Table:
        """Live rows of ``name`` at an older ``version`` or as of a time (Delta time travel)."""
        return self.table(name).read_version(version, as_of)

    def find(self, name: str, column: str, value, limit: int | None = None) -> pa.Table:
        """Rows of ``name`` whose ``column`` equals ``value`` (hash-indexed point lookup)."""
        table = self.table(name)
        if not table.exists():
            return table.spec.schema.empty_table()
        snap, rows = table.find(column, value)
        if limit is not None:
            rows = rows[:limit]
        if len(rows) <= 16:  # slicing is O(log chunks); take() on a chunked table copies every chunk
            return pa.concat_tables([snap.slice(int(p), 1) for p in rows]) if len(rows) else snap.slice(0, 0)
        return snap.take(pa.array(rows, pa.int64()))

    def current_version(self, name: str) -> int | None:
        """Newest committed version of ``name`` (None: the table does not exist yet)."""
        table = self._tables.get(name)
        if table is None or not table.exists():
            return None
        return table.state.version

    def _hint(self, name: str) -> tuple[int, int] | None:
        """``(version, next_id)`` recorded in state.json for ``name``."""
        self._read_state()
        entry = self._state.get("tables", {}).get(name)
        return None if entry is None else (int(entry["version"]), int(entry.get("next_id", 1)))

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
            except (OSError, ValueError):
                return  # a damaged hint is no hint; the log is the truth
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
    def _lock_for_recovery(self):
        self._lock.acquire(0)
        try:
            yield
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None):
        """An atomic write over any number of tables.

        >>> with inst.transaction() as tx:  # doctest: +SKIP
        ...     res = tx.commit("ulabel", inserts=rows)      # checked now, ids assigned now
        ...     tx.commit("ulabel_links", delete_ids=[3])
        ... # here every staged commit became visible at once (or, on an exception, none did)

        Waits at most ``timeout`` seconds for the writer lock (default ``lock_timeout``, 60 s),
        then raises ``LockTimeout`` naming the holder. Nested calls join the outer transaction.
        """
        lock = self.writer_lock()
        with self._thread_lock:
            current = getattr(self, "_tx", None)
            if current is not None:
                yield current
                return
            lock.acquire(self.lock_timeout if timeout is None else timeout)
            tx = Transaction(self)
            self._tx: Transaction | None = tx
            try:
                self._recover()
                yield tx
                tx._publish()
            except BaseException:
                tx._discard()
                self._tx = None
                lock.release()
                raise
            try:
                tx._after_commit_locked()
            finally:
                self._tx = None
                lock.release()
            tx._after_commit()

    def commit(
        self,
        name: str,
        *,
        inserts: pa.Table | None = None,
        updates: pa.Table | None = None,
        delete_ids: Iterable[int] | None = None,
    ) -> CommitResult:
        """Commit inserts, updates and deletes to one table atomically (a one-table transaction)."""
        with self.transaction() as tx:
            return tx.commit(name, inserts=inserts, updates=updates, delete_ids=delete_ids)

    def delete_rows(self, name: str, ids: Iterable[int]) -> int:
        """Delete rows by id in one commit; returns how many existed."""
        with self.transaction() as tx:
            return tx.delete_rows(name, ids)

    def compact(self, names: Iterable[str] | None = None, retention_hours: float | None = None) -> dict[str, int]:
        """Rewrite tables as files of FILE_ROWS rows and vacuum files unreferenced for ``retention_hours``
        (default 7 days, so time travel to recent versions keeps working).

        Returns the number of data files per table after compaction.
        """
        out = {}
        hours = self.retention_hours if retention_hours is None else retention_hours
        with self.transaction() as tx:
            for name in names or sorted(self._tables):
                table = self.table(name)
                if not table.exists():
                    continue
                tx._stage(name).rechunk(small_only=False)
        for name in names or sorted(self._tables):
            table = self.table(name)
            if not table.exists():
                continue
            _best_effort(f"vacuum of '{name}'", lambda t=table: _vacuum(t, hours))
            out[name] = len(table.state.files)
        return out

    # -- journal -----------------------------------------------------------------------------
    def _recover(self) -> list[str]:
        """Roll a crashed multi-table transaction forward (its journal is durable) or drop a
        journal that is not whole (nothing of it was published). Caller holds the lock."""
        path = self.root / JOURNAL
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        done = []
        try:
            journal = json.loads(raw)
            body = json.dumps(journal["tables"], sort_keys=True).encode()
            ok = journal.get("sha256") == hashlib.sha256(body).hexdigest()
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            # Entries are published only after the journal is durable, so a damaged journal
            # means its transaction never committed: roll back (set it aside for inspection).
            os.replace(path, self.root / f"journal.damaged-{_now().strftime('%Y%m%dT%H%M%S')}.json")
            dlog.fsync_dir(self.root)
            return ["rolled back an incomplete transaction journal"]
        for item in journal["tables"]:
            tpath = self.root / "tables" / item["table"]
            data = item["entry"].encode()
            if not dlog.publish_entry(tpath, int(item["version"]), data):
                existing = (tpath / dlog.LOG / dlog.entry_name(int(item["version"]))).read_bytes()
                if existing != data:
                    raise CorruptInstance(
                        self.root,
                        item["table"],
                        int(item["version"]),
                        f"tables/{item['table']}/{dlog.LOG}/{dlog.entry_name(int(item['version']))}",
                        "the transaction journal and the log disagree about this version",
                    )
            else:
                done.append(f"rolled forward {item['table']} version {item['version']}")
        os.unlink(path)
        dlog.fsync_dir(self.root)
        return done or ["removed a journal whose entries were all published"]

    def _publish_state(self, updates: dict[str, tuple[int, int]]) -> None:
        self._read_state()
        state = {"tables": dict(self._state.get("tables", {}))}
        for name, (version, next_id) in updates.items():
            state["tables"][name] = {"version": version, "next_id": next_id}
        # A hint, written after the commit point: renamed atomically but not fsynced (after a
        # power loss it may lag the log, which readers tolerate; it can never lead it).
        dlog.atomic_replace(self.root / "state.json", json.dumps(state).encode(), durable=False)
        self._read_state()


class Transaction:
    """Commits staged inside ``Instance.transaction()``; published together when the block ends."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self._stages: dict[str, Stage] = {}
        self._published: list[Stage] = []

    def _stage(self, name: str) -> Stage:
        stage = self._stages.get(name)
        if stage is None:
            table = self.instance.table(name)
            if not table.exists():
                table.create()
            hint = self.instance._hint(name)
            stage = self._stages[name] = Stage(table, table.state, hint[1] if hint else 0)
        return stage

    def commit(
        self,
        name: str,
        *,
        inserts: pa.Table | None = None,
        updates: pa.Table | None = None,
        delete_ids: Iterable[int] | None = None,
    ) -> CommitResult:
        """Check and stage a batch for ``name``: ids and uids are assigned now, visible at the end."""
        ids = None
        if delete_ids is not None:
            ids = np.asarray(delete_ids if isinstance(delete_ids, np.ndarray) else list(delete_ids), np.int64)
        return self._stage(name).apply(inserts, updates, ids)

    def delete_rows(self, name: str, ids: Iterable[int]) -> int:
        """Stage the deletion of the rows among ``ids`` that exist; returns how many."""
        ids = np.unique(np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64))
        if not len(ids):
            return 0
        stage = self._stage(name)
        ids = ids[stage.state.locate(ids) >= 0]
        if len(ids):
            stage.apply(None, None, ids)
        return int(len(ids))

    def snapshot(self, name: str) -> pa.Table:
        """``name`` as this transaction sees it: committed rows plus what it staged."""
        stage = self._stages.get(name)
        return stage.snapshot() if stage is not None else self.instance.snapshot(name)

    # -- the end of the block ----------------------------------------------------------------
    def _publish(self) -> None:
        stages = [s for s in self._stages.values() if s.dirty]
        if not stages:
            return
        root = self.instance.root
        entries = [(s, s.entry()) for s in stages]
        if len(entries) == 1:
            stage, data = entries[0]
            try:
                landed = dlog.publish_entry(stage.table.path, stage.state.version, data)  # the commit point
            except OSError as e:
                raise CommitFailed(root, stage.spec.name, e) from None
            if not landed:
                raise CorruptInstance(
                    root,
                    stage.spec.name,
                    stage.state.version,
                    None,
                    "another writer committed this version without the lock",
                )
        else:
            tables = [{"table": s.spec.name, "version": s.state.version, "entry": data.decode()} for s, data in entries]
            body = json.dumps(tables, sort_keys=True).encode()
            journal = {"tables": tables, "sha256": hashlib.sha256(body).hexdigest()}
            try:
                dlog.atomic_replace(root / JOURNAL, json.dumps(journal).encode())  # the commit point
            except OSError as e:
                _best_effort("removing a journal that was not written whole", lambda: _unlink_if_exists(root / JOURNAL))
                raise CommitFailed(root, ", ".join(s.spec.name for s in stages), e) from None
            self._published = stages
            faults.point("after-journal")
            try:
                for i, (s, data) in enumerate(entries):
                    if i == 1:
                        faults.point("mid-publish")
                    dlog.publish_entry(s.table.path, s.state.version, data)
            except Exception as e:  # noqa: BLE001 - committed already: the journal rolls it forward
                warnings.warn(
                    f"publishing a journalled log entry failed ({type(e).__name__}: {e}); the transaction is "
                    "committed and its journal rolls it forward on the next write or open",
                    StorageWarning,
                    stacklevel=4,
                )
                return
            _best_effort("removing the transaction journal", lambda: _remove_journal(root))
        self._published = stages

    def _discard(self) -> None:
        if self._published:
            return  # past the commit point: the journal rolls forward on the next open
        for s in self._stages.values():
            s.discard()

    def _after_commit_locked(self) -> None:
        """After the commit point, still under the lock: caches and state.json (best effort)."""
        stages = self._published
        if not stages:
            return
        inst = self.instance
        for s in stages:
            with s.table._lock:
                s.table._set(s.state, s.change, s.remap)
        faults.point("before-state")
        _best_effort(
            "writing state.json",
            lambda: inst._publish_state({s.spec.name: (s.state.version, int(s.state.next_id)) for s in stages}),
        )

    def _after_commit(self) -> None:
        """After the lock is released: merging small files and checkpoints (best effort)."""
        inst = self.instance
        for s in self._published:
            small = sum(1 for f in s.state.files if f.rows < FILE_ROWS // 4)
            if small > COMPACT_THRESHOLD:
                _best_effort(f"merging small files of '{s.spec.name}'", lambda n=s.spec.name: _merge_small(inst, n))
            if s.state.version % CHECKPOINT_EVERY == 0:
                _best_effort(f"checkpoint of '{s.spec.name}'", lambda t=s.table: _checkpoint(t))


def _merge_small(inst: Instance, name: str) -> None:
    with inst.transaction() as tx:
        tx._stage(name).rechunk(small_only=True)


def _checkpoint(table: Table) -> None:
    from deltalake import DeltaTable

    DeltaTable(str(table.path)).create_checkpoint()


def _vacuum(table: Table, hours: float) -> None:
    from deltalake import DeltaTable

    DeltaTable(str(table.path)).vacuum(retention_hours=int(hours), dry_run=False, enforce_retention_duration=False)


def _remove_temp_files(root: Path) -> None:
    """Temp files of writes killed before their commit point (log entries, state, journal)."""
    for pattern in (".*.tmp", "tables/*/_delta_log/.*.tmp"):
        for p in root.glob(pattern):
            _unlink_if_exists(p)


def _unlink_if_exists(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _remove_journal(root: Path) -> None:
    os.unlink(root / JOURNAL)
    dlog.fsync_dir(root)


def _best_effort(what: str, fn) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - after the commit point nothing may turn a landed write into an error
        warnings.warn(
            f"{what} failed after the commit landed ({type(e).__name__}: {e}); the commit stands",
            StorageWarning,
            stacklevel=3,
        )


def _check_path(path) -> Path:
    if path is None or (isinstance(path, str) and not path.strip()):
        raise InvalidInstancePath(f"an instance needs a directory path, got {path!r}; e.g. registry.init('./mydata')")
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInstancePath(f"an instance path must be a string or a Path, got {type(path).__name__} {path!r}")
    return Path(path).expanduser().resolve()


def _enclosing_instance(start: Path) -> Path | None:
    for p in [start, *start.parents]:
        if (p / "instance.json").is_file() and (p / "tables").is_dir():
            return p
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
