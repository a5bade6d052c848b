"""The Delta tables on disk: any reader sees exactly the live rows with the registry's columns,
at every version; bounded copy-on-write files; migration of the old row-version layout; time travel."""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry.storage import Instance, TableSpec
from registry.storage import commit as storage_commit
from registry.storage.log import LOG, entry_name, list_log

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("uid", pa.string()),
        ("name", pa.string()),
        ("size", pa.int64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
SPEC = TableSpec("thing", SCHEMA, unique=("uid", "name"), uid_length=8)


def _open(path) -> Instance:
    inst = Instance.open(path)
    inst.register(SPEC)
    return inst


def _entry(inst: Instance, version: int) -> list[dict]:
    path = inst.table("thing").path / LOG / entry_name(version)
    return [json.loads(line) for line in path.read_text().splitlines()]


def _delta_readers(path):
    """Every Delta reader available offline: name -> (rows, columns)."""
    out = {}
    df = pl.read_delta(str(path))
    out["polars"] = (df.height, df.columns, sorted(df["id"].to_list()))
    t = DeltaTable(str(path)).to_pyarrow_table()
    out["deltalake"] = (t.num_rows, t.column_names, sorted(t.column("id").to_pylist()))
    try:
        import duckdb

        con = duckdb.connect()
        rel = con.sql(f"SELECT * FROM delta_scan('{path}')")
        ids = sorted(r[0] for r in con.sql(f"SELECT id FROM delta_scan('{path}')").fetchall())
        out["duckdb"] = (len(ids), rel.columns, ids)
    except Exception:  # noqa: BLE001 - the delta extension needs a download; offline it is absent
        pass
    return out


def test_any_delta_reader_sees_the_live_rows_after_update_and_delete(tmp_path):
    """Issue 9.7: polars.read_delta used to return 1,002 rows with _rev/_deleted columns here."""
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": [f"n{i}" for i in range(1000)], "size": list(range(1000))}))
    snap = inst.snapshot("thing")
    row = snap.slice(499, 1).set_column(3, "size", pa.array([-1], pa.int64()))
    inst.commit("thing", updates=row)
    inst.delete_rows("thing", [7])
    expected = sorted(set(range(1, 1001)) - {7})
    for reader, (n, columns, ids) in _delta_readers(inst.table("thing").path).items():
        assert n == 999, reader
        assert columns == SCHEMA.names, reader
        assert ids == expected, reader
    df = pl.read_delta(str(inst.table("thing").path))
    assert df.filter(pl.col("id") == 500)["size"].to_list() == [-1]


def test_every_committed_version_is_true_for_outside_readers(tmp_path):
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": ["a", "b", "c"]}))  # v1
    inst.delete_rows("thing", [2])  # v2
    inst.commit("thing", inserts=pa.table({"name": ["d"]}))  # v3
    path = str(inst.table("thing").path)
    for version, ids in [(1, [1, 2, 3]), (2, [1, 3]), (3, [1, 3, 4])]:
        got = sorted(pl.read_delta(path, version=version)["id"].to_list())
        assert got == ids
        assert sorted(DeltaTable(path, version=version).to_pyarrow_table().column("id").to_pylist()) == ids


def test_a_one_row_change_rewrites_one_bounded_file(tmp_path, monkeypatch):
    monkeypatch.setattr(storage_commit, "FILE_ROWS", 100)
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": [f"n{i}" for i in range(1000)]}))
    assert inst.table("thing").file_count == 10
    row = inst.snapshot("thing").slice(555, 1).set_column(3, "size", pa.array([5], pa.int64()))
    result = inst.commit("thing", updates=row)
    actions = _entry(inst, result.version)
    assert [next(iter(a)) for a in actions] == ["remove", "add", "commitInfo"]
    assert json.loads(actions[1]["add"]["stats"])["numRecords"] == 100
    inst.delete_rows("thing", [1000])
    actions = _entry(inst, result.version + 1)
    assert [next(iter(a)) for a in actions] == ["remove", "add", "commitInfo"]
    fresh = _open(tmp_path / "i")
    assert fresh.snapshot("thing").num_rows == 999
    assert fresh.find("thing", "id", 556).column("size").to_pylist() == [5]


def test_single_transaction_with_two_commits_to_one_table_is_one_entry(tmp_path):
    inst = _open(tmp_path / "i")
    before = inst.current_version("thing")
    with inst.transaction() as tx:
        r1 = tx.commit("thing", inserts=pa.table({"name": ["a"]}))
        assert tx.snapshot("thing").num_rows == 1  # the transaction sees what it staged
        assert inst.snapshot("thing").num_rows == 0  # nobody else does yet
        tx.delete_rows("thing", r1.ids)
        tx.commit("thing", inserts=pa.table({"name": ["b"]}))
    assert inst.table("thing").version == before + 1
    assert [next(iter(a)) for a in _entry(inst, before + 1)] == ["add", "commitInfo"]
    assert _open(tmp_path / "i").snapshot("thing").column("name").to_pylist() == ["b"]
    # the staged-then-dropped file left nothing behind
    files = {p.name for p in inst.table("thing").path.glob("*.parquet")}
    assert files == {a["add"]["path"] for a in _entry(inst, before + 1) if "add" in a}


def test_an_exception_inside_a_transaction_writes_nothing(tmp_path):
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": ["keep"]}))
    files_before = set(inst.table("thing").path.glob("*.parquet"))
    version = inst.table("thing").version
    with pytest.raises(RuntimeError, match="boom"):
        with inst.transaction() as tx:
            tx.commit("thing", inserts=pa.table({"name": ["x", "y"]}))
            raise RuntimeError("boom")
    assert inst.table("thing").version == version
    assert set(inst.table("thing").path.glob("*.parquet")) == files_before  # staged files removed
    assert _open(tmp_path / "i").snapshot("thing").column("name").to_pylist() == ["keep"]


def test_ids_are_never_reused_after_deleting_the_newest_row_even_in_a_new_process(tmp_path):
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": ["a", "b", "c"]}))
    inst.delete_rows("thing", [3])
    (inst.root / "state.json").unlink()  # the hint is gone: the log alone must know
    fresh = _open(tmp_path / "i")
    assert fresh.commit("thing", inserts=pa.table({"name": ["d"]})).ids.tolist() == [4]


def _legacy_instance(path):
    """An instance as the previous storage layout wrote it: appended row versions + tombstones."""
    inst = Instance.open(path)
    table_path = path / "tables" / "thing"
    stored = SCHEMA.append(pa.field("_rev", pa.int64())).append(pa.field("_deleted", pa.bool_()))
    ts = pa.array(np.zeros(3, np.int64)).cast(pa.timestamp("us", tz="UTC"))
    v1 = pa.table(
        [
            pa.array([1, 2, 3]),
            pa.array(["u1", "u2", "u3"]),
            pa.array(["a", "b", "c"]),
            pa.array([1, 2, 3]),
            ts,
            pa.array([1, 1, 1]),
            pa.array([False] * 3),
        ],
        schema=stored,
    )
    write_deltalake(str(table_path), v1)
    v2 = pa.table(
        [
            pa.array([2, 3]),
            pa.array(["u2", None]),
            pa.array(["b", None]),
            pa.array([20, None]),
            ts.slice(0, 2),
            pa.array([2, 2]),
            pa.array([False, True]),
        ],
        schema=stored,
    )
    write_deltalake(str(table_path), v2, mode="append")
    return inst


def test_old_row_version_tables_are_read_right_and_migrated_on_first_write(tmp_path):
    _legacy_instance(tmp_path / "old")
    inst = _open(tmp_path / "old")
    assert inst.snapshot("thing").to_pydict()["size"] == [1, 20]  # folded: update applied, row 3 deleted
    inst.commit("thing", inserts=pa.table({"name": ["d"]}))
    path = inst.table("thing").path
    df = pl.read_delta(str(path)).sort("id")
    assert df.columns == SCHEMA.names  # no _rev/_deleted any more
    assert df["name"].to_list() == ["a", "b", "d"] and df["size"].to_list() == [1, 20, None]
    assert df["id"].to_list() == [1, 2, 4]  # id 3 was used once: never again


def test_compaction_merges_files_and_keeps_time_travel(tmp_path):
    inst = _open(tmp_path / "i")
    for i in range(5):
        inst.commit("thing", inserts=pa.table({"name": [f"n{i}"]}))
    v_all = inst.table("thing").version
    t_all = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    inst.delete_rows("thing", [1, 2])
    assert inst.compact(["thing"]) == {"thing": 1}
    assert inst.snapshot("thing").column("name").to_pylist() == ["n2", "n3", "n4"]
    # vacuum keeps recent files: the past is still readable (issue 9.7)
    assert inst.read_version("thing", v_all).num_rows == 5
    assert inst.at("thing", version=v_all).snapshot("thing").num_rows == 5
    assert inst.at(as_of=t_all).snapshot("thing").num_rows == 5
    # with no retention the replaced files go and the old version is reported, not misread
    inst.compact(["thing"], retention_hours=0)
    from registry.storage import CorruptInstance

    with pytest.raises(CorruptInstance, match="missing"):
        inst.read_version("thing", v_all)


def test_many_small_appends_are_merged(tmp_path):
    from registry.storage.instance import COMPACT_THRESHOLD

    inst = _open(tmp_path / "i")
    for i in range(COMPACT_THRESHOLD + 3):
        inst.commit("thing", inserts=pa.table({"name": [f"n{i}"]}))
    assert inst.table("thing").file_count <= COMPACT_THRESHOLD + 1
    fresh = _open(tmp_path / "i")
    assert fresh.snapshot("thing").column("id").to_pylist() == list(range(1, COMPACT_THRESHOLD + 4))


def test_registry_using_version_and_as_of(instance):
    import registry as ln

    ln.save([ln.ULabel(name=f"tt {i}") for i in range(3)])
    version = ln.ULabel._table_version()
    moment = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    ln.ULabel.get(name="tt 1").delete()
    ln.ULabel(name="tt 9").save()
    assert ln.ULabel.filter(name__startswith="tt").count() == 3
    past = ln.ULabel.using(version=version)
    assert sorted(past.filter(name__startswith="tt").to_list("name")) == ["tt 0", "tt 1", "tt 2"]
    assert ln.ULabel.using(as_of=moment).get(name="tt 1").name == "tt 1"
    with pytest.raises(ln.errors.ReadOnlyError):
        past.get(name="tt 0").delete()
    with pytest.raises(ln.errors.InvalidArgument, match="no version 9999"):
        ln.ULabel.using(version=9999)


# -- a model check: random inserts, updates and deletes against a dict -------------------------
ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(1, 40)),
        st.tuples(st.just("update"), st.lists(st.integers(0, 10_000), min_size=1, max_size=5)),
        st.tuples(st.just("delete"), st.lists(st.integers(0, 10_000), min_size=1, max_size=5)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_table_matches_a_plain_model_for_every_reader(tmp_path_factory, monkeypatch, ops):
    monkeypatch.setattr(storage_commit, "FILE_ROWS", 16)  # many files, so rewrites cross file bounds
    inst = _open(tmp_path_factory.mktemp("model") / "i")
    model: dict[int, int] = {}
    counter = 0
    for op, arg in ops:
        live = sorted(model)
        if op == "insert":
            names = [f"r{counter + i}" for i in range(arg)]
            counter += arg
            res = inst.commit("thing", inserts=pa.table({"name": names, "size": [0] * arg}))
            model.update({int(i): 0 for i in res.ids})
        elif op == "update" and live:
            ids = sorted({live[k % len(live)] for k in arg})
            snap = inst.snapshot("thing")
            rows = snap.filter(pa.compute.is_in(snap.column("id"), pa.array(ids, pa.int64())))
            rows = rows.set_column(3, "size", pa.array([i * 7 for i in ids], pa.int64()))
            inst.commit("thing", updates=rows)
            model.update({i: i * 7 for i in ids})
        elif op == "delete" and live:
            ids = sorted({live[k % len(live)] for k in arg})
            inst.delete_rows("thing", ids)
            for i in ids:
                del model[i]
    expected = sorted(model.items())
    got = inst.snapshot("thing")
    assert list(zip(got.column("id").to_pylist(), got.column("size").to_pylist(), strict=True)) == expected
    fresh = _open(inst.root).snapshot("thing")
    assert list(zip(fresh.column("id").to_pylist(), fresh.column("size").to_pylist(), strict=True)) == expected
    df = pl.read_delta(str(inst.table("thing").path)).sort("id")
    assert list(zip(df["id"].to_list(), df["size"].to_list(), strict=True)) == expected
    versions, _ = list_log(inst.table("thing").path)
    assert versions == list(range(len(versions)))


def test_hash_indexes_follow_updates_and_deletes_without_rebuilding(tmp_path, monkeypatch):
    from registry.storage import index as storage_index
    from registry.storage.table import HASH_INDEX_MIN_ROWS

    inst = _open(tmp_path / "i")
    n = HASH_INDEX_MIN_ROWS + 5000
    inst.commit("thing", inserts=pa.table({"name": [f"n{i}" for i in range(n)]}))
    assert inst.find("thing", "name", "n100").column("id").to_pylist() == [101]  # builds the indexes
    assert inst.find("thing", "uid", "no such uid").num_rows == 0
    builds = []
    real = storage_index.ColumnHashIndex.__init__
    monkeypatch.setattr(
        storage_index.ColumnHashIndex, "__init__", lambda self, col: builds.append(1) or real(self, col)
    )
    snap = inst.snapshot("thing")
    row = snap.slice(20_000, 1).set_column(2, "name", pa.array(["renamed"]))
    inst.commit("thing", updates=row)  # id 20001: n20000 -> renamed
    inst.delete_rows("thing", [5, 17_000, n])  # rows before and after it move up
    inst.commit("thing", inserts=pa.table({"name": ["tail"]}))
    assert inst.find("thing", "name", "renamed").column("id").to_pylist() == [20_001]
    assert inst.find("thing", "name", "n20000").num_rows == 0
    assert inst.find("thing", "name", "n4").num_rows == 0  # id 5 deleted
    assert inst.find("thing", "name", "tail").column("id").to_pylist() == [n + 1]
    rng = np.random.default_rng(1)
    for i in rng.integers(0, n - 1, 200).tolist():
        expected = [] if i in (4, 16_999, 20_000) else [i + 1]
        assert inst.find("thing", "name", f"n{i}").column("id").to_pylist() == expected
    assert not builds  # followed, not rebuilt
    assert inst.find("thing", "id", 20_001).column("name").to_pylist() == ["renamed"]
    assert inst.find("thing", "id", 5).num_rows == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=60),
    st.lists(
        st.tuples(st.sampled_from(["delete", "rewrite", "append"]), st.lists(st.integers(0, 10_000), max_size=4)),
        max_size=10,
    ),
)
def test_hash_index_followed_lazily_agrees_with_a_scan(values, steps):
    from registry.storage.index import ColumnHashIndex, scan

    col = list(values)
    index = ColumnHashIndex(pa.chunked_array([pa.array(col, pa.int64())]))
    for op, picks in steps:
        if op == "append":
            col += [p % 31 for p in picks]
            continue
        if not col:
            continue
        pos = sorted({p % len(col) for p in picks})
        if op == "delete":
            col = [v for i, v in enumerate(col) if i not in set(pos)]
            index.remap(np.array(pos, np.int64), np.empty(0, np.int64))
        else:
            for p in pos:
                col[p] = (col[p] * 7 + 3) % 31
            index.remap(np.empty(0, np.int64), np.array(pos, np.int64))
    arr = pa.chunked_array([pa.array(col, pa.int64())])
    for v in range(31):
        assert index.find(arr, v).tolist() == scan(arr, v).tolist()


def test_derived_data_is_built_once_per_version_and_follows_own_changes(tmp_path):
    inst = _open(tmp_path / "i")
    table = inst.table("thing")
    inst.commit("thing", inserts=pa.table({"name": ["a", "b"]}))
    builds = []

    def build():
        builds.append(table.version)
        return table.snapshot().num_rows

    def follow(n, change):
        return n + change.inserted.num_rows if change.appended_only else None

    assert table.derived(("test", "rows"), build, follow=follow) == 2
    assert table.derived(("test", "rows"), build, follow=follow) == 2
    inst.commit("thing", inserts=pa.table({"name": ["c"]}))
    inst.commit("thing", inserts=pa.table({"name": ["d", "e"]}))
    assert table.derived(("test", "rows"), build, follow=follow) == 5  # followed through two appends
    assert len(builds) == 1
    inst.delete_rows("thing", [1])
    assert table.derived(("test", "rows"), build, follow=follow) == 4  # follow said None: rebuilt
    assert len(builds) == 2
    assert table.derived(("test", "other"), lambda: "x") == "x"
    table.forget_derived(("test", "rows"))
    assert table.derived(("test", "rows"), build) == 4 and len(builds) == 3
    assert table.derived(("test", "other"), lambda: "y") == "x"  # kept by the prefix
    table.forget_derived()
    assert table.derived(("test", "other"), lambda: "y") == "y"
    # a commit by another process is not followed: rebuilt from its snapshot
    other = _open(inst.root)
    other.commit("thing", inserts=pa.table({"name": ["f"]}))
    assert table.derived(("test", "rows"), build, follow=follow) == 5 and len(builds) == 4


def test_derived_data_is_not_stored_when_the_table_moves_during_the_build(tmp_path):
    inst = _open(tmp_path / "i")
    table = inst.table("thing")

    def build():
        inst.commit("thing", inserts=pa.table({"name": ["late"]}))
        return "stale"

    assert table.derived(("test", "k"), build) == "stale"
    assert table.derived(("test", "k"), lambda: "fresh") == "fresh"


def test_a_pinned_view_has_its_own_derived_data(tmp_path):
    inst = _open(tmp_path / "i")
    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    inst.commit("thing", inserts=pa.table({"name": ["b"]}))
    past = inst.at("thing", version=1)
    assert inst.table("thing").derived(("test", "n"), lambda: inst.snapshot("thing").num_rows) == 2
    assert past.table("thing").derived(("test", "n"), lambda: past.snapshot("thing").num_rows) == 1


def test_derived_at_tags_the_value_with_the_callers_version(tmp_path):
    inst = _open(tmp_path / "i")
    table = inst.table("thing")
    inst.commit("thing", inserts=pa.table({"name": ["a"]}))
    old_version, old_rows = table.version, inst.snapshot("thing").num_rows
    inst.commit("thing", inserts=pa.table({"name": ["b"]}))

    def follow(n, change):
        return n + change.inserted.num_rows

    # built from a snapshot that is already one commit behind: kept as that version's, then followed
    assert table.derived_at(old_version, ("test", "n"), lambda: old_rows, follow) == 1
    assert table.derived(("test", "n"), lambda: pytest.fail("rebuilt"), follow=follow) == 2
    # a caller behind a newer stored value gets its own value, and the newer one stays
    assert table.derived_at(old_version, ("test", "n"), lambda: old_rows, follow) == 1
    assert table.derived(("test", "n"), lambda: pytest.fail("rebuilt"), follow=follow) == 2


def test_derived_values_lists_what_is_stored(tmp_path):
    table = _open(tmp_path / "i").table("thing")
    table.derived(("a", 1), lambda: "x")
    table.derived(("b", 1), lambda: "y")
    assert table.derived_values(("a",)) == {("a", 1): "x"}
    assert table.derived_values() == {("a", 1): "x", ("b", 1): "y"}
