"""registry.spark on a local Spark (``local[2]``) against the shipped Cell Ontology: results equal
the single-machine validate / standardize / inspect value for value."""

from __future__ import annotations

import random
import shutil

import pytest

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - depends on the machine
    pytest.skip("Spark needs Java (java not on PATH)", allow_module_level=True)

import registry as ln  # noqa: E402
import registry.bio as bt  # noqa: E402
from registry import spark as rs  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[2]")
        .appName("registry-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.adaptive.enabled", "false")
        # a test JVM lives for seconds: skip the optimising JIT and its CPU (starts 2x faster)
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "700")  # several batches per partition
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    """An instance with the Cell Ontology imported (shared by the module: imports take seconds)."""
    inst = ln.init(tmp_path_factory.mktemp("spark") / "instance")
    bt.CellType.import_source(progress=False)
    return inst


def _messy_values(n: int, seed: int) -> list:
    """Real names, their synonyms, case variants, typos, empties and nulls, in random order."""
    frame = bt.CellType.filter().df(limit=None)
    names = [x for x in frame["name"].tolist() if x]
    syns = [s for x in frame["synonyms"].dropna().tolist() for s in x.split("|") if s]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.4:
            out.append(rng.choice(names))
        elif r < 0.6:
            out.append(rng.choice(syns))
        elif r < 0.75:
            v = rng.choice(names)
            out.append(v.upper() if rng.random() < 0.5 else v.lower())
        elif r < 0.9:
            v = rng.choice(names)
            i = rng.randrange(len(v))
            out.append(v[:i] + v[i + 1 :])
        elif r < 0.95:
            out.append("")
        else:
            out.append(None)
    return out


def _frame(spark, values, partitions=2):
    # no shuffle: collect() returns rows in input order, as the single-machine call sees them
    rows = spark.sparkContext.parallelize([(i, v) for i, v in enumerate(values)], partitions)
    return spark.createDataFrame(rows, "id long, cell_type string")


def test_validate_and_standardize_equal_single_machine(spark, cl):
    values = _messy_values(5000, 1)
    df = _frame(spark, values)
    out = rs.validate(df, "cell_type", bt.CellType.name)
    out = rs.standardize(out, "cell_type", bt.CellType.name, output="std")
    out = rs.standardize(out, "cell_type", bt.CellType.name, output="oid", return_field=bt.CellType.ontology_id)
    assert out.columns == ["id", "cell_type", "cell_type_validated", "std", "oid"]
    rows = out.collect()  # one Spark job for all three
    assert [r["id"] for r in rows] == list(range(len(values)))
    assert [r["cell_type"] for r in rows] == values  # the input column passes through untouched

    valid = [r["cell_type_validated"] for r in rows]
    assert valid == bt.CellType.validate(values, mute=True).tolist()
    assert 0 < sum(valid) < len(valid)  # the data has both kinds

    std = [r["std"] for r in rows]
    assert std == bt.CellType.standardize(values, mute=True)
    assert sum(a != b for a, b in zip(std, values, strict=True)) > 100  # synonyms and casing were mapped
    assert [r["oid"] for r in rows] == bt.CellType.standardize(values, return_field="ontology_id", mute=True)


def test_standardize_in_place(spark, cl):
    values = ["T-cell", "t cell", "foo", None, ""]
    got = [r["cell_type"] for r in rs.standardize(_frame(spark, values, 1), "cell_type", bt.CellType.name).collect()]
    assert got == bt.CellType.standardize(values, mute=True)
    assert got[0] == got[1] == "T cell"


def test_inspect_equals_single_machine(spark, cl):
    values = _messy_values(3000, 3)
    got = rs.inspect(_frame(spark, values), "cell_type", bt.CellType.name, mute=True)
    want = bt.CellType.inspect(values, mute=True)
    assert got.validated == want.validated
    assert got.non_validated == want.non_validated
    assert got.synonyms_mapper == want.synonyms_mapper
    assert got.unmatched == want.unmatched
    assert (got.n_unique, got.n_empty, got.frac_validated) == (want.n_unique, want.n_empty, want.frac_validated)
    assert got.table.select("value", "tier", "name", "uid").equals(want.table.select("value", "tier", "name", "uid"))
    assert len(got.synonyms_mapper) > 10 and len(got.unmatched) > 10


def test_errors_are_typed(spark, cl):
    df = _frame(spark, ["T cell"])
    with pytest.raises(ln.errors.InvalidArgument, match="no column 'nope'"):
        rs.validate(df, "nope", bt.CellType.name)
    with pytest.raises(ln.errors.InvalidArgument, match="registry"):
        rs.validate(df, "cell_type", "name")
    with pytest.raises(ln.errors.InvalidArgument, match="keep=False"):
        rs.standardize(df, "cell_type", bt.CellType.name, keep=False)
    # a name plus registry= resolves like the field object
    assert rs.plan("name", registry=bt.CellType).label == rs.plan(bt.CellType.name).label == "CellType.name"


@pytest.mark.slow  # an S3 server, an instance on it and a Spark job: ~1 min on the shared 2-core machine
def test_spark_reads_a_registry_from_the_bucket(spark, tmp_path, monkeypatch):
    """Spark reads the Delta table of an instance on S3 (moto's server) and gets exactly its rows."""
    pytest.importorskip("obstore")
    pytest.importorskip("moto")
    import polars as pl
    from s3server import serve

    with serve("spark-bucket") as info:
        monkeypatch.setenv("REGISTRY_CACHE", str(tmp_path / "cache"))
        url = "s3://spark-bucket/reg"
        ln.init(url)
        ln.save([ln.ULabel(name=f"s{i}") for i in range(40)])
        ln.ULabel.get(name="s7").delete()
        want = ln.ULabel.filter().to_polars().select("id", "uid", "name").sort("id")
        # the executors get the credentials as options (the JVM started before this server did)
        opts = {
            "aws_endpoint": info["endpoint"],
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
            "aws_region": "us-east-1",
        }
        df = rs.read_delta(spark, f"{url}/tables/ulabel", storage_options=opts)
        got = pl.from_arrow(rs._to_arrow(df.select("id", "uid", "name"))).sort("id")
        assert want.height == 39
        assert got.equals(want)
