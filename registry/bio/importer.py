"""``import_source``: a whole public source into a registry in one transaction, as columns.

No record objects: the parsed frame is anti-joined against what the registry holds, uids are
hashed per row (bionty's rule), the terms go in as one Arrow insert and the ``parents`` links
as another, both staged in one ``instance.transaction()`` so they land together or not at all.
"""

from __future__ import annotations

import contextlib

import numpy as np
import polars as pl
import pyarrow as pa

from .uids import hash_uids

GENE_COLUMNS = ["symbol", "ensembl_gene_id", "ncbi_gene_ids", "biotype", "synonyms", "description"]
ONTOLOGY_COLUMNS = ["name", "ontology_id", "synonyms", "description"]
PROTEIN_COLUMNS = ["name", "uniprotkb_id", "synonyms"]


@contextlib.contextmanager
def _progress(enabled: bool, label: str, total: int):
    """A rich progress bar with one step per stage (parse, insert, link), or nothing."""
    if not enabled:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)


def import_frame(model, spec, frame: pl.DataFrame, inst, *, source_of, organism_of, progress: bool = True) -> int:
    """Insert the source's current (non-obsolete) terms the registry lacks, with parent links.

    ``source_of()`` and ``organism_of()`` give the ``bt.Source`` and ``bt.Organism`` records the new
    rows point to (created on first need, so an import with nothing new creates nothing).
    """

    key = model._ontology_id_field
    is_gene = model.__name__ == "Gene"
    if "obsolete" in frame.columns:
        frame = frame.filter(~pl.col("obsolete"))
    frame = frame.filter(pl.col(key).is_not_null()).unique(key, keep="first", maintain_order=True)
    with _progress(progress, f"importing {spec.name} {spec.version} into bt.{model.__name__}", 3) as step:
        existing = model._snapshot_pl(inst).get_column(key)
        new = frame.filter(~pl.col(key).is_in(existing.implode()))
        step()
        if new.height == 0:
            return 0
        src = source_of()
        cols = GENE_COLUMNS if is_gene else PROTEIN_COLUMNS if model.__name__ == "Protein" else ONTOLOGY_COLUMNS
        rows = new.select([c for c in cols if c in new.columns] + [pl.lit(src.id, pl.Int64).alias("source_id")])
        if "organism" in model._fields and spec.organism != "all":
            organism = organism_of()
            rows = rows.with_columns(pl.lit(organism.id, pl.Int64).alias("organism_id"))
        if is_gene and "symbol" in rows.columns:
            # a symbol never exceeds the column's 64 characters in real tables; cut defensively
            rows = rows.with_columns(pl.col("symbol").str.slice(0, 64))
        rows = rows.with_columns(pl.Series("uid", hash_uids(new.get_column(key).to_list(), model._uid_length)))
        table = rows.to_arrow()
        with inst.transaction() as tx:
            ids = model._insert_arrow(table, inst, tx=tx)
            step()
            if "parents" in model._fields and "parents" in new.columns:
                _stage_links(model, inst, tx, new.get_column(key), new.get_column("parents"), np.asarray(ids))
            step()
    return int(len(ids))


def _stage_links(model, inst, tx, keys: pl.Series, parents: pl.Series, ids: np.ndarray) -> None:
    """Parent links of the new terms, to parents already in the registry or new in this import."""
    known = model._snapshot_pl(inst).select(pl.col("id").cast(pl.Int64), pl.col("ontology_id"))
    added = pl.DataFrame({"id": ids.astype(np.int64), "ontology_id": keys})
    targets = pl.concat([known, added]).unique("ontology_id", keep="last")
    child = pl.DataFrame({"child_id": ids.astype(np.int64), "parent": parents}).explode("parent").drop_nulls("parent")
    links = child.join(targets.rename({"id": "parent_id", "ontology_id": "parent"}), on="parent", how="inner")
    if links.height == 0:
        return
    src, tgt = model.parents.link_columns
    tx.commit(
        model.parents.link_table,
        inserts=pa.table(
            {
                src: pa.array(links["child_id"].to_numpy(), pa.int64()),
                tgt: pa.array(links["parent_id"].to_numpy(), pa.int64()),
            }
        ),
    )
