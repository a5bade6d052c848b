"""Storage: commits, snapshots, constraints, compaction, and what other processes see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest
from registry.storage import ConstraintViolation, Instance, ReadOnlyInstance, TableSpec, random_uids
from registry.storage.instance import COMPACT_THRESHOLD, InstanceNotFound
from registry.storage.table import int_values

SCHEMA = pa.schema([("id", pa.int64()), ("uid", pa.string()), ("name", pa.string()), ("size", pa.int64())])
SPEC = TableSpec("thing", SCHEMA, unique=("uid", "name"), uid_length=8)


@pytest.fixture
def inst(tmp_path):
    i = Instance.open(tmp_path / "inst")
    i.register(SPEC)
    return i


def names(inst):
    return inst.snapshot("thing").column("name").to_pylist()


def test_random_uids_are_base62_of_the_right_length():
    uids = random_uids(10_000, 8).to_pylist()
    assert all(len(u) == 8 and u.isalnum() and u.isascii() for u in uids)
    assert len(set(uids)) == len(uids)


def test_commit_assigns_dense_ids_and_uids(inst):
    r1 = inst.commit("thing", inserts=pa.table({"name": ["a", "b"]}))
    r2 = inst.commit("thing", inserts=pa.table({"name": ["c"]}))
    assert r1.ids.tolist() == [1, 2] and r2.ids.tolist() == [3]
    snap = inst.snapshot("thing")
    assert snap.column("id").to_pylist() == [1, 2, 3]
    assert all(len(u) == 8 for u in snap.column("uid").to_pylist())
    assert r2.version == r1.version + 1


def test_unique_violation_writes_nothing(inst):
    inst.commit("thing", inserts=pa.table({"name": ["a", "b"]}))
    version = inst.table("thing").version
    with pytest.raises(ConstraintViolation) as err:
        inst.commit("thing", inserts=pa.table({"name": ["new", "b"]}))
    assert err.value.column == "name" and err.value.value == "b" and err.value.existing_uid
    with pytest.raises(ConstraintViolation) as err:
        inst.commit("thing", inserts=pa.table({"name": ["x", "x"]}))
    assert err.value.within_batch
    assert inst.table("thing").version == version
    fresh = Instance.open(inst.root)
    fresh.register(SPEC)
    assert fresh.snapshot("thing").column("name").to_pylist() == ["a", "b"]


def test_update_and_delete_are_seen_by_a_new_handle(inst):
    inst.commit("thing", inserts=pa.table({"name": ["a", "b", "c"], "size": [1, 2, 3]}))
    snap = inst.snapshot("thing")
    row = snap.slice(1, 1).set_column(3, "size", pa.array([20], pa.int64()))
    inst.commit("thing", updates=row)
    inst.delete_rows("thing", [1])
    assert inst.snapshot("thing").to_pydict()["size"] == [20, 3]
    fresh = Instance.open(inst.root)
    fresh.register(SPEC)
    assert fresh.snapshot("thing").to_pydict()["name"] == ["b", "c"]
    assert fresh.snapshot("thing").to_pydict()["size"] == [20, 3]


def test_update_may_keep_its_own_unique_value(inst):
    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    row = inst.snapshot("thing").set_column(3, "size", pa.array([5], pa.int64()))
    inst.commit("thing", updates=row)  # name 'a' is its own, not a duplicate
    assert inst.snapshot("thing").column("size").to_pylist() == [5]


def test_compaction_bounds_file_count_and_keeps_data(inst):
    for i in range(COMPACT_THRESHOLD + 5):
        inst.commit("thing", inserts=pa.table({"name": [f"n{i}"]}))
    table = inst.table("thing")
    assert table.file_count <= COMPACT_THRESHOLD
    inst.delete_rows("thing", [1, 2])
    assert inst.compact(["thing"]) == {"thing": 1}
    fresh = Instance.open(inst.root)
    fresh.register(SPEC)
    got = fresh.snapshot("thing").column("name").to_pylist()
    assert got == [f"n{i}" for i in range(2, COMPACT_THRESHOLD + 5)]
    # ids stay dense and are never reused after compaction
    r = fresh.commit("thing", inserts=pa.table({"name": ["after"]}))
    assert r.ids.tolist() == [COMPACT_THRESHOLD + 6]


def test_reader_follows_commits_of_another_handle(inst):
    other = Instance.open(inst.root)
    other.register(SPEC)
    assert other.snapshot("thing").num_rows == 0
    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    assert other.snapshot("thing").column("name").to_pylist() == ["a"]


def test_hash_index_lookup_matches_scan(inst):
    n = 30_000
    inst.commit("thing", inserts=pa.table({"name": [f"n{i}" for i in range(n)]}))
    assert inst.find("thing", "name", "n12345").column("id").to_pylist() == [12346]
    inst.commit("thing", inserts=pa.table({"name": ["tail"]}))  # appended after the index build
    assert inst.find("thing", "name", "tail").column("id").to_pylist() == [n + 1]
    assert inst.find("thing", "name", "missing").num_rows == 0


def test_read_only_instance_refuses_writes(inst, tmp_path):
    ro = Instance.open(inst.root, read_only=True)
    ro.register(SPEC)
    with pytest.raises(ReadOnlyInstance):
        ro.commit("thing", inserts=pa.table({"name": ["a"]}))
    with pytest.raises(InstanceNotFound, match="registry.init"):
        Instance.open(tmp_path / "nope", create=False)


def test_engine_sees_commits(inst):
    inst.commit("thing", inserts=pa.table({"name": ["a", "b"]}))
    out = inst.engine.execute('SELECT name FROM "thing" WHERE name = ?', ["b"], reads=["thing"])
    assert out.column("name").to_pylist() == ["b"]
    inst.commit("thing", inserts=pa.table({"name": ["c"]}))
    inst.delete_rows("thing", [1])
    out = inst.engine.execute('SELECT name FROM "thing" ORDER BY id', reads=["thing"])
    assert out.column("name").to_pylist() == ["b", "c"]


def test_engine_loads_exactly_the_tables_a_statement_reads(inst):
    inst.register(TableSpec("other", pa.schema([("id", pa.int64()), ("name", pa.string())])))
    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    inst.commit("other", inserts=pa.table({"name": ["z"]}))
    engine = inst.engine
    # the text mentions "other", but the statement is declared to read "thing" only: no regex
    out = engine.execute("SELECT 'other' AS name FROM \"thing\"", reads=["thing"])
    assert out.column("name").to_pylist() == ["other"]
    assert set(engine._loaded) == {"thing"}
    engine.ensure_index("other", "name")  # brings its own table up to date
    assert set(engine._loaded) == {"thing", "other"}
    assert engine.execute('SELECT count(*) AS n FROM "other"', reads=["other"]).column("n").to_pylist() == [1]
    assert inst.engine.query('SELECT name FROM "other"').column("name").to_pylist() == ["z"]  # the console sees all


def _run(code: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_data_written_by_one_process_is_read_by_another(tmp_path):
    path = tmp_path / "shared"
    w = _run(
        f"""
        import registry as ln
        ln.init({str(path)!r})
        ln.save([ln.ULabel(name=f"label {{i}}") for i in range(100)])
        """
    )
    assert w.wait(120) == 0, w.stderr.read()
    r = _run(
        f"""
        import registry as ln
        ln.init({str(path)!r})
        print(ln.ULabel.get(name="label 42").name, len(ln.ULabel._snapshot()))
        """
    )
    assert r.wait(120) == 0, r.stderr.read()
    assert r.stdout.read().split() == ["label", "42", "100"]


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "shared"
    code = """
        import sys, registry as ln
        ln.init({path!r})
        w = int(sys.argv[1]) if len(sys.argv) > 1 else {w}
        for batch in range(5):
            ln.save([ln.ULabel(name=f"w{w}-b{{batch}}-{{i}}") for i in range(100)])
        """
    import registry as ln

    ln.init(path)  # create instance + user up front
    procs = [_run(code.format(path=str(path), w=w)) for w in range(4)]
    for p in procs:
        assert p.wait(300) == 0, p.stderr.read()
    snap = ln.ULabel._snapshot(ln.settings.instance)
    assert snap.num_rows == 2000
    ids = snap.column("id").to_pylist()
    assert sorted(ids) == list(range(1, 2001))
    assert len(set(snap.column("uid").to_pylist())) == 2000
    assert len(set(snap.column("name").to_pylist())) == 2000


def test_sigkill_during_large_save_leaves_all_or_nothing(tmp_path):
    path = tmp_path / "killed"
    import registry as ln

    ln.init(path)
    ln.save([ln.ULabel(name=f"before {i}") for i in range(10)])
    batch = 200_000
    killed_mid_save = 0
    for delay in (0.0, 0.05, 0.15, 0.3, 0.6):
        p = _run(
            f"""
            import registry as ln
            ln.init({str(path)!r})
            n = len(ln.ULabel._snapshot())
            records = [ln.ULabel(name=f"batch {{n}} {{i}}") for i in range({batch})]
            print("saving", flush=True)
            ln.save(records)
            print("done", flush=True)
            """
        )
        assert p.stdout.readline().strip() == "saving", p.stderr.read()
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
        killed_mid_save += "done" not in out
        fresh = Instance.open(path)
        fresh.register(ln.ULabel._table_spec())
        snap = fresh.snapshot("ulabel")
        assert (snap.num_rows - 10) % batch == 0  # whole batches only
        assert int_values(snap.column("id")).tolist() == list(range(1, snap.num_rows + 1))
    assert killed_mid_save >= 3  # the kills really landed inside ln.save
    # the lock died with the process: a new writer proceeds
    ln.init(path)
    ln.ULabel(name="after the kills").save()
    assert ln.ULabel.get(name="after the kills").id == len(ln.ULabel._snapshot())


def test_updating_a_deleted_row_is_refused(inst):
    from registry.storage import MissingRows

    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    row = inst.snapshot("thing")
    inst.delete_rows("thing", [1])
    with pytest.raises(MissingRows, match="id 1"):
        inst.commit("thing", updates=row)
    assert inst.snapshot("thing").num_rows == 0


def test_a_field_added_later_becomes_a_column(tmp_path):
    old = TableSpec("t", pa.schema([("id", pa.int64()), ("name", pa.string())]))
    new = TableSpec("t", pa.schema([("id", pa.int64()), ("name", pa.string()), ("extra", pa.int64())]))
    a = Instance.open(tmp_path / "evolve")
    a.register(old)
    a.commit("t", inserts=pa.table({"name": ["a"]}))
    b = Instance.open(tmp_path / "evolve")
    b.register(new)
    assert b.snapshot("t").to_pydict() == {"id": [1], "name": ["a"], "extra": [None]}
    b.commit("t", inserts=pa.table({"name": ["b"], "extra": [3]}))
    c = Instance.open(tmp_path / "evolve")
    c.register(new)
    assert c.snapshot("t").to_pydict() == {"id": [1, 2], "name": ["a", "b"], "extra": [None, 3]}
