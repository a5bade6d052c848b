"""Bulk validation on Spark vs the single-machine path, values streamed from Parquet.

Data: N messy cell-type labels (real Cell Ontology names 60 %, their synonyms 20 %, case
variants 10 %, one-letter typos 10 %) written once to a Parquet file of 10^6-row row groups.

* single machine: the file read batch by batch (``pyarrow.parquet.ParquetFile.iter_batches``)
  and each batch validated with ``bt.CellType.validate`` (one process);
* Spark: ``spark.read.parquet`` -> ``registry.spark.validate`` -> ``sum`` of the flags, in
  ``local[C]`` mode (C executor cores, default: every core), one Python worker per core.

Both count the validated values (they must agree); throughput is values/s overall and per core
(single machine: 1 process; Spark: C cores). The data file is kept for re-runs.

    python -m benchmarks.bench_spark [--n 100000000] [--cores 2] [--spark-only | --local-only]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import RESULTS

ROW_GROUP = 10**6


def vocabulary() -> list[str]:
    import registry.bio as bt

    frame = pl.from_arrow(bt.CellType.filter().to_arrow())
    names = frame.get_column("name").drop_nulls().to_list()
    syns = [s for x in frame.get_column("synonyms").drop_nulls().to_list() for s in x.split("|") if s]
    rng = np.random.default_rng(0)
    vocab = list(names)
    vocab += [syns[i] for i in rng.integers(0, len(syns), len(names) // 3)]
    vocab += [v.upper() if i % 2 else v.lower() for i, v in enumerate(rng.choice(names, len(names) // 6))]
    typos = []
    for v in rng.choice(names, len(names) // 6):
        i = int(rng.integers(0, len(v)))
        typos.append(v[:i] + v[i + 1 :])
    return vocab + typos


def write_data(path: Path, n: int) -> None:
    """N labels drawn from the vocabulary, written in row groups (never all in memory)."""
    vocab = pl.Series("cell_type", vocabulary(), dtype=pl.String)
    rng = np.random.default_rng(1)
    schema = pa.schema([("cell_type", pa.string())])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
        done = 0
        while done < n:
            k = min(ROW_GROUP, n - done)
            idx = pl.Series(rng.integers(0, len(vocab), k))
            w.write_table(
                pa.table({"cell_type": vocab.gather(idx).to_arrow().cast(pa.string())}), row_group_size=ROW_GROUP
            )
            done += k
    os.replace(tmp, path)


def local_run(path: Path) -> tuple[int, float]:
    import registry.bio as bt

    bt.CellType.validate(["T cell"], mute=True)  # the index is built before timing (Spark builds it in plan())
    t0 = time.perf_counter()
    ok = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP, columns=["cell_type"]):
        ok += int(bt.CellType.validate(pl.Series(batch.column(0)), mute=True).sum())
    return ok, time.perf_counter() - t0


def spark_session(cores: int):
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("registry-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(100_000))
        .config("spark.sql.files.maxPartitionBytes", str(64 * 2**20))
        .getOrCreate()
    )


def spark_run(spark, path: Path) -> tuple[int, float, int]:
    import pyspark.sql.functions as F  # noqa: N812

    import registry.bio as bt
    from registry import spark as rs

    df = spark.read.parquet(str(path))
    # warm-up: start the Python workers and load the broadcast once, on a few rows
    rs.validate(df.limit(1000), "cell_type", bt.CellType.name).agg(
        F.sum(F.col("cell_type_validated").cast("long"))
    ).collect()
    t0 = time.perf_counter()
    out = rs.validate(df, "cell_type", bt.CellType.name)
    ok = out.agg(F.sum(F.col("cell_type_validated").cast("long")).alias("ok")).collect()[0]["ok"]
    return int(ok), time.perf_counter() - t0, df.rdd.getNumPartitions()


def spark_floor(spark, path: Path) -> tuple[int, float]:
    """Spark alone (no Python): ``isin`` of the registry's names in the JVM, the same exact check."""
    import pyspark.sql.functions as F  # noqa: N812

    import registry.bio as bt

    names = bt.CellType.filter().to_polars().get_column("name").drop_nulls().to_list()
    df = spark.read.parquet(str(path))
    t0 = time.perf_counter()
    ok = df.agg(F.sum(F.col("cell_type").isin(names).cast("long")).alias("ok")).collect()[0]["ok"]
    return int(ok), time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**8)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "registry-bench-spark")
    ap.add_argument("--spark-only", action="store_true")
    ap.add_argument("--local-only", action="store_true")
    args = ap.parse_args(argv)

    import registry as ln
    import registry.bio as bt

    args.data.mkdir(parents=True, exist_ok=True)
    ln.init(args.data / "instance")
    if bt.CellType.filter().count() == 0:
        bt.CellType.import_source(progress=False)
    path = args.data / f"labels-{args.n}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        write_data(path, args.n)
        print(f"wrote {args.n:,} labels to {path} in {time.perf_counter() - t0:.1f} s")

    result = {"n": args.n, "cores": args.cores, "registry_rows": bt.CellType.filter().count()}
    if not args.spark_only:
        ok, secs = local_run(path)
        result["local"] = {"validated": ok, "seconds": secs, "values_per_s": args.n / secs, "per_core": args.n / secs}
        print(f"single machine: {secs:.1f} s, {args.n / secs / 1e6:.2f} M values/s (1 process), {ok:,} validated")
    if not args.local_only:
        spark = spark_session(args.cores)
        try:
            ok, secs, parts = spark_run(spark, path)
            ok_floor, secs_floor = spark_floor(spark, path)
        finally:
            spark.stop()
        result["spark"] = {
            "validated": ok,
            "seconds": secs,
            "partitions": parts,
            "values_per_s": args.n / secs,
            "per_core": args.n / secs / args.cores,
            "jvm_only_isin": {"validated": ok_floor, "seconds": secs_floor, "values_per_s": args.n / secs_floor},
        }
        assert ok_floor == ok, "Spark's own isin and registry.spark.validate disagree"
        print(f"spark local[{args.cores}] without Python (isin in the JVM): {secs_floor:.1f} s")
        print(
            f"spark local[{args.cores}]: {secs:.1f} s, {args.n / secs / 1e6:.2f} M values/s, "
            f"{args.n / secs / args.cores / 1e6:.2f} M values/s per core, {parts} partitions, {ok:,} validated"
        )
    if "local" in result and "spark" in result:
        assert result["local"]["validated"] == result["spark"]["validated"], "Spark and the local path disagree"
        result["spark_per_core_vs_local"] = result["spark"]["per_core"] / result["local"]["per_core"]
        print(f"Spark per core / single machine: {result['spark_per_core_vs_local']:.2f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "spark.json"
    runs = json.loads(out.read_text()) if out.exists() else {}
    runs = runs if "n" not in runs else {str(runs["n"]): runs}
    runs[str(args.n)] = result
    out.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
