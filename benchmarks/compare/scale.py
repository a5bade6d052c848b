"""``python -m benchmarks scale``: past one machine's memory, with peak RSS per part.

- **stream**: a Parquet column of ``--values`` (default 10^8) labels, written in batches, is
  validated and standardized batch by batch (``pq.ParquetFile.iter_batches``) against a
  CellType registry of ``--registry`` (default 10^5) records; standardized values are written
  back to Parquet batch by batch, so memory is bounded by the batch, not the column.
- **big**: a ULabel registry of ``--big`` (default 10^7) records: bulk save (in commits of
  10^6), a new process opening it, ``get(name=...)`` latency, ``validate`` of 10^6 values.

Each part runs in its own process so its peak RSS is its own; results go to
``results/scale.json`` and ``python -m benchmarks report`` adds them to the report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.compare.timing import Recorder, machine, peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def _quiet():
    import logging

    logging.getLogger("registry").setLevel(logging.CRITICAL)


def build_registry(path: Path, n: int, chunk: int = 10**6) -> float:
    """Save n CellType records in commits of ``chunk``; returns seconds spent in ln.save."""
    import registry as ln
    import registry.bio as bt
    from benchmarks.compare.data import registry_frame

    ln.init(path)
    spent = 0.0
    for start in range(0, n, chunk):
        reg = registry_frame(min(chunk, n - start), seed=start)
        i = [str(k) for k in range(start, start + reg.height)]
        # names/ids unique across chunks: the chunk's own suffix is replaced by the global one
        names = [f"{a.rsplit(' ', 1)[0]} {k}" for a, k in zip(reg["name"].to_list(), i, strict=True)]
        recs = [
            bt.CellType(name=a, ontology_id=f"CL:{k.zfill(8)}", synonyms=f"ct-{k}")
            for a, k in zip(names, i, strict=True)
        ]
        t0 = time.perf_counter()
        ln.save(recs)
        spent += time.perf_counter() - t0
        del recs
    return spent


def write_column(path: Path, names: list[str], total: int, batch: int, seed: int = 5) -> float:
    """``total`` labels (65 % names, 20 % synonyms, 10 % upper-cased, 5 % unknown) in row groups of ``batch``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    names_arr = pa.array(names)
    upper = pc.utf8_upper(names_arr)
    syn = pa.array([f"ct-{k}" for k in range(len(names))])
    schema = pa.schema([("label", pa.string())])
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, total, batch):
            m = min(batch, total - start)
            idx = pa.array(rng.integers(0, len(names), m))
            kind = rng.random(m)
            col = pc.if_else(
                pa.array(kind < 0.65),
                pc.take(names_arr, idx),
                pc.if_else(
                    pa.array(kind < 0.85),
                    pc.take(syn, idx),
                    pc.if_else(
                        pa.array(kind < 0.95),
                        pc.take(upper, idx),
                        pc.binary_join_element_wise("unknown cell", pc.cast(idx, pa.string()), " "),
                    ),
                ),
            )
            w.write_table(pa.table({"label": col}, schema=schema), row_group_size=batch)
    return time.perf_counter() - t0


def part_stream(rec: Recorder, work: Path, values: int, reg_n: int, batch: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import registry as ln
    import registry.bio as bt

    _quiet()
    inst = work / "stream-inst"
    build_registry(inst, reg_n)
    ln.init(inst)
    names = bt.CellType.filter().values_list("name", flat=True)
    src = work / "labels.parquet"
    t_write = write_column(src, list(names), values, batch)
    del names
    rss_before = peak_rss_mb()
    rec.emit(
        {
            "workload": "write_column",
            "status": "ok",
            "first_s": t_write,
            "warm_s": None,
            "rows": values,
            "note": f"{values:,} labels, row groups of {batch:,}; peak RSS before streaming {rss_before:.0f} MB",
        }
    )
    ok = [0]

    def validate():
        ok[0] = 0
        for b in pq.ParquetFile(src).iter_batches(batch_size=batch, columns=["label"]):
            ok[0] += int(bt.CellType.validate(b.column(0), mute=True).sum())

    rec.run("stream_validate", validate, warm=False, rows=values, note=f"batches of {batch:,}")
    share = ok[0] / values

    def standardize():
        out = work / "standardized.parquet"
        with pq.ParquetWriter(out, pa.schema([("label", pa.string())])) as w:
            for b in pq.ParquetFile(src).iter_batches(batch_size=batch, columns=["label"]):
                std = bt.CellType.standardize(b.column(0), mute=True)
                w.write_table(pa.table({"label": pa.array(std, pa.string())}))
        out.unlink()

    rec.run(
        "stream_standardize",
        standardize,
        warm=False,
        rows=values,
        note=f"batches of {batch:,}, written back to Parquet; {share:.0%} of values validated",
    )


def build_labels(path: Path, n: int, chunk: int = 10**6) -> float:
    """Save n ULabel records (``label {i}``) in commits of ``chunk``; seconds spent in ``ln.save``."""
    import registry as ln

    ln.init(path)
    spent = 0.0
    for start in range(0, n, chunk):
        recs = [ln.ULabel(name=f"label {i}") for i in range(start, min(n, start + chunk))]
        t0 = time.perf_counter()
        ln.save(recs)
        spent += time.perf_counter() - t0
        del recs
    return spent


def part_big(rec: Recorder, work: Path, n: int) -> None:
    import numpy as np

    _quiet()
    inst = work / "big-inst"
    t = build_labels(inst, n)
    rec.emit(
        {
            "workload": "big_save",
            "status": "ok",
            "first_s": t,
            "warm_s": None,
            "rows": n,
            "note": f"ULabel: ln.save in {max(1, n // 10**6)} commits of up to 10^6 records (construction not timed)",
        }
    )
    code = (
        "import time; t0 = time.perf_counter(); import registry as ln; "
        f"ln.init({str(inst)!r}); c = ln.ULabel.filter().count(); t1 = time.perf_counter(); "
        "from benchmarks.compare.timing import peak_rss_mb; print(t1 - t0, c, peak_rss_mb())"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    rec.emit(
        {
            "workload": "big_open",
            "status": "ok",
            "first_s": float(out[0]),
            "warm_s": None,
            "rows": int(out[1]),
            "note": f"new process: import + open + count; its peak RSS {float(out[2]):.0f} MB",
        }
    )
    import registry as ln

    ln.init(inst)
    rng = np.random.default_rng(9)
    keys = [f"label {i}" for i in rng.integers(0, n, 100)]
    rec.run(
        "big_get",
        lambda: ln.ULabel.get(name=keys[0]),
        warm_fn=lambda: [ln.ULabel.get(name=k) for k in keys],
        per=len(keys),
        rows=1,
        note="get(name=...) per call, 100 random keys",
    )
    m = min(n, 10**6)
    values = [f"label {i}" if i % 10 else f"unknown {i}" for i in rng.integers(0, n, m)]
    rec.run("big_validate", lambda: ln.ULabel.validate(values, mute=True), rows=m, note=f"{m:,} values, 10 % unknown")


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m benchmarks scale", description=__doc__.splitlines()[0])
    p.add_argument("--values", type=float, default=1e8, help="labels in the streamed Parquet column")
    p.add_argument("--registry", type=float, default=1e5, help="registry size for the streamed column")
    p.add_argument("--batch", type=float, default=5e6, help="rows per streamed batch")
    p.add_argument("--big", type=float, default=1e7, help="records in the big registry")
    p.add_argument("--parts", default="stream,big")
    p.add_argument("--part", default=None, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    p.add_argument("--lines", type=Path, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.part:  # a child process: one part, JSON lines to a.lines
        rec = Recorder(str(a.lines), "registry", int(a.values if a.part == "stream" else a.big), budget=7200)
        if a.part == "stream":
            part_stream(rec, a.work, int(a.values), int(a.registry), int(a.batch))
        else:
            part_big(rec, a.work, int(a.big))
        return a.lines
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    lines = work / "scale.jsonl"
    lines.unlink(missing_ok=True)
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    base = [f"--values={a.values}", f"--registry={a.registry}", f"--batch={a.batch}", f"--big={a.big}"]
    for part in a.parts.split(","):
        print(f"scale part {part}", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "benchmarks", "scale", *base, "--part", part, "--work", str(work)]
        subprocess.run([*cmd, "--lines", str(lines)], env=env, cwd=ROOT, check=False)
        # each part's peak RSS is recorded per row (the child's own ru_maxrss)
    rows = [json.loads(x) for x in lines.read_text().splitlines()] if lines.exists() else []
    meta = {
        "command": "python -m benchmarks scale " + " ".join(argv if argv is not None else sys.argv[2:]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "total_s": round(time.perf_counter() - t0, 1),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {a.out}", file=sys.stderr)
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return a.out
