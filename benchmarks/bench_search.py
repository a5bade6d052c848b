"""Search speed: one query over a large CellType registry, and 1,000 queries at once.

    python -m benchmarks.bench_search [--max-n 1000000] [--repeat 3] [--no-registry]

Targets (issue 5): one query over 10^6 records <= 0.2 s warm; 1,000 queries against 10^5
records <= 5 s on 2 cores. LaminDB 2.12: 75-130 ms per query on 10^5 records (80 ms measured
for ``search``), ~0.7 s at 10^6, and no typo tolerance.

Records are synthetic but shaped like the Cell Ontology: name = a CL label + a random suffix
("T cell 48213"), the label's CL synonyms with the same suffix, a unique ontology id, and the
label's CL description on every 10th record. Two layers are timed:

- ``rank``: the pure ranking core over cached candidates (what a warm search costs);
- ``CellType.search``: the full path through an instance (snapshot, cache lookup, ranking and
  the ranked QuerySet; ``.df()`` materialises the hits with a score column).

Query kinds: an exact name, a word ("kidney": many phrase hits, fuzzy skipped because the rule
tiers fill the limit), a typo ("lymphocite": no rule hit, so the rapidfuzz pass over every
name and synonym runs — the worst case), a two-word typo ("dendritc cell": adds the word-sorted
pass), and "cell" (nearly every record is a hit).
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from .harness import Bench, parser

FIELDS = ["uid", "name", "ontology_id", "abbr", "synonyms", "description"]


def cell_ontology() -> pl.DataFrame:
    """Live CL terms (label, synonyms list, description) from the cellxgene-ontology-guide package."""
    import cellxgene_ontology_guide
    import zstandard

    path = sorted(
        glob.glob(os.path.join(os.path.dirname(cellxgene_ontology_guide.__file__), "data", "CL-ontology-*.json.zst"))
    )[-1]
    with open(path, "rb") as fh:
        terms = json.loads(zstandard.ZstdDecompressor().stream_reader(fh).read())
    rows = [
        (t["label"], t.get("synonyms") or [], t.get("description")) for t in terms.values() if not t.get("deprecated")
    ]
    return pl.DataFrame(
        rows, schema={"label": pl.String, "synonyms": pl.List(pl.String), "description": pl.String}, orient="row"
    )


def synthetic(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` CellType-like rows built from CL terms plus random suffixes (vectorised)."""
    cl = cell_ontology()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, cl.height, n)
    suffix = pl.Series(rng.integers(0, 10**6, n)).cast(pl.String)
    terms = cl[pick]
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "uid": pl.Series(rng.integers(62**9, 62**10, n)).cast(pl.String),
            "name": terms["label"] + " " + suffix,
            "ontology_id": "CL:" + pl.Series(np.arange(n)).cast(pl.String).str.zfill(8),
            "abbr": pl.Series([None] * n, dtype=pl.String),
            "synonyms": _suffixed_synonyms(terms["synonyms"], suffix),
            "description": terms["description"].zip_with(
                pl.Series(np.arange(n) % 10 == 0), pl.Series([None] * n, dtype=pl.String)
            ),
        }
    )


def _suffixed_synonyms(synonyms: pl.Series, suffix: pl.Series) -> pl.Series:
    """Each row's synonyms with the row's suffix appended, ``|``-joined (None without synonyms)."""
    frame = pl.DataFrame({"s": synonyms, "x": suffix}).with_row_index("i")
    joined = (
        frame.explode("s")
        .filter(pl.col("s").is_not_null())
        .group_by("i")
        .agg(joined=(pl.col("s") + " " + pl.col("x")).str.join("|"))
    )
    return frame.join(joined, on="i", how="left").sort("i")["joined"]


QUERIES = {
    "exact name": None,  # filled with a name present in the registry
    "word ('kidney')": "kidney",
    "typo ('lymphocite')": "lymphocite",
    "2-word typo ('dendritc cell')": "dendritc cell",
    "very common ('cell')": "cell",
}


def batch_queries(n: int, seed: int = 1, typos_only: bool = False) -> list[str]:
    """Free-text labels as found in a metadata column: CL labels, some with a typo, upper-cased or plural.

    ``typos_only``: every label loses one inner character (no rule hit, so every query needs
    the rapidfuzz pass: the batch's worst case).
    """
    cl = cell_ontology()
    rng = np.random.default_rng(seed)
    labels = cl["label"].to_list()
    out = []
    for i in rng.integers(0, len(labels), n):
        q = labels[i]
        kind = 1 if typos_only else rng.integers(0, 4)
        if kind == 1 and len(q) > 4:  # drop one character
            j = int(rng.integers(1, len(q) - 1))
            q = q[:j] + q[j + 1 :]
        elif kind == 2:
            q = q.upper()
        elif kind == 3:
            q = q + "s"
        out.append(q)
    return out


def bench_pure(bench: Bench, n: int, repeat: int) -> None:
    from registry.search.batch import rank_many
    from registry.search.candidates import build, default_roles
    from registry.search.rank import rank

    df = synthetic(n)
    roles = default_roles(FIELDS, "name")
    t0 = time.perf_counter()
    c = build(df, roles, case_sensitive=False)
    bench.measure(
        "build candidates (first search, cold)",
        n,
        lambda: build(df, roles, case_sensitive=False),
        repeat=1,
        note=f"{c.words.height:,} values",
    )
    print(f"    (first build took {time.perf_counter() - t0:.2f} s)")
    queries = dict(QUERIES, **{"exact name": df["name"][n // 2]})
    for kind, q in queries.items():
        rank(c, q, limit=20)
        if kind.startswith("2-word"):
            _ = c.sorted_choices  # built once on the first multi-word query
        bench.measure(
            f"rank: {kind}",
            n,
            lambda q=q: rank(c, q, limit=20),
            repeat=repeat,
            rows=n,
            note="limit=20, warm",
            peer=0.08 if n == 10**5 else None,
            peer_name="LaminDB search",
        )
    bench.measure("rank: typo, limit=None", n, lambda: rank(c, "lymphocite", limit=None), repeat=repeat, rows=n)
    if n <= 10**5:
        qs = batch_queries(1000)
        rank_many(c, qs[:10], limit=5)
        bench.measure(
            "batch: 1,000 queries, limit=5",
            n,
            lambda: rank_many(c, qs, limit=5),
            repeat=repeat,
            rows=1000,
            note="mixed labels; rows/s = queries/s",
            peer=80.0 if n == 10**5 else None,
            peer_name="LaminDB 1000 x search",
        )
        typos = batch_queries(1000, seed=2, typos_only=True)
        bench.measure(
            "batch: 1,000 typo queries, limit=5",
            n,
            lambda: rank_many(c, typos, limit=5),
            repeat=repeat,
            rows=1000,
            note="every query needs rapidfuzz",
        )


def bench_registry(bench: Bench, n: int, repeat: int) -> None:
    import registry as ln
    import registry.bio as bt
    from registry.search.candidates import clear_cache

    df = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        ln.init(Path(tmp) / "inst")
        t0 = time.perf_counter()
        rows = df.drop("id", "uid").to_dicts()
        ln.save([bt.CellType(**r) for r in rows])
        print(f"  built {n:,} CellType records in {time.perf_counter() - t0:.1f} s", flush=True)
        name = df["name"][n // 2]

        def cold():
            clear_cache(ln.settings.instance)
            bt.CellType.search("lymphocite")

        bench.measure("CellType.search (cold: candidates built)", n, cold, repeat=1)
        counter = iter(range(10**6))
        bench.measure(
            "CellType.search after saving 1 record",
            n,
            lambda: bt.CellType.search("lymphocite"),
            setup=lambda: bt.CellType(name=f"new cell {next(counter)}").save(),
            repeat=repeat,
            note="cache refreshed, not rebuilt",
        )
        for kind, q in [("exact name", name), ("typo ('lymphocite')", "lymphocite"), ("word ('kidney')", "kidney")]:
            bt.CellType.search(q)
            bench.measure(
                f"CellType.search: {kind}",
                n,
                lambda q=q: bt.CellType.search(q),
                repeat=repeat,
                rows=n,
                peer=0.08 if n == 10**5 else (0.7 if n == 10**6 else None),
                peer_name="LaminDB search",
            )
            bench.measure(
                f"CellType.search({kind}).df()", n, lambda q=q: bt.CellType.search(q).df(), repeat=repeat, rows=n
            )
        if n <= 10**5:
            qs = batch_queries(1000)
            bench.measure(
                "CellType.search(<1,000 queries>, limit=5)",
                n,
                lambda: bt.CellType.search(qs, limit=5),
                repeat=repeat,
                rows=1000,
                note="pandas DataFrame out",
            )


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--no-registry", action="store_true", help="time the pure ranking layer only")
    p.add_argument("--registry-only", action="store_true", help="time the registry path only")
    args = p.parse_args()
    repeat = max(args.repeat, 3)
    bench = Bench("search")
    sizes = [n for n in (10**4, 10**5, 10**6) if n <= args.max_n]
    for n in sizes if not args.registry_only else []:
        print(f"pure ranking, n = {n:,}", flush=True)
        bench_pure(bench, n, repeat)
    if not args.no_registry:
        for n in sizes:
            if n >= 10**5:
                print(f"registry path, n = {n:,}", flush=True)
                bench_registry(bench, n, repeat)
    bench.report()


if __name__ == "__main__":
    main()
