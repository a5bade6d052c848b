"""Dataset curation: ``DataFrameCurator`` / ``registry validate`` on one file of N values.

Registry: ``bt.CellType`` with 3,000 records (two synonyms each). File: a Parquet (and a CSV)
file with one column of N values drawn from 3,700 distinct labels (3,000 names, 300 upper-
cased, 300 synonyms, 100 unknown) plus a float column. Each run is a fresh process, so the
figures include reading the file and building the registry's indexes; peak memory is the
process's maximum resident set size (``ru_maxrss``), interpreter and imports included.

    python -m benchmarks.bench_curators [--n 10000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

CHILD = r"""
import resource, sys, time, json
t0 = time.perf_counter()
import registry as ln, registry.bio as bt
ln.init(sys.argv[1])
bt.CellType._snapshot()
t1 = time.perf_counter()
c = ln.curators.DataFrameCurator(sys.argv[2], columns={"cell_type": bt.CellType.name}, progress=False)
c.validate()
t2 = time.perf_counter()
out = {"open_s": t1 - t0, "validate_s": t2 - t1, "rss_validate_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if len(sys.argv) > 3:
    c.standardize(output=sys.argv[3])
    out["standardize_s"] = time.perf_counter() - t2
    out["rss_standardize_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def build(root: Path, n: int) -> tuple[Path, Path]:
    import registry as ln
    import registry.bio as bt

    ln.init(root / "inst")
    names = [f"cell type {i}" for i in range(3000)]
    ln.save([bt.CellType(name=x, synonyms=f"ct{i}|CT-{i}", ontology_id=f"CL:{i:07d}") for i, x in enumerate(names)])
    pool = (
        names + [x.upper() for x in names[:300]] + [f"ct{i}" for i in range(300)] + [f"unknown {i}" for i in range(100)]
    )
    rng = np.random.default_rng(0)
    col = pl.Series("cell_type", pool).gather(pl.Series(rng.integers(0, len(pool), n)))
    df = pl.DataFrame({"cell_type": col, "x": rng.random(n)})
    df.write_parquet(root / "data.parquet", row_group_size=1_000_000)
    df.write_csv(root / "data.csv")
    return root / "data.parquet", root / "data.csv"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = int(args.n)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        parquet, csv = build(root, n)
        for label, path in (("parquet", parquet), ("csv", csv)):
            runs = []
            for _ in range(args.repeat):
                extra = [str(root / f"out_{label}.parquet")] if label == "parquet" else []
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, str(root / "inst"), str(path), *extra],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                run = json.loads(proc.stdout.strip().splitlines()[-1])
                run["process_s"] = time.perf_counter() - t0
                runs.append(run)
            med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
            results[label] = med
            print(
                f"{label:8s} n={n:,}: validate {med['validate_s']:.2f} s (median of {args.repeat}), "
                f"peak RSS {med['rss_validate_mb']:.0f} MB"
                + (
                    f"; standardize -> parquet {med['standardize_s']:.2f} s, peak RSS {med['rss_standardize_mb']:.0f} MB"
                    if "standardize_s" in med
                    else ""
                )
            )
    out = Path(__file__).parent / "results" / "curators.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"n": n, "results": results}, indent=1))


if __name__ == "__main__":
    main()
