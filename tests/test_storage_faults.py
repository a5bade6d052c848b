"""Fault injection: SIGKILL at chosen points of a commit, disk full (ENOSPC) at every step,
RLIMIT_FSIZE, damaged/truncated/empty/missing log entries and data files, stale state, locks.

Every test here failed on the storage of the old main (appended row versions through
deltalake, an unbounded writer lock, state.json as the freshness signal)."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import warnings

import pyarrow as pa
import pytest
from registry.storage import CommitFailed, CorruptInstance, Instance, LockTimeout, StorageWarning, TableSpec, doctor
from registry.storage import table as storage_table
from registry.storage.log import LOG, entry_name

SCHEMA = pa.schema([("id", pa.int64()), ("uid", pa.string()), ("name", pa.string())])
A = TableSpec("a", SCHEMA, unique=("uid", "name"), uid_length=8)
B = TableSpec("b", SCHEMA, unique=("uid", "name"), uid_length=8)


def _open(path) -> Instance:
    inst = Instance.open(path)
    inst.register(A)
    inst.register(B)
    return inst


def _names(path, table="a") -> list[str]:
    return _open(path).snapshot(table).column("name").to_pylist()


def _run(code: str, env: dict | None = None, wait: bool = True):
    p = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if wait:
        out, err = p.communicate(timeout=120)
        return p.returncode, out, err
    return p


CHILD = """
    import sys, pyarrow as pa
    from registry.storage import Instance, TableSpec
    SCHEMA = pa.schema([("id", pa.int64()), ("uid", pa.string()), ("name", pa.string())])
    inst = Instance.open({root!r})
    for n in ("a", "b"):
        inst.register(TableSpec(n, SCHEMA, unique=("uid", "name"), uid_length=8))
    with inst.transaction() as tx:
        tx.commit("a", inserts=pa.table({{"name": ["new-a1", "new-a2"]}}))
        if {both}:
            tx.commit("b", inserts=pa.table({{"name": ["new-b"]}}))
    print("acknowledged", flush=True)
"""


@pytest.mark.parametrize(
    "point, both, landed",
    [
        ("after-data", False, False),
        ("before-log-link", False, False),
        ("after-log-link", False, True),
        ("before-state", False, True),
        ("after-data", True, False),
        ("after-journal", True, True),
        ("mid-publish", True, True),
        ("before-state", True, True),
    ],
)
def test_sigkill_at_each_point_leaves_all_or_nothing(tmp_path, point, both, landed):
    root = tmp_path / "i"
    inst = _open(root)
    inst.commit("a", inserts=pa.table({"name": ["old"]}))
    inst.commit("b", inserts=pa.table({"name": ["old"]}))
    code, out, err = _run(CHILD.format(root=str(root), both=both), {"REGISTRY_KILL_AT": point})
    assert code == -signal.SIGKILL, err
    assert "acknowledged" not in out
    a, b = _names(root, "a"), _names(root, "b")  # the next open rolls forward or back
    if landed:
        assert a == ["old", "new-a1", "new-a2"]
        assert b == (["old", "new-b"] if both else ["old"])
    else:
        assert a == ["old"] and b == ["old"]
    assert not (root / "journal.json").exists()
    assert not list(root.glob("tables/*/_delta_log/.*.tmp"))  # interrupted temp files are gone
    assert doctor.check(root).ok
    # and the instance takes the next write with dense ids
    r = _open(root).commit("a", inserts=pa.table({"name": ["next"]}))
    assert r.ids.tolist() == [4 if landed else 2]


KILL_ON_SECOND_DELETE = """
    import os, signal
    import registry.storage as storage
    import registry.storage.instance
    calls = []

    def killing(real):
        def wrapper(self, *a, **k):
            calls.append(1)
            if len(calls) == 2:  # the record's row is handled, its link rows are next
                os.kill(os.getpid(), signal.SIGKILL)
            return real(self, *a, **k)
        return wrapper

    storage.Instance.delete_rows = killing(storage.Instance.delete_rows)
    if hasattr(storage.instance, "Transaction"):
        storage.instance.Transaction.delete_rows = killing(storage.instance.Transaction.delete_rows)
"""


@pytest.mark.parametrize("kill", ["between-row-and-links", "mid-publish"])
def test_record_delete_is_atomic_with_its_link_rows(tmp_path, kill):
    """Issue 9.4: delete() committed the row, then its link rows; a kill between them left orphans."""
    root = tmp_path / "reg"
    rc, out, err = _run(
        f"""
        import registry as ln
        ln.init({str(root)!r})
        a = ln.Artifact(key="x.csv").save()
        a.ulabels.add(ln.ULabel(name="linked").save())
        """
    )
    assert rc == 0, err
    prelude = KILL_ON_SECOND_DELETE if kill == "between-row-and-links" else ""
    env = {"REGISTRY_KILL_AT": "mid-publish"} if kill == "mid-publish" else {}
    rc, out, err = _run(
        prelude
        + f"""
        import registry as ln
        ln.init({str(root)!r})
        ln.ULabel.get(name="linked").delete()
        print("acknowledged")
        """,
        env,
    )
    assert rc == -signal.SIGKILL, err
    rc, out, err = _run(
        f"""
        import registry as ln
        from registry.storage.table import int_values
        inst = ln.init({str(root)!r})
        links = ln.Artifact.filter().one().ulabels.count()
        print(ln.ULabel.filter(name="linked").count(), links)
        """
    )
    assert rc == 0, err
    expected = ["0", "0"] if kill == "mid-publish" else ["1", "1"]  # rolled forward / nothing landed
    assert out.split() == expected


# -- disk full at every step -------------------------------------------------------------------
def _fail_nth(monkeypatch, module, name, n):
    real = getattr(module, name)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls


@pytest.mark.parametrize("both", [False, True])
@pytest.mark.parametrize("syscall", ["fsync", "write", "link", "replace"])
def test_enospc_at_every_step_either_fails_cleanly_or_lands(tmp_path, monkeypatch, syscall, both):
    """Issue 9.3: ENOSPC after the Delta append used to raise although the row was committed,
    and a retry then saved it twice."""
    for n in range(1, 12):
        root = tmp_path / f"{syscall}-{n}"
        inst = _open(root)
        inst.commit("a", inserts=pa.table({"name": ["old"]}))
        before = {p.name for p in root.glob("tables/*/*.parquet")}
        calls = _fail_nth(monkeypatch, os, syscall, n)
        failed = None
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                with inst.transaction() as tx:
                    tx.commit("a", inserts=pa.table({"name": ["new"]}))
                    if both:
                        tx.commit("b", inserts=pa.table({"name": ["new"]}))
            except Exception as e:  # noqa: BLE001
                failed = e
        monkeypatch.undo()
        reached = calls["n"] >= n
        fresh = _names(root, "a")
        if failed is not None:
            assert isinstance(failed, CommitFailed), repr(failed)
            assert "nothing was committed" in str(failed) and failed.errno == errno.ENOSPC
            assert fresh == ["old"] and _names(root, "b") == []
            assert {p.name for p in root.glob("tables/*/*.parquet")} == before  # no trace
            # the retry lands exactly once
            inst.commit("a", inserts=pa.table({"name": ["new"]}))
            assert _names(root, "a") == ["old", "new"]
        else:
            assert fresh == ["old", "new"]  # landed, so it was (at most) a warning
            assert _names(root, "b") == (["new"] if both else [])
        if not reached:
            break  # the commit needed fewer calls than n: every step has been failed once


def test_state_file_failure_after_the_commit_is_a_warning(tmp_path, monkeypatch):
    inst = _open(tmp_path / "i")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Instance, "_publish_state", full)
    with pytest.warns(StorageWarning, match="state.json"):
        r = inst.commit("a", inserts=pa.table({"name": ["landed"]}))
    monkeypatch.undo()
    assert r.ids.tolist() == [1]
    assert _names(tmp_path / "i") == ["landed"]  # a reader sees it, though state.json lags


def test_rlimit_fsize_fails_a_bulk_save_cleanly_and_the_retry_lands_once(tmp_path):
    root = tmp_path / "small"
    code = f"""
        import resource, signal
        import registry as ln
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        ln.init({str(root)!r})
        ln.save([ln.ULabel(name=f"before {{i}}") for i in range(10)])
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
        try:
            ln.save([ln.ULabel(name=f"bulk {{i}}") for i in range(40_000)])
            print("saved")
        except ln.errors.CommitFailed as e:
            print("failed", type(e).__name__, "nothing was committed" in str(e))
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        ln.save([ln.ULabel(name=f"bulk {{i}}") for i in range(40_000)])
        print("retried")
    """
    rc, out, err = _run(code)
    assert rc == 0, err
    assert out.split() == ["failed", "CommitFailed", "True", "retried"]
    rc, out, err = _run(
        f"""
        import registry as ln
        ln.init({str(root)!r})
        print(ln.ULabel.filter(name__startswith="bulk").count(), ln.ULabel.filter().count())
        """
    )
    assert rc == 0, err
    assert out.split()[0] == "40000"


# -- damaged files ---------------------------------------------------------------------------
def _three_versions(root):
    inst = _open(root)
    inst.commit("a", inserts=pa.table({"name": ["one"]}))
    inst.commit("a", inserts=pa.table({"name": ["two"]}))
    inst.commit("b", inserts=pa.table({"name": ["b-row"]}))
    return inst, inst.current_version("a")


def _damage_newest_entry(root, version, how):
    f = root / "tables" / "a" / LOG / entry_name(version)
    raw = f.read_bytes()
    if how == "empty":
        f.write_bytes(b"")
    elif how == "torn":
        f.write_bytes(raw[: len(raw) // 2])
    elif how == "lost-line":
        f.write_bytes(b"".join(raw.splitlines(keepends=True)[1:]))
    elif how == "flipped":
        f.write_bytes(raw.replace(b'"numRecords\\":1', b'"numRecords\\":2'))
    elif how == "missing":
        f.unlink()
    return f


@pytest.mark.parametrize("how", ["empty", "torn", "lost-line", "flipped", "missing"])
def test_a_damaged_newest_log_entry_is_named_never_a_smaller_answer(tmp_path, how):
    """Issue 9.2: a 0-byte, truncated or missing newest entry made the last commit vanish silently,
    and the next write committed over it."""
    root = tmp_path / "i"
    _, version = _three_versions(root)
    _damage_newest_entry(root, version, how)
    fresh = _open(root)
    with pytest.raises(CorruptInstance) as err:
        fresh.snapshot("a")
    e = err.value
    assert e.table == "a" and e.version == version and entry_name(version) in str(e)
    assert "registry doctor" in str(e) and "--repair" in str(e)
    with pytest.raises(CorruptInstance):  # a writer does not commit over it either
        fresh.commit("a", inserts=pa.table({"name": ["three"]}))
    assert fresh.snapshot("b").column("name").to_pylist() == ["b-row"]  # other tables stay usable
    report = doctor.check(root)
    assert not report.ok and any(f"version {version}" in p for p in report.problems)
    repaired = doctor.check(root, repair=True)
    assert repaired.repaired and repaired.ok, repaired.format()
    after = _open(root)
    assert after.snapshot("a").column("name").to_pylist() == ["one"]  # back at the last whole version
    after.commit("a", inserts=pa.table({"name": ["three"]}))
    assert doctor.check(root).ok


def test_a_missing_middle_entry_is_reported_not_repaired(tmp_path):
    root = tmp_path / "i"
    _three_versions(root)
    (root / "tables" / "a" / LOG / entry_name(1)).unlink()
    with pytest.raises(CorruptInstance, match="missing"):
        _open(root).snapshot("a")
    report = doctor.check(root, repair=True)
    assert not report.ok and any("version 1 is missing" in p for p in report.problems)


@pytest.mark.parametrize("how", ["garbage", "truncated", "empty", "missing"])
def test_a_damaged_data_file_is_named_and_restored(tmp_path, how):
    """Issue 9.6: a damaged Parquet file gave a raw ArrowInvalid/DeltaError with a Rust backtrace."""
    root = tmp_path / "i"
    inst = _open(root)
    inst.commit("a", inserts=pa.table({"name": ["x", "y", "z"]}))
    snap = inst.snapshot("a")
    inst.commit("a", updates=snap.slice(1, 1).set_column(2, "name", pa.array(["y2"])))
    inst.commit("b", inserts=pa.table({"name": ["fine"]}))
    entry = [json.loads(x) for x in (root / "tables/a" / LOG / entry_name(2)).read_text().splitlines()]
    newest = next(a["add"]["path"] for a in entry if "add" in a)
    f = root / "tables" / "a" / newest
    if how == "garbage":
        f.write_bytes(b"\x00garbage" * 10)
    elif how == "truncated":
        f.write_bytes(f.read_bytes()[:40])
    elif how == "empty":
        f.write_bytes(b"")
    else:
        f.unlink()
    fresh = _open(root)
    with pytest.raises(CorruptInstance) as err:
        fresh.snapshot("a")
    assert err.value.table == "a" and newest in str(err.value) and "Traceback" not in str(err.value)
    assert len(str(err.value).splitlines()) == 1
    assert fresh.snapshot("b").num_rows == 1
    report = doctor.check(root, repair=True)
    assert report.ok and any("restored ids 1..3" in r for r in report.repaired), report.format()
    assert _names(root) == ["x", "y", "z"]  # the rows are back (the update of version 2 is reported lost)


def test_registry_maps_corruption_and_keeps_other_registries_usable(tmp_path):
    import registry as ln

    ln.init(tmp_path / "reg")
    ln.save([ln.ULabel(name=f"c{i}") for i in range(3)])
    table = ln.settings.instance.table("ulabel")
    version = table.state.version
    (table.path / LOG / entry_name(version)).write_bytes(b"")
    ln.init(tmp_path / "reg")
    with pytest.raises(ln.errors.CorruptInstance, match="ulabel") as err:
        ln.ULabel.filter().count()
    assert isinstance(err.value, OSError)
    assert ln.User.filter().count() >= 1


# -- readers and the state hint --------------------------------------------------------------
def test_a_stale_state_file_does_not_turn_reads_into_reloads(tmp_path, monkeypatch):
    """Issue 9.3: with state.json behind the log, every count() reloaded the table (3 ms -> 1.2 s)."""
    root = tmp_path / "i"
    inst = _open(root)
    inst.commit("a", inserts=pa.table({"name": ["x"]}))
    stale = (root / "state.json").read_bytes()
    inst.commit("a", inserts=pa.table({"name": ["y"]}))
    (root / "state.json").write_bytes(stale)  # the hint lags the log by one version
    loads = {"n": 0}
    real = storage_table.read_state

    def counting(*a, **k):
        loads["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(storage_table, "read_state", counting)
    reader = _open(root)
    for _ in range(50):
        assert reader.snapshot("a").num_rows == 2
    assert loads["n"] == 1


def test_readers_follow_other_writers_reading_only_new_files(tmp_path, monkeypatch):
    root = tmp_path / "i"
    writer, reader = _open(root), _open(root)
    writer.commit("a", inserts=pa.table({"name": [f"n{i}" for i in range(100)]}))
    assert reader.snapshot("a").num_rows == 100
    reads = []
    real = storage_table.read_part
    monkeypatch.setattr(storage_table, "read_part", lambda *a, **k: reads.append(a[3]) or real(*a, **k))
    writer.commit("a", inserts=pa.table({"name": ["late"]}))
    assert reader.snapshot("a").column("name").to_pylist()[-1] == "late"
    assert len(reads) == 1  # only the appended file


# -- the writer lock -------------------------------------------------------------------------
HOLD = """
    import time, pyarrow as pa
    from registry.storage import Instance, TableSpec
    inst = Instance.open({root!r})
    with inst.transaction():
        print("holding", flush=True)
        time.sleep({seconds})
"""


def test_lock_timeout_names_the_holder(tmp_path):
    root = tmp_path / "i"
    inst = _open(root)
    holder = _run(HOLD.format(root=str(root), seconds=30), wait=False)
    try:
        assert holder.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        with pytest.raises(LockTimeout) as err:
            with inst.transaction(timeout=0.5):
                pass
        assert time.monotonic() - t0 < 5
        assert f"pid {holder.pid}" in str(err.value) and socket.gethostname() in str(err.value)
        assert err.value.holder["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    root = tmp_path / "i"
    inst = _open(root)
    holder = _run(HOLD.format(root=str(root), seconds=60), wait=False)
    assert holder.stdout.readline().strip() == "holding"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert json.loads((root / ".writer.lock").read_text())["pid"] == holder.pid  # its record is still there
    t0 = time.monotonic()
    inst.commit("a", inserts=pa.table({"name": ["after"]}))
    assert time.monotonic() - t0 < 2


def test_a_lock_file_naming_a_dead_pid_does_not_block(tmp_path):
    root = tmp_path / "i"
    inst = _open(root)
    (root / ".writer.lock").write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()}))
    with inst.transaction(timeout=1) as tx:
        tx.commit("a", inserts=pa.table({"name": ["ok"]}))
    assert _names(root) == ["ok"]


def test_registry_lock_timeout_setting(tmp_path):
    import registry as ln

    ln.init(tmp_path / "reg")
    holder = _run(HOLD.format(root=str(tmp_path / "reg"), seconds=30), wait=False)
    old = ln.settings.lock_timeout
    try:
        assert holder.stdout.readline().strip() == "holding"
        ln.settings.lock_timeout = 0.3
        with pytest.raises(ln.errors.LockTimeout, match=f"pid {holder.pid}"):
            ln.ULabel(name="blocked").save()
        with pytest.raises(ln.errors.InvalidArgument):
            ln.settings.lock_timeout = -1
    finally:
        ln.settings.lock_timeout = old
        holder.kill()
        holder.wait()
    assert ln.ULabel.filter(name="blocked").count() == 0


def test_two_writer_processes_with_multi_table_transactions(tmp_path):
    root = tmp_path / "i"
    _open(root)
    code = """
        import sys, pyarrow as pa
        from registry.storage import Instance, TableSpec
        SCHEMA = pa.schema([("id", pa.int64()), ("uid", pa.string()), ("name", pa.string())])
        inst = Instance.open({root!r})
        for n in ("a", "b"):
            inst.register(TableSpec(n, SCHEMA, unique=("uid", "name"), uid_length=8))
        for i in range(15):
            with inst.transaction() as tx:
                tx.commit("a", inserts=pa.table({{"name": [f"w{w}-{{i}}-{{k}}" for k in range(3)]}}))
                tx.commit("b", inserts=pa.table({{"name": [f"w{w}-{{i}}"]}}))
                if i % 5 == 4:
                    tx.delete_rows("a", tx.snapshot("a").column("id").to_pylist()[:1])
    """
    procs = [_run(code.format(root=str(root), w=w), wait=False) for w in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    inst = _open(root)
    a, b = inst.snapshot("a"), inst.snapshot("b")
    assert b.num_rows == 30 and a.num_rows == 90 - 6
    assert sorted(b.column("id").to_pylist()) == list(range(1, 31))
    assert len(set(a.column("uid").to_pylist())) == a.num_rows
    assert doctor.check(root).ok


# -- ln.init refusals (issue 9.9, the storage part) ---------------------------------------------
def test_init_refuses_paths_that_cannot_be_instances(tmp_path):
    import registry as ln

    for bad in (None, "", "  "):
        with pytest.raises(ln.errors.InvalidInstancePath, match="directory path"):
            ln.init(bad)
    full = tmp_path / "full"
    full.mkdir()
    (full / "thesis.tex").write_text("precious")
    with pytest.raises(ln.errors.InvalidInstancePath, match="non-empty directory"):
        ln.init(full)
    assert sorted(p.name for p in full.iterdir()) == ["thesis.tex"]  # untouched
    ln.init(tmp_path / "outer")
    with pytest.raises(ln.errors.InvalidInstancePath, match="inside the registry instance"):
        ln.init(tmp_path / "outer" / "tables" / "nested")
    assert isinstance(ln.errors.InvalidInstancePath("x"), ValueError)
    ln.init(tmp_path / "outer")  # an existing instance opens as before
