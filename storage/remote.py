"""Instances on object storage (``s3://``, ``gs://``, ``az://``): writers that share only the bucket.

Layout in the bucket (``<url>`` = ``s3://bucket/prefix``)::

    <url>/instance.json                       marks the prefix as an instance
    <url>/_commits/<seq:020d>.json            the commit log: one object per transaction
    <url>/tables/<name>/part-*.parquet        data files (bounded, copy-on-write)
    <url>/tables/<name>/_delta_log/<v>.json   the Delta log any reader (Spark, DuckDB, polars) reads

The commit point is one conditional put: ``_commits/<seq>.json`` with ``If-None-Match: *`` (put if
absent, ``obstore.put(mode="create")``). It holds every table's Delta entry of the transaction, so
a multi-table transaction lands whole or not at all without a lock. Writers race for the next
``seq``; the loser gets ``CommitConflict`` and nothing of it is visible (its uploaded data files
are unreferenced). ``retrying(instance)`` re-runs the whole transaction block on fresh state
(fresh ids, unique constraints checked again), which is how ``ln.save`` uses it. After the
commit point the writer copies each table entry to ``_delta_log`` (put if absent); a writer
that died in between is rolled forward by the next one that pulls.

Every process keeps a local mirror of the instance (a normal local instance directory, by
default under ``~/.cache/registry/``): pulling copies new commits and the data files they add
into it, and all reads run on it, at local speed. Credentials: ``storage_options`` (obstore's
config keys, e.g. ``aws_endpoint``, ``aws_access_key_id``) or the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``GOOGLE_SERVICE_ACCOUNT``, ``AZURE_STORAGE_ACCOUNT_NAME`` ...).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import log as dlog
from .errors import CommitFailed, CorruptInstance, InstanceNotFound, InvalidInstancePath, _Mappable
from .instance import Instance

if TYPE_CHECKING:
    from obstore.store import ClientConfig

SCHEMES = ("s3://", "gs://", "gcs://", "az://", "abfs://", "abfss://", "azure://", "memory://")
COMMITS = "_commits"
PULL_INTERVAL = 1.0  # seconds between pulls triggered by reads (writes always pull)


def is_url(path) -> bool:
    return isinstance(path, str) and path.lower().startswith(SCHEMES)


class CommitConflict(_Mappable, RuntimeError):
    """Another writer committed first; nothing of this transaction is visible. Run it again."""

    def __init__(self, url: str, seq: int):
        self.url, self.seq = url, seq
        self._message(
            f"another writer committed transaction {seq} of the instance at '{url}' first; nothing was written. "
            "Run the write again (ln.save retries by itself)"
        )


class ObjectStore:
    """The few object-store operations we need, on obstore (Rust ``object_store``, as deltalake)."""

    def __init__(self, url: str, storage_options: dict | None = None):
        try:
            from obstore.store import from_url
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("instances on object storage need obstore: pip install 'registry[cloud]'") from e
        self.url = url.rstrip("/")
        opts = {k.lower(): v for k, v in (storage_options or {}).items()}
        if self.url.startswith("s3://"):
            env_endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
            endpoint = opts.get("aws_endpoint") or opts.get("aws_endpoint_url") or opts.get("endpoint") or env_endpoint
            if endpoint:
                for k in ("aws_endpoint_url", "endpoint"):
                    opts.pop(k, None)
                opts["aws_endpoint"] = endpoint
        client: ClientConfig = {}
        allow = opts.pop("aws_allow_http", None) or opts.pop("allow_http", None)
        endpoint = opts.get("aws_endpoint", "")
        if (allow is not None and str(allow).lower() == "true") or str(endpoint).startswith("http://"):
            client["allow_http"] = True  # a local server (tests, MinIO) speaks plain HTTP
        self.options = opts
        config: Any = opts or None  # the caller's option names for S3, GCS or Azure: obstore checks them
        self.store = from_url(self.url, config=config, client_options=client or None)

    def get(self, key: str) -> bytes | None:
        import obstore

        try:
            return bytes(obstore.get(self.store, key).bytes())
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        import obstore

        obstore.put(self.store, key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """The conditional put (S3 ``If-None-Match: *``); False if the object exists already."""
        import obstore
        from obstore.exceptions import AlreadyExistsError

        try:
            obstore.put(self.store, key, data, mode="create")
        except AlreadyExistsError:
            return False
        return True

    def list(self, prefix: str, offset: str | None = None) -> list[str]:
        import obstore

        out: list[str] = []
        for chunk in obstore.list(self.store, prefix, offset=offset or None):
            out.extend(m["path"] for m in chunk)
        return sorted(out)

    def upload(self, path: Path, key: str) -> None:
        import obstore

        obstore.put(self.store, key, path)

    def download(self, key: str, path: Path) -> None:
        data = self.get(key)
        if data is None:
            raise FileNotFoundError(f"{self.url}/{key}")
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            dlog.write_durable(tmp, data)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def default_mirror(url: str) -> Path:
    base = os.environ.get("REGISTRY_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "registry")
    digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    return Path(base) / f"{url.rstrip('/').rsplit('/', 1)[-1] or 'instance'}-{digest}"


class RemoteInstance(Instance):
    """An instance whose tables, commit log and state live under an object-store URL.

    Open with :meth:`open_url`. Reads run on a local mirror refreshed from the bucket (at most
    every ``pull_interval`` seconds when reading; always before a write). Writes commit with
    one conditional put; see the module docstring.
    """

    def __init__(self, root: Path, read_only: bool = False, pin: tuple | None = None):
        super().__init__(root, read_only=read_only, pin=pin)
        self.url: str = ""
        self.remote: ObjectStore  # set by open_url, the only way one is made
        self.pull_interval = PULL_INTERVAL
        self._pulled_at = 0.0
        self._pull_lock = threading.RLock()
        self.conflicts = 0  # CommitConflicts this handle saw (the retries ln.save made)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open_url(
        cls,
        url: str,
        *,
        create: bool = True,
        read_only: bool = False,
        storage_options: dict | None = None,
        mirror: str | os.PathLike | None = None,
    ) -> RemoteInstance:
        url = url.rstrip("/")
        if url.count("/") < 3 and not url.startswith("memory://"):
            raise InvalidInstancePath(f"'{url}' names a bucket without a prefix; use e.g. '{url}/myinstance'")
        store = ObjectStore(url, storage_options)
        marker = store.get("instance.json")
        if marker is None:
            if not create or read_only:
                raise InstanceNotFound(f"no registry instance at '{url}'; create one with registry.init('{url}')")
            if store.list("tables") or store.list(COMMITS):
                raise InvalidInstancePath(
                    f"'{url}' holds objects but is not a registry instance; choose another prefix"
                )
            body = json.dumps({"format": 2, "created_at": time.time(), "kind": "object-store"}).encode()
            store.put_if_absent("instance.json", body)  # two creators at once: the first one wins, both open it
        root = Path(mirror).expanduser().resolve() if mirror is not None else default_mirror(url)
        root.mkdir(parents=True, exist_ok=True)
        if not (root / "instance.json").exists():
            Instance.open(root)  # an empty local instance as the mirror
        inst = cls(root, read_only=read_only)
        inst.url, inst.remote = url, store
        inst.pull(force=True)
        return inst

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"RemoteInstance('{self.url}'{mode})"

    # -- the mirror --------------------------------------------------------------------------
    def _applied(self) -> int:
        try:
            return int(json.loads((self.root / "remote.json").read_text())["seq"])
        except (FileNotFoundError, ValueError, KeyError):
            return 0

    def _set_applied(self, seq: int) -> None:
        dlog.atomic_replace(self.root / "remote.json", json.dumps({"url": self.url, "seq": seq}).encode())

    def pull(self, force: bool = False) -> int:
        """Copy the commits made since the last pull (and their data files) into the mirror.

        Returns the newest commit number. Also rolls forward the ``_delta_log`` copy of commits
        whose writer stopped after its commit point.
        """
        with self._pull_lock:
            now = time.monotonic()
            if not force and now - self._pulled_at < self.pull_interval:
                return self._applied()
            seq = self._applied()
            keys = self.remote.list(COMMITS, offset=f"{COMMITS}/{seq:020d}.json")
            for key in keys:
                n = int(key.rsplit("/", 1)[-1].split(".")[0])
                if n <= seq:
                    continue
                if n != seq + 1:
                    raise CorruptInstance(self.url, None, n, key, f"commit {seq + 1} is missing from the commit log")
                body = self.remote.get(key)
                if body is None:  # listed a moment ago; commits are never deleted
                    raise CorruptInstance(
                        self.url,
                        None,
                        n,
                        key,
                        "a listed commit is gone (commits are never deleted: restore this object from the "
                        "bucket's object versioning or a backup)",
                    )
                self._apply(n, json.loads(body))
                seq = n
                self._set_applied(seq)
            self._pulled_at = time.monotonic()
            return seq

    def _apply(self, seq: int, commit: dict) -> None:
        for item in commit["tables"]:
            name, version, data = item["table"], int(item["version"]), item["entry"].encode()
            tpath = self.root / "tables" / name
            (tpath / dlog.LOG).mkdir(parents=True, exist_ok=True)
            local = tpath / dlog.LOG / dlog.entry_name(version)
            if local.exists():
                if local.read_bytes() != data:
                    raise CorruptInstance(
                        self.url,
                        name,
                        version,
                        f"tables/{name}/_delta_log/{local.name}",
                        f"the local mirror at '{self.root}' disagrees with commit {seq}; delete the mirror directory",
                    )
            else:
                entry = dlog.parse_entry(self.root, name, local, version, raw=data)
                for add in entry.adds:
                    p = tpath / add["path"]
                    if not p.exists():
                        self.remote.download(f"tables/{name}/{add['path']}", p)
                dlog.publish_entry(tpath, version, data)
            # roll the Delta log forward (a no-op when the writer did it already)
            self.remote.put_if_absent(f"tables/{name}/{dlog.LOG}/{dlog.entry_name(version)}", data)

    # -- reads pull first (throttled) ------------------------------------------------------------
    def snapshot(self, name: str):
        self.pull()
        return super().snapshot(name)

    def snapshot_pl(self, name: str):
        self.pull()
        return super().snapshot_pl(name)

    def find(self, name: str, column: str, value, limit: int | None = None):
        self.pull()
        return super().find(name, column, value, limit)

    def current_version(self, name: str):
        self.pull()
        return super().current_version(name)

    # -- tables ------------------------------------------------------------------------------
    def register(self, spec):
        with self._thread_lock:
            if spec.name in self._tables:
                return self._tables[spec.name]
            self.pull(force=True)
            tpath = self.root / "tables" / spec.name
            if self.read_only or (tpath / dlog.LOG / dlog.entry_name(0)).exists():
                return super().register(spec)
            # a new table: its version 0 is a commit like any other
            for _ in range(100):
                table = super().register(spec)  # creates version 0 in the mirror
                data = (tpath / dlog.LOG / dlog.entry_name(0)).read_bytes()
                seq = self._applied() + 1
                body = {"seq": seq, "tables": [{"table": spec.name, "version": 0, "entry": data.decode()}]}
                if self.remote.put_if_absent(f"{COMMITS}/{seq:020d}.json", json.dumps(body).encode()):
                    self._set_applied(seq)
                    self.remote.put_if_absent(f"tables/{spec.name}/{dlog.LOG}/{dlog.entry_name(0)}", data)
                    return table
                # someone committed first: forget our local version 0 and take theirs if they made one
                self._tables.pop(spec.name, None)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tpath / dlog.LOG / dlog.entry_name(0))
                self.pull(force=True)
                if (tpath / dlog.LOG / dlog.entry_name(0)).exists():
                    return super().register(spec)
            raise CommitConflict(self.url, self._applied() + 1)

    # -- writes --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None):
        if getattr(self, "_tx", None) is not None:
            with super().transaction(timeout) as tx:
                yield tx
            return
        with super().transaction(timeout) as tx:
            # under the local lock: catch up with the bucket, then stage against fresh state
            self.pull(force=True)
            for t in self._tables.values():
                with contextlib.suppress(Exception):
                    t.state  # noqa: B018 - refresh each table's cached state from the mirror
            tx._publish = lambda tx=tx: self._publish_remote(tx)
            yield tx

    def _publish_remote(self, tx) -> None:
        stages = [s for s in tx._stages.values() if s.dirty]
        if not stages:
            return
        entries = [(s, s.entry()) for s in stages]
        try:
            for s, _ in entries:
                for path in s.written:
                    self.remote.upload(path, f"tables/{s.spec.name}/{path.name}")
        except OSError as e:
            raise CommitFailed(self.url, ", ".join(s.spec.name for s in stages), e) from None
        seq = self._applied() + 1
        body = {
            "seq": seq,
            "tables": [{"table": s.spec.name, "version": s.state.version, "entry": d.decode()} for s, d in entries],
        }
        try:
            landed = self.remote.put_if_absent(f"{COMMITS}/{seq:020d}.json", json.dumps(body).encode())  # commit point
        except OSError as e:
            raise CommitFailed(self.url, ", ".join(s.spec.name for s in stages), e) from None
        if not landed:
            self.conflicts += 1
            raise CommitConflict(self.url, seq)
        tx._published = stages
        # after the commit point: the mirror and the Delta logs (a crash here is rolled forward)
        for s, data in entries:
            dlog.publish_entry(s.table.path, s.state.version, data)
        self._set_applied(seq)
        for s, data in entries:
            with contextlib.suppress(Exception):
                self.remote.put_if_absent(f"tables/{s.spec.name}/{dlog.LOG}/{dlog.entry_name(s.state.version)}", data)

    def compact(self, names=None, retention_hours: float | None = None) -> dict[str, int]:
        """Merging files rewrites them in the mirror only; on object storage it is not done yet."""
        return {}


def retrying(instance, attempts: int = 50):
    """Run a transaction block until it commits: ``for attempt in retrying(inst): with attempt: ...``.

    On a local instance the block runs once (the writer lock serialises writers). On object
    storage a ``CommitConflict`` (another writer took the commit number) re-runs the block,
    which stages again on fresh state: fresh ids, unique constraints checked again.
    """
    if not isinstance(instance, RemoteInstance):
        yield contextlib.nullcontext()
        return
    for i in range(attempts):
        attempt = _Attempt()
        yield attempt
        if attempt.done:
            return
        time.sleep(min(0.5, 0.005 * 2**i) * (0.5 + (hash((os.getpid(), i, time.time())) % 1000) / 1000))
    raise CommitConflict(instance.url, instance._applied() + 1)


class _Attempt:
    def __init__(self):
        self.done = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.done = True
            return False
        return isinstance(exc, CommitConflict)  # swallow it: the loop runs the block again
