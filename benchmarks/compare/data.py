"""The deterministic data every system reads: a CellType-like registry, curation values and queries.

Registry of n records, shaped like the Cell Ontology: ``name`` = a CL label + `` {i}``,
``ontology_id`` = ``CL:{i:08d}``, ``synonyms`` = ``ct-{i}`` plus the label's CL synonyms with the
same suffix (``|``-joined). Curation values (n): 65 % names, 20 % synonyms, 10 % upper-cased
names, 5 % unknown. from_values values: every name once, shuffled. Search: one typo query and
1,000 queries as a metadata column has them (exact, a dropped character, upper-cased, plural).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

CL = Path(__file__).resolve().parents[2] / "registry" / "data" / "cell_ontology.parquet"
N_QUERIES = 1000
N_KEYS = 100


def registry_frame(n: int, seed: int = 0) -> pl.DataFrame:
    terms = pl.read_parquet(CL).select("name", "synonyms")
    rng = np.random.default_rng(seed)
    pick = terms[rng.integers(0, terms.height, n)]
    i = pl.Series("i", np.arange(n)).cast(pl.String)
    suffixed = (
        pick.with_columns(i, pl.col("synonyms").str.split("|").alias("s"))
        .with_row_index("row")
        .explode("s")
        .group_by("row", maintain_order=True)
        .agg(pl.first("i"), (pl.col("s") + " " + pl.col("i")).drop_nulls().str.join("|").alias("s"))
    )
    return suffixed.select(
        (pl.lit(pick["name"]) + " " + pl.col("i")).alias("name"),
        ("CL:" + pl.col("i").str.zfill(8)).alias("ontology_id"),
        (
            "ct-" + pl.col("i") + pl.when(pl.col("s").str.len_chars() > 0).then("|" + pl.col("s")).otherwise(pl.lit(""))
        ).alias("synonyms"),
    )


def curation_values(reg: pl.DataFrame, n: int, seed: int = 1) -> pl.Series:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, reg.height, n)
    kind = rng.random(n)
    names = reg["name"].gather(idx)
    syn = "ct-" + pl.Series(idx).cast(pl.String)
    unknown = "unknown cell " + pl.Series(idx).cast(pl.String)
    k = pl.Series(kind)
    out = (
        pl.DataFrame({"name": names, "syn": syn, "unk": unknown, "k": k})
        .select(
            pl.when(pl.col("k") < 0.65)
            .then(pl.col("name"))
            .when(pl.col("k") < 0.85)
            .then(pl.col("syn"))
            .when(pl.col("k") < 0.95)
            .then(pl.col("name").str.to_uppercase())
            .otherwise(pl.col("unk"))
            .alias("value")
        )
        .get_column("value")
    )
    return out


def queries(reg: pl.DataFrame, k: int = N_QUERIES, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for j, i in enumerate(rng.integers(0, reg.height, k)):
        q = reg["name"][int(i)]
        kind = j % 4
        if kind == 1 and len(q) > 4:  # one dropped character
            p = int(rng.integers(1, len(q) - 1))
            q = q[:p] + q[p + 1 :]
        elif kind == 2:
            q = q.upper()
        elif kind == 3:
            q = q + "s"
        out.append(q)
    return out


def write(root: Path, n: int) -> Path:
    """Write the data for size n under ``root/n`` (once) and return that directory."""
    d = Path(root) / str(n)
    if (d / "done").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    reg = registry_frame(n)
    reg.write_parquet(d / "registry.parquet")
    pl.DataFrame({"value": curation_values(reg, n)}).write_parquet(d / "values.parquet")
    rng = np.random.default_rng(3)
    pl.DataFrame({"value": reg["name"].gather(rng.permutation(n))}).write_parquet(d / "from_values.parquet")
    name = reg["name"][n // 2]
    single = name[:3] + name[4:]  # a typo: the 4th character dropped
    keys = reg["name"].gather(rng.integers(0, n, N_KEYS))
    pl.DataFrame({"query": queries(reg)}).write_parquet(d / "queries.parquet")
    pl.DataFrame({"key": keys}).write_parquet(d / "keys.parquet")
    (d / "single_query.txt").write_text(single)
    (d / "prefix.txt").write_text(reg["name"][n // 3][:6])
    (d / "done").write_text("ok")
    return d
