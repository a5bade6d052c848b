"""Instances on object storage, against a real S3 API server (moto's) on 127.0.0.1 started here.

Several writer processes that share nothing but the bucket commit concurrently; every
acknowledged write must be present exactly once and unique constraints must hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("obstore")
moto_server = pytest.importorskip("moto.server")

BUCKET = "lab-bucket"


@pytest.fixture(scope="module")
def s3():
    """moto's threaded S3 server on the loopback address; env credentials point at it."""
    from s3server import serve

    with serve(BUCKET) as info:
        yield info


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_init_creates_the_instance_in_the_bucket_and_another_machine_reads_it(s3, mirror, tmp_path, monkeypatch):
    import boto3

    import registry as ln

    inst = ln.init(f"s3://{BUCKET}/first")
    ln.save([ln.ULabel(name=f"label {i}") for i in range(20)])
    ln.ULabel(name="one more").save()
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="first/")["Contents"]}
    assert "first/instance.json" in keys
    assert any(k.startswith("first/tables/ulabel/_delta_log/") for k in keys)
    assert any(k.startswith("first/tables/ulabel/part-") and k.endswith(".parquet") for k in keys)
    assert any(k.startswith("first/_commits/") for k in keys)
    assert inst.url == f"s3://{BUCKET}/first"

    # a second "machine": its own empty mirror, nothing shared but the bucket
    monkeypatch.setenv("REGISTRY_CACHE", str(tmp_path / "other-machine"))
    ln.init(f"s3://{BUCKET}/first")
    names = sorted(ln.ULabel.filter().to_polars().get_column("name").to_list())
    assert names == sorted([f"label {i}" for i in range(20)] + ["one more"])
    # a duplicate unique value saved on another machine gives back the existing record (as LaminDB)
    again = ln.ULabel(name="one more").save()
    assert again.id == ln.ULabel.get(name="one more").id
    assert ln.ULabel.filter().count() == 21


def test_a_prefix_with_foreign_objects_is_refused(s3, mirror):
    import boto3

    import registry as ln

    boto3.client("s3").put_object(Bucket=BUCKET, Key="foreign/tables/x.txt", Body=b"x")
    with pytest.raises(ln.errors.RegistryError, match="not a registry instance"):
        ln.init(f"s3://{BUCKET}/foreign")


WRITER = textwrap.dedent(
    """
    import json, os, sys
    import registry as ln
    from registry import errors
    url, me, n, shared, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    inst = ln.init(url)
    acked, shared_seen, refused = [], [], []
    for i in range(n):
        # one own label per save, and every writer also tries the same shared names
        lab = ln.ULabel(name=f"w{me}-{i}")
        lab.save()
        acked.append([lab.name, lab.id, lab.uid])
        if i < shared:
            s = ln.ULabel(name=f"shared-{i}")
            try:
                s.save()  # a new record, or (LaminDB's rule) the existing one with that name
                shared_seen.append([s.name, s.id, s.uid])
            except errors.IntegrityError:  # lost the race for the name: refused, not duplicated
                refused.append(s.name)
    json.dump({"acked": acked, "shared": shared_seen, "refused": refused, "conflicts": inst.conflicts}, open(out, "w"))
    """
)


@pytest.mark.slow
def test_writer_processes_sharing_only_the_bucket_lose_and_duplicate_nothing(s3, tmp_path):
    _run_writers(s3, tmp_path, writers=6, n=25, shared=8)


def test_two_writer_processes_sharing_only_the_bucket(s3, tmp_path):
    _run_writers(s3, tmp_path, writers=3, n=6, shared=3)


def _run_writers(s3, tmp_path, writers: int, n: int, shared: int) -> None:
    import registry as ln

    url = f"s3://{BUCKET}/multi-{writers}-{n}"
    # create the instance and its tables once, so the writers race on rows, not on table creation
    os.environ["REGISTRY_CACHE"] = str(tmp_path / "setup")
    ln.init(url)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = []
    for w in range(writers):
        env = {**os.environ, **s3["env"], "REGISTRY_CACHE": str(tmp_path / f"machine{w}"), "REGISTRY_USER": "testuser"}
        out = tmp_path / f"out{w}.json"
        procs.append(
            (
                subprocess.Popen(
                    [sys.executable, str(script), url, str(w), str(n), str(shared), str(out)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                ),
                out,
            )
        )
    results = []
    for p, out in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.read_text()))

    os.environ["REGISTRY_CACHE"] = str(tmp_path / "checker")
    ln.init(url)
    rows = ln.ULabel.filter().to_polars().select("id", "uid", "name")
    acked = [tuple(a) for r in results for a in r["acked"]]
    own = rows.filter(~rows["name"].str.starts_with("shared-"))
    # every acknowledged write is there exactly once, with the id and uid it was acknowledged with
    assert own.height == len(acked) == writers * n
    assert sorted(zip(own["name"], own["id"], own["uid"], strict=True)) == sorted(acked)
    assert rows["id"].n_unique() == rows.height and rows["uid"].n_unique() == rows.height
    # unique names held: one row per shared name, and every writer that got it back got that row
    shared_rows = {nm: (i, u) for i, u, nm in rows.filter(rows["name"].str.starts_with("shared-")).iter_rows()}
    assert sorted(shared_rows) == sorted(f"shared-{i}" for i in range(shared))
    for r in results:
        for nm, i, u in r["shared"]:
            assert shared_rows[nm] == (i, u)
    # the Delta log in the bucket (what Spark, DuckDB and polars read) has exactly these rows too
    import polars as pl

    delta = pl.read_delta(f"{url}/tables/ulabel", storage_options={"AWS_ALLOW_HTTP": "true"})
    assert delta.select(rows.columns).sort("id").equals(rows.sort("id"))
    refused = sum(len(r["refused"]) for r in results)
    conflicts = sum(r["conflicts"] for r in results)
    print(
        f"\n{writers} writers, {len(acked)} own + {shared} shared rows, {conflicts} commit conflicts retried, "
        f"{refused} shared saves refused by the unique check"
    )


def test_polars_and_duckdb_read_the_registry_from_the_bucket(s3, mirror):
    import duckdb
    import polars as pl
    from deltalake import DeltaTable

    import registry as ln

    url = f"s3://{BUCKET}/readers"
    ln.init(url)
    ln.save([ln.ULabel(name=f"r{i}") for i in range(30)])
    ln.ULabel.get(name="r3").delete()
    lab = ln.ULabel.get(name="r4")
    lab.description = "changed"
    lab.save()
    want = ln.ULabel.filter().to_polars().select("id", "uid", "name", "description").sort("id")
    assert want.height == 29

    opts = {"AWS_ENDPOINT_URL": s3["endpoint"], "AWS_ALLOW_HTTP": "true"}
    got = pl.read_delta(f"{url}/tables/ulabel", storage_options=opts)
    assert got.select(want.columns).sort("id").equals(want)
    # DuckDB scans the Delta snapshot's Arrow dataset (no extension download needed)
    con = duckdb.connect()
    con.register("ulabel", DeltaTable(f"{url}/tables/ulabel", storage_options=opts).to_pyarrow_dataset())
    rows = con.sql("SELECT id, uid, name, description FROM ulabel ORDER BY id").pl()
    assert rows.equals(want)


def test_a_lost_race_is_retried_with_fresh_ids_and_leaves_no_trace(s3, tmp_path, monkeypatch):
    """Writer B commits between A's staging and A's conditional put: A's put fails, A's ln.save runs
    again on fresh state (new ids), and each row is there once."""
    import itertools

    import boto3
    import pyarrow as pa
    from registry.storage.remote import CommitConflict, RemoteInstance

    import registry as ln

    url = f"s3://{BUCKET}/race"
    monkeypatch.setenv("REGISTRY_CACHE", str(tmp_path / "a"))
    a = ln.init(url)
    b = RemoteInstance.open_url(url, mirror=tmp_path / "b")
    ln.ULabel._ensure_tables(b)
    original = RemoteInstance._publish_remote
    seen = []
    counter = itertools.count(1)

    def publish(self, tx):
        if self is a and not seen:  # B wins the race once, just before A's commit point
            seen.append(1)
            other = ln.ULabel(name=f"from b{next(counter)}")
            other.__dict__["_instance"] = b
            other.save()
            seen.append(other.id)
        return original(self, tx)

    monkeypatch.setattr(RemoteInstance, "_publish_remote", publish)
    mine = ln.ULabel(name="from a").save()
    assert a.conflicts == 1
    assert mine.id != seen[1]
    rows = ln.ULabel.filter().to_polars()
    assert sorted(rows["name"].to_list()) == ["from a", "from b1"]
    assert sorted(rows["id"].to_list()) == sorted([mine.id, seen[1]])
    # the lost attempt left no commit: the log has one commit per landed write, no gaps
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="race/_commits/")["Contents"]]
    assert [int(k.rsplit("/", 1)[1].split(".")[0]) for k in sorted(keys)] == list(range(1, len(keys) + 1))

    # a raw transaction that loses raises the typed conflict and publishes nothing
    seen.clear()
    with pytest.raises(ln.errors.CommitConflict, match="committed transaction"):
        with a.transaction() as tx:
            snap = tx.snapshot("ulabel")
            row = snap.slice(0, 1).drop_columns(["id", "uid"])
            row = row.set_column(row.column_names.index("name"), "name", pa.array(["lost"]))
            tx.commit("ulabel", inserts=row)
    assert "lost" not in ln.ULabel.filter().to_polars()["name"].to_list()

    # a delete that loses the race is run again too
    seen.clear()
    mine.delete()
    assert a.conflicts == 3
    assert sorted(ln.ULabel.filter().to_polars()["name"].to_list()) == ["from b1", "from b2", "from b3"]
    assert isinstance(ln.errors.CommitConflict("u", 1), CommitConflict)


@pytest.mark.slow
def test_processes_creating_one_new_instance_at_once_agree_on_its_tables(s3, tmp_path):
    """Three fresh processes init the same new URL at once (racing for every table's version 0)."""
    import registry as ln

    url = f"s3://{BUCKET}/born-together"
    script = tmp_path / "init.py"
    script.write_text(
        "import sys, registry as ln\nln.init(sys.argv[1])\nln.ULabel(name=f'made by {sys.argv[2]}').save()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(w)],
            env={**os.environ, **s3["env"], "REGISTRY_CACHE": str(tmp_path / f"m{w}")},
            stderr=subprocess.PIPE,
        )
        for w in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()[-3000:]
    os.environ["REGISTRY_CACHE"] = str(tmp_path / "checker")
    ln.init(url)
    assert sorted(ln.ULabel.filter().to_polars()["name"].to_list()) == [f"made by {w}" for w in range(3)]


def test_a_listed_commit_that_vanished_is_a_corrupt_instance_and_the_mirror_stays_put(s3, tmp_path, monkeypatch):
    """Fault injection: the commit log lists a commit whose object then cannot be read (deleted by
    hand, a lifecycle rule). The pull names it as CorruptInstance (it used to be a TypeError from
    json.loads(None)) and applies nothing; once the object reads again, the pull catches up."""
    from registry.storage.errors import CorruptInstance
    from registry.storage.remote import ObjectStore, RemoteInstance

    import registry as ln

    url = f"s3://{BUCKET}/vanished"
    monkeypatch.setenv("REGISTRY_CACHE", str(tmp_path / "a"))
    ln.init(url)
    ln.ULabel(name="first").save()
    b = RemoteInstance.open_url(url, mirror=tmp_path / "b")
    ln.ULabel._ensure_tables(b)
    before = b.pull(force=True)
    ln.ULabel(name="second").save()

    real_get = ObjectStore.get
    monkeypatch.setattr(ObjectStore, "get", lambda self, key: None if "_commits/" in key else real_get(self, key))
    with pytest.raises(CorruptInstance, match="a listed commit is gone") as err:
        b.pull(force=True)
    assert "_commits/" in str(err.value)
    assert b._applied() == before  # nothing applied from the commit it could not read

    monkeypatch.setattr(ObjectStore, "get", real_get)
    assert b.pull(force=True) == before + 1
    assert sorted(ln.ULabel.using(b).to_list("name")) == ["first", "second"]
