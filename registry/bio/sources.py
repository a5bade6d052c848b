"""Reference data shipped with the package, and importing it into a registry in one commit.

Only the Cell Ontology is shipped (CC BY 4.0, see ``registry/data/README.md``); it powers the
demo and is a realistic fixture for validation and search.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent.parent / "data"


def cell_ontology() -> pa.Table:
    """The shipped Cell Ontology terms: ontology_id, name, synonyms, parents, description."""
    return pq.read_table(DATA / "cell_ontology.parquet")


def import_cell_ontology(instance=None) -> int:
    """Save every Cell Ontology term as a ``bt.CellType`` (plus ``parents`` links), unless present.

    Returns how many records were created. Vectorised: one commit for the terms, one for links.
    """
    from . import CellType, Source

    inst = CellType._resolve_instance(instance)
    terms = pl.from_arrow(cell_ontology())
    existing = CellType._snapshot_pl(inst)
    new = terms.filter(~pl.col("ontology_id").is_in(existing.get_column("ontology_id").implode()))
    if new.is_empty():
        return 0
    source = Source.filter(entity="bionty.CellType", name="cl").one_or_none() if len(Source._snapshot(inst)) else None
    if source is None:
        source = Source(
            entity="bionty.CellType",
            organism="all",
            name="cl",
            version="2026-03-26",
            url="https://github.com/obophenotype/cell-ontology",
            description="Cell Ontology",
        )
        source.save()
    ids = CellType._insert_arrow(
        new.select("name", "ontology_id", "synonyms", "description")
        .with_columns(pl.lit(source.id, dtype=pl.Int64).alias("source_id"))
        .to_arrow(),
        inst,
    )
    all_terms = CellType._snapshot_pl(inst).select("id", "ontology_id")
    added = new.with_columns(pl.Series("id", ids))
    links = (
        added.select("id", pl.col("parents").str.split("|").alias("parent"))
        .explode("parent")
        .drop_nulls("parent")
        .join(all_terms.rename({"id": "parent_id", "ontology_id": "parent"}), on="parent", how="inner")
    )
    if len(links):
        src, tgt = CellType.parents.link_columns
        inst.commit(
            CellType.parents.link_table,
            inserts=pa.table(
                {
                    src: pa.array(links["id"].to_numpy(), pa.int64()),
                    tgt: pa.array(links["parent_id"].to_numpy(), pa.int64()),
                }
            ),
        )
    return int(len(ids))


def messy_values(n: int, seed: int = 0, instance=None) -> np.ndarray:
    """``n`` cell-type labels as curators receive them: exact names, synonyms, case variants,
    typos and unknown labels (shares: 50 / 20 / 10 / 10 / 10 %)."""
    rng = np.random.default_rng(seed)
    terms = pl.from_arrow(cell_ontology())
    names = terms.get_column("name").to_numpy()
    syn = (
        terms.select(pl.col("synonyms").str.split("|"))
        .explode("synonyms")
        .drop_nulls()
        .get_column("synonyms")
        .to_numpy()
    )
    kinds = rng.choice(5, size=n, p=[0.5, 0.2, 0.1, 0.1, 0.1])
    out = names[rng.integers(0, len(names), n)].astype(object)
    m = kinds == 1
    out[m] = syn[rng.integers(0, len(syn), int(m.sum()))]
    m = kinds == 2
    out[m] = pl.Series(out[m].astype(str)).str.to_uppercase().to_numpy()
    m = kinds == 3
    typo = pl.Series(out[m].astype(str))
    out[m] = (typo.str.slice(0, 3) + typo.str.slice(4)).to_numpy()  # drop the 4th character
    m = kinds == 4
    out[m] = np.char.add("novel cell ", rng.integers(0, 10**6, int(m.sum())).astype(str)).astype(object)
    return out
