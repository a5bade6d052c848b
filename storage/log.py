"""The Delta Lake log, written by us and read back with checks, so that a commit is one durable file.

A commit is one ``_delta_log/<version>.json`` entry (Delta protocol: newline-delimited JSON
actions). It is written to a temporary file, fsynced, published with ``os.link`` (put if
absent: two writers can never both create version N) and the directory is fsynced. That
publication is the commit point: before it, nothing is visible; after it, the commit is durable.

Our entries end with a ``commitInfo`` whose ``registry`` member carries the number of actions
before it and their SHA-256, so a torn or truncated entry is recognised as such instead of
being read as a smaller commit. Entries written by other Delta writers (no checksum, and
deltalake ends its last line without a newline) are accepted when every line parses.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from . import faults
from .errors import CorruptInstance

LOG = "_delta_log"
_ENTRY = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint\.parquet$")


def entry_name(version: int) -> str:
    return f"{version:020d}.json"


def now_ms() -> int:
    return int(time.time() * 1000)


# -- durability helpers ------------------------------------------------------------------------
def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to a new file ``path`` and fsync it (the caller publishes and fsyncs the dir)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, rename); ``durable``: with fsyncs of
    the file and the directory."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write_durable(tmp, data, durable)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- entries -----------------------------------------------------------------------------------
def encode_entry(actions: list[dict], info: dict | None = None) -> bytes:
    """The bytes of a log entry: ``actions`` then a commitInfo carrying their count and checksum."""
    body = "".join(json.dumps(a, separators=(",", ":")) + "\n" for a in actions).encode()
    commit_info = {
        "timestamp": now_ms(),
        "operation": (info or {}).get("operation", "WRITE"),
        "operationParameters": {},
        "engineInfo": "registry",
        "registry": {**(info or {}), "actions": len(actions), "sha256": hashlib.sha256(body).hexdigest()},
    }
    return body + (json.dumps({"commitInfo": commit_info}, separators=(",", ":")) + "\n").encode()


def publish_entry(table_path: Path, version: int, data: bytes) -> bool:
    """Put entry ``version`` if absent (the commit point). False if another writer has it already."""
    log = table_path / LOG
    final = log / entry_name(version)
    tmp = log / f".{version:020d}.{uuid.uuid4().hex}.json.tmp"
    try:
        write_durable(tmp, data)
        faults.point("before-log-link")
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
    finally:
        _unlink_quietly(tmp)
    faults.point("after-log-link")
    try:
        fsync_dir(log)
    except OSError as e:  # the entry is published: the commit stands
        import warnings

        warnings.warn(
            f"fsync of {log} failed after a commit was published ({e}); the commit stands", RuntimeWarning, stacklevel=2
        )
    return True


@dataclass
class Entry:
    """One parsed log entry."""

    version: int
    adds: list[dict] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    metadata: dict | None = None
    protocol: dict | None = None
    info: dict = field(default_factory=dict)  # our commitInfo.registry member (empty for foreign entries)
    timestamp: int | None = None


def parse_entry(root: Path, table: str, path: Path, version: int, raw: bytes | None = None) -> Entry:
    """Parse and verify one entry; a 0-byte, unparseable or torn entry raises CorruptInstance."""
    rel = f"tables/{table}/{LOG}/{path.name}"
    if raw is None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CorruptInstance(root, table, version, rel, "the log entry is missing") from None
    if not raw.strip():
        raise CorruptInstance(root, table, version, rel, "the log entry is empty (0 bytes)")
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    entry = Entry(version)
    body_end = 0
    for i, line in enumerate(lines):
        try:
            action = json.loads(line)
        except ValueError:
            raise CorruptInstance(
                root, table, version, rel, f"line {i + 1} of the log entry is not JSON (torn write)"
            ) from None
        if not isinstance(action, dict):
            raise CorruptInstance(root, table, version, rel, f"line {i + 1} of the log entry is not an action")
        if "add" in action:
            entry.adds.append(action["add"])
        elif "remove" in action:
            entry.removes.append(action["remove"]["path"])
        elif "metaData" in action:
            entry.metadata = action["metaData"]
        elif "protocol" in action:
            entry.protocol = action["protocol"]
        elif "commitInfo" in action:
            ci = action["commitInfo"]
            entry.timestamp = ci.get("timestamp")
            if isinstance(ci.get("registry"), dict):
                entry.info = ci["registry"]
                body_end = sum(len(x) + 1 for x in lines[:i])
                if i != len(lines) - 1:
                    raise CorruptInstance(root, table, version, rel, "the log entry has lines after its commitInfo")
    if entry.info:
        body = raw[:body_end]
        n = sum(1 for x in lines[: len(lines) - 1])
        if entry.info.get("actions") != n or entry.info.get("sha256") != hashlib.sha256(body).hexdigest():
            raise CorruptInstance(root, table, version, rel, "the log entry's checksum does not match (damaged)")
    return entry


def list_log(table_path: Path) -> tuple[list[int], int | None]:
    """``(entry versions sorted, newest checkpoint version or None)``."""
    versions, checkpoints = [], []
    try:
        names = os.listdir(table_path / LOG)
    except FileNotFoundError:
        return [], None
    for name in names:
        m = _ENTRY.match(name)
        if m:
            versions.append(int(m.group(1)))
            continue
        m = _CHECKPOINT.match(name)
        if m:
            checkpoints.append(int(m.group(1)))
    versions.sort()
    return versions, (max(checkpoints) if checkpoints else None)


def read_checkpoint(table_path: Path, version: int) -> tuple[dict[str, dict], dict | None, dict | None]:
    """Active files, metadata and protocol at checkpoint ``version`` (written by deltalake)."""
    import pyarrow.parquet as pq

    t = pq.ParquetFile(table_path / LOG / f"{version:020d}.checkpoint.parquet").read(
        columns=["add", "metaData", "protocol"]
    )
    files: dict[str, dict] = {}
    adds = t.column("add").combine_chunks()
    valid = adds.is_valid()
    adds = adds.filter(valid)
    if len(adds):
        paths = adds.field("path").to_pylist()
        sizes = adds.field("size").to_pylist()
        stats = adds.field("stats").to_pylist()
        for p, s, st in zip(paths, sizes, stats, strict=True):
            files[p] = {"path": p, "size": s, "stats": st}
    meta = _first_valid(t.column("metaData"))
    proto = _first_valid(t.column("protocol"))
    if meta is not None and isinstance(meta.get("configuration"), list):
        meta["configuration"] = dict(meta["configuration"])
    return files, meta, proto


def _first_valid(col: pa.ChunkedArray) -> dict | None:
    for v in col.to_pylist():
        if v is not None:
            return v
    return None


def new_file_name() -> str:
    return f"part-{uuid.uuid4().hex}.parquet"
