"""``registry doctor``: check every table of an instance, and repair what can be repaired without
losing a committed row.

Checks: a pending transaction journal; log continuity (no gap, every entry whole: not empty,
every line JSON, our checksum matching); every active data file present and readable, with the
row count its ``add`` action recorded; ``state.json`` not ahead of the log; unique columns
unique; link and foreign-key columns pointing at live rows (constraints come from the
``TableSpec`` passed in, or from the table's Delta metadata, where tables record them).

Repairs: roll a journal forward; set aside a torn or empty newest log entry (under our
protocol such an entry was never acknowledged: entries are fsynced before they are published);
rebuild ``state.json`` from the log; restore the rows of a missing or unreadable data file from
the newest older version that still has them readable (changes made to those rows since then
are reported as lost). Everything else is reported, not touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from . import log as dlog
from .errors import CorruptInstance, LockTimeout
from .table import DataFile, TableSpec, int_values


@dataclass
class DoctorReport:
    root: Path
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # tables checked

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"registry doctor: {self.root} ({len(self.checked)} tables checked)"]
        lines += [f"  repaired: {r}" for r in self.repaired]
        lines += [f"  PROBLEM:  {p}" for p in self.problems]
        if self.ok:
            lines.append("  ok: every table is whole" + (" after the repairs above" if self.repaired else ""))
        elif not self.repaired:
            lines.append(f"  run `registry doctor --path {self.root} --repair` to repair what can be repaired")
        return "\n".join(lines)


def check(root, repair: bool = False, specs: Iterable[TableSpec] | None = None) -> DoctorReport:
    """Check (and with ``repair``, repair) the instance at ``root``; see the module docstring."""
    from .instance import Instance

    root = Path(root).expanduser().resolve()
    report = DoctorReport(root)
    if not (root / "instance.json").is_file():
        report.problems.append(f"'{root}' is not a registry instance (no instance.json)")
        return report
    by_name = {s.name: s for s in specs or ()}
    inst = Instance(root)
    lock = inst._lock
    held = False
    if repair:
        try:
            lock.acquire(10)
            held = True
        except LockTimeout as e:
            report.problems.append(f"cannot repair while another process writes: {e}")
            repair = False
    try:
        if (root / "journal.json").exists():
            if repair:
                report.repaired += inst._recover()
            else:
                report.problems.append(
                    "a multi-table transaction was interrupted (journal.json): it is rolled forward on repair"
                )
        state = _read_state(root, report)
        tables_dir = root / "tables"
        names = sorted(p.name for p in tables_dir.iterdir() if p.is_dir()) if tables_dir.is_dir() else []
        live: dict[str, np.ndarray] = {}
        loaded: dict[str, tuple[TableSpec, pa.Table]] = {}
        new_state: dict[str, dict] = {}
        for name in names:
            report.checked.append(name)
            result = _check_table(root, name, by_name.get(name), state.get(name), report, repair)
            if result is None:
                continue
            spec, snap, version, next_id = result
            loaded[name] = (spec, snap)
            live[name] = int_values(snap.column("id"))
            new_state[name] = {"version": version, "next_id": next_id}
        for name, (spec, snap) in loaded.items():
            _check_constraints(name, spec, snap, live, report)
        if repair and new_state != {k: v for k, v in state.items() if k in new_state}:
            merged = {**state, **new_state}
            dlog.atomic_replace(root / "state.json", json.dumps({"tables": merged}).encode())
            report.repaired.append("rebuilt state.json from the logs")
    finally:
        if held:
            lock.release()
    return report


def _read_state(root: Path, report: DoctorReport) -> dict:
    path = root / "state.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_bytes())["tables"]
    except (ValueError, KeyError, TypeError):
        report.problems.append("state.json is unreadable (a hint only: rebuilt from the logs on repair)")
        return {}


def _check_table(root: Path, name: str, spec: TableSpec | None, recorded: dict | None, report, repair: bool):
    from .table import read_state

    path = root / "tables" / name
    versions, checkpoint = dlog.list_log(path)
    if not versions:
        report.problems.append(f"{name}: no log entries (not a Delta table)")
        return None
    # 1. every entry whole; a damaged newest entry can be set aside
    start = checkpoint + 1 if checkpoint is not None else 0
    for v in range(start, versions[-1] + 1):
        f = path / dlog.LOG / dlog.entry_name(v)
        if not f.exists():
            report.problems.append(
                f"{name}: log entry version {v} is missing ({_rel(root, f)}); the table cannot be read past it"
            )
            return None
        try:
            dlog.parse_entry(root, name, f, v)
        except CorruptInstance as e:
            if v == versions[-1] and repair:
                aside = path / dlog.LOG / ".damaged"
                aside.mkdir(exist_ok=True)
                os.replace(f, aside / f"{f.name}.{dlog.now_ms()}")
                dlog.fsync_dir(path / dlog.LOG)
                report.repaired.append(
                    f"{name}: set aside the damaged newest log entry version {v} ({e.problem}); "
                    f"the table is back at version {v - 1}, its last whole version"
                )
                versions = versions[:-1]
                break
            report.problems.append(f"{name}: version {v}: {e.problem} ({_rel(root, f)})")
            return None
    newest = versions[-1]
    if recorded is not None and int(recorded.get("version", -1)) > newest:
        msg = (
            f"{name}: state.json records version {recorded['version']} but the log ends at version {newest} "
            "(a committed entry is missing)"
        )
        if repair:
            report.repaired.append(msg + "; state.json now follows the log (the missing commit cannot be recovered)")
        else:
            report.problems.append(msg)
    # 2. the files of the newest version
    meta_spec = spec or _spec_from_metadata(root, name, path, newest)
    if meta_spec is None:
        report.problems.append(f"{name}: the table's schema is unreadable")
        return None
    for _ in range(3):
        try:
            st = read_state(root, meta_spec, path, newest)
            break
        except CorruptInstance as e:
            if repair and e.file and e.file.endswith(".parquet"):
                fixed = _restore_file(root, meta_spec, path, newest, e.file.rsplit("/", 1)[-1], report)
                if fixed is not None:
                    newest = fixed
                    continue
            report.problems.append(f"{name}: version {e.version}: {e.problem} ({e.file})")
            return None
    else:
        report.problems.append(f"{name}: could not restore its damaged files")
        return None
    snap = st.snapshot(meta_spec.schema)
    return meta_spec, snap, st.version, int(max(st.next_id, (recorded or {}).get("next_id", 1)))


def _restore_file(root: Path, spec: TableSpec, path: Path, version: int, bad: str, report) -> int | None:
    """Replace the damaged file ``bad`` by the rows with its ids from the newest older version that
    has them readable; commit that as a new version. Returns the new version or None."""
    from .table import read_part, remove_action, write_part

    entries = [dlog.parse_entry(root, spec.name, path / dlog.LOG / dlog.entry_name(v), v) for v in range(version + 1)]
    add = next((a for e in reversed(entries) for a in e.adds if a["path"] == bad), None)
    if add is None:
        return None
    try:
        stats = json.loads(add.get("stats") or "{}")
        lo, hi, n = stats["minValues"]["id"], stats["maxValues"]["id"], stats["numRecords"]
    except (ValueError, KeyError, TypeError):
        return None
    # Replay older versions; the newest whose files covering [lo, hi] all read is the source.
    active: dict[str, dict] = {}
    history = []
    for e in entries:
        for p in e.removes:
            active.pop(p, None)
        for a in e.adds:
            active[a["path"]] = a
        history.append(dict(active))
    for v in range(version - 1, -1, -1):
        rows = []
        try:
            for p, a in history[v].items():
                if p == bad:
                    raise CorruptInstance(root, spec.name, v, p, "same file")
                s = json.loads(a.get("stats") or "{}")
                if s.get("maxValues", {}).get("id", hi) < lo or s.get("minValues", {}).get("id", lo) > hi:
                    continue
                part = read_part(root, spec, path, p, v)
                rows.append(part)
        except CorruptInstance:
            continue
        if not rows:
            continue
        t = pa.concat_tables(rows)
        ids = int_values(t.column("id"))
        keep = (ids >= lo) & (ids <= hi)
        t = t.filter(pa.array(keep))
        name, new_add = write_part(path, t)
        bad_file = DataFile(bad, int(n), int(lo), int(hi), int(add.get("size", 0)))
        data = dlog.encode_entry(
            [remove_action(bad_file), {"add": new_add}], {"operation": "RESTORE", "next_id": int(hi) + 1}
        )
        if not dlog.publish_entry(path, version + 1, data):
            os.unlink(path / name)
            return None
        lost = "" if t.num_rows == n else f" ({n - t.num_rows:+d} rows differ from the damaged file's count)"
        report.repaired.append(
            f"{spec.name}: restored ids {lo}..{hi} from version {v} into version {version + 1} in place of the "
            f"damaged file {bad}; changes to those rows after version {v} are lost{lost}"
        )
        return version + 1
    return None


def _spec_from_metadata(root: Path, name: str, path: Path, version: int) -> TableSpec | None:
    from deltalake import Schema

    meta = None
    for v in range(version, -1, -1):
        f = path / dlog.LOG / dlog.entry_name(v)
        try:
            e = dlog.parse_entry(root, name, f, v)
        except CorruptInstance:
            continue
        if e.metadata is not None:
            meta = e.metadata
            break
    if meta is None:
        _, cp = dlog.list_log(path)
        if cp is not None:
            _, meta, _ = dlog.read_checkpoint(path, cp)
    if meta is None:
        return None
    schema = Schema.from_json(meta["schemaString"]).to_arrow()
    schema = _plain_arrow(schema)
    fields = [f for f in schema if f.name not in ("_rev", "_deleted")]
    conf = meta.get("configuration") or {}
    unique = tuple(x for x in conf.get("registry.unique", "").split(",") if x)
    refs = tuple(tuple(x.split(":", 1)) for x in conf.get("registry.references", "").split(",") if ":" in x)
    if not unique and "uid" in schema.names:
        unique = ("uid",)
    return TableSpec(name, pa.schema(fields), unique=unique, references=refs)


def _plain_arrow(schema) -> pa.Schema:
    """deltalake returns arro3 schemas in 1.x; make a pyarrow schema."""
    if isinstance(schema, pa.Schema):
        return schema
    return pa.schema(schema)


def _check_constraints(name: str, spec: TableSpec, snap: pa.Table, live: dict, report) -> None:
    df = pl.from_arrow(snap)
    assert isinstance(df, pl.DataFrame)  # a table converts to a frame
    ids = df.get_column("id")
    if ids.n_unique() != len(ids):
        report.problems.append(f"{name}: id values repeat ({len(ids) - ids.n_unique()} duplicates)")
    for col in spec.unique:
        if col not in df.columns:
            continue
        s = df.get_column(col).drop_nulls()
        if s.n_unique() != len(s):
            dup = s.filter(s.is_duplicated()).unique().head(3).to_list()
            report.problems.append(f"{name}: unique column {col} repeats values, e.g. {dup}")
    for col, target in spec.references:
        if col not in df.columns or target not in live:
            continue
        vals = df.get_column(col).drop_nulls().to_numpy()
        dangling = np.unique(vals[~np.isin(vals, live[target])])
        if len(dangling):
            report.problems.append(
                f"{name}: {len(dangling)} value(s) of {col} point at no live row of {target}, e.g. {dangling[:3].tolist()}"
            )


def _rel(root: Path, f: Path) -> str:
    try:
        return str(f.relative_to(root))
    except ValueError:
        return str(f)
