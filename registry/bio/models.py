"""The bio registries (bionty's fields) and the verbs that reach their public sources.

``public()``, ``from_source()``, ``import_source()`` are class methods of every bio registry;
``from_values``, ``inspect`` and ``standardize`` consult the public source for values the
registry does not hold (through hooks the curation layer calls: ``_records_from_source``,
``_inspect_public``), and ``organism=`` defaults to ``bt.settings.organism``. uids are
bionty's deterministic hashes, set at construction (``uids.py``).
"""

from __future__ import annotations

import weakref
from itertools import repeat
from operator import attrgetter

import numpy as np
import polars as pl
import pyarrow as pa

from ..errors import DoesNotExist, InvalidArgument, SourceNotAvailable, shorten
from ..fields import Boolean, ForeignKey, Integer, ManyToMany, String, field_name
from ..logging import logger
from ..record import HasSynonyms, Record, class_only
from . import sources as _sources
from .ids import normalize_ids
from .importer import import_frame
from .uids import hash_uid, hash_uids, key_for


class BioRecord(Record, HasSynonyms):
    _abstract = True
    _uid_length = 14
    _lookup_prefix = "bt"
    _ontology_id_field = "ontology_id"
    _return_existing = True  # as bionty: CellType(name="T cell") returns the saved "T cell"

    # -- uids ---------------------------------------------------------------------------------
    @classmethod
    def _initial_uid(cls, values: dict) -> str | None:
        key = key_for(cls.__name__, values, "", cls._ontology_id_field)
        if key and (values.get(cls._ontology_id_field) or values.get("stable_id")):
            return hash_uid(key, cls._uid_length)  # keyed by id: no organism needed (no query)
        organism = ""
        if "organism" in cls._fields:
            org = values.get("organism")
            if org is None and values.get("organism_id") is not None:
                org = Organism._get_by_id(values["organism_id"])
            organism = getattr(org, "name", org) or ""
        key = key_for(cls.__name__, values, organism, cls._ontology_id_field)
        return hash_uid(key, cls._uid_length) if key else None

    # -- public sources ---------------------------------------------------------------------
    @classmethod
    def _source_spec(cls, organism=None, source=None):
        org = _organism_name(cls, organism)
        return _sources.resolve(cls.__name__, org, source)

    @class_only
    def public(cls, organism=None, source=None):
        """The public reference as an object with ``df()``, ``search``, ``validate``,
        ``inspect``, ``standardize`` and ``lookup`` (registry-independent).

        >>> bt.CellType.public().validate(["T cell", "T-cell"])  # doctest: +SKIP
        array([ True, False])
        """

        inst = cls._resolve_instance(None)
        spec = cls._source_spec(organism, source)
        return _public_reference(cls, spec, inst)

    @class_only
    def from_source(cls, *, organism=None, source=None, mute: bool = False, **kwargs):
        """One unsaved record built from the public source, looked up by one field
        (``name=...``, ``ontology_id=...``, ``symbol=...``); synonyms and id spellings resolve.

        Returns the existing record if the registry already holds it, None if the source has no
        such term (with a warning), and raises for an ambiguous lookup.
        """
        if len(kwargs) != 1:
            raise InvalidArgument(
                f"{cls.__name__}.from_source() takes exactly one field, e.g. from_source({cls._name_field}='...')"
            )
        ((fname, value),) = kwargs.items()
        recs = cls.from_values([value], field=fname, organism=organism, source=source, mute=True)
        if len(recs) == 0:
            if not mute:
                logger.warning(f"no {cls.__name__} with {fname}={shorten(value)} in the public source")
            return None
        return recs[0]

    @class_only
    def import_source(cls, source=None, organism=None, *, instance=None, progress: bool = True) -> int:
        """Save every (non-obsolete) term of the public source, with its ``parents`` links, in
        one transaction; terms already in the registry are skipped (idempotent).

        Returns the number of records created.
        """
        inst = cls._resolve_instance(instance)
        spec = _sources.resolve(cls.__name__, _organism_name(cls, organism, inst), source)
        return import_frame(
            cls,
            spec,
            _sources.frame(spec, inst),
            inst,
            source_of=lambda: _source_record(spec, inst),
            organism_of=lambda: _organism_record(spec.organism, inst),
            progress=progress,
        )

    # -- hooks the curation layer calls --------------------------------------------------------
    @classmethod
    def _default_organism(cls):
        if "organism" not in cls._fields:
            return None
        from .settings import settings

        return settings.organism

    @classmethod
    def _records_from_source(cls, values: list, field: str, organism_id, source, instance) -> list:
        """For values the registry lacks: unsaved records built from the public source (None
        where the source has nothing), aligned with ``values``."""
        try:
            org = Organism._get_by_id(organism_id, instance).name if organism_id is not None else None
            spec = _sources.resolve(cls.__name__, org or _organism_name(cls, None, instance), source)
        except SourceNotAvailable:  # no source installed: the registry-only behaviour
            return [None] * len(values)

        pub = _public_reference(cls, spec, instance)
        rows = pub._rows_for(values, field)
        if not (rows >= 0).any():
            return [None] * len(values)
        src = _source_record(spec, instance)
        org_id = organism_id
        if org_id is None and "organism" in cls._fields and spec.organism != "all":
            org_id = _organism_record(spec.organism, instance).id
        recs = pub._build_records(rows, source_id=src.id, organism_id=org_id)
        # a term the registry already holds (reached through another id spelling or a synonym
        # the registry lacks) is returned as the saved record, never built twice
        key = cls._ontology_id_field
        wanted = pl.Series([getattr(r, key) if r is not None else None for r in recs], dtype=pl.String)
        snap = cls._snapshot_pl(instance).select("id", key).filter(pl.col(key).is_in(wanted.drop_nulls().implode()))
        if snap.height:
            saved = dict(zip(snap.get_column(key).to_list(), snap.get_column("id").to_list(), strict=True))
            found = {k: cls._get_by_id(i, instance) for k, i in saved.items()}
            recs = [found.get(getattr(r, key), r) if r is not None else None for r in recs]
        return recs

    @classmethod
    def _inspect_public(cls, result, field: str, sc) -> None:
        """Log which non-validated values exist in the public source (and obsolete terms)."""
        unmatched = result.unmatched
        if not unmatched:
            return
        if field == "ontology_id":
            _report_id_spellings(cls, unmatched, sc)
        try:
            organism_id = dict(sc.restriction).get("organism")
            org = Organism._get_by_id(organism_id, sc.instance).name if organism_id is not None else None
            pub = cls.public(organism=org)
        except SourceNotAvailable:  # no public source: nothing to add
            return
        pub._report(unmatched, field, registry_hint=True)

    @classmethod
    def _after_insert(cls, records: list, ids: np.ndarray, inst, tx) -> None:
        """Stage ``parents`` links for new records that came from a public source, to parents
        already in the registry or saved in the same call."""
        if "parents" not in cls._fields:
            return
        dicts = list(map(attrgetter("__dict__"), records))
        parents = list(map(dict.get, dicts, repeat("_source_parents")))
        if not any(parents):  # records built by hand: no parents to link, decided in C
            return
        pairs = [(i, p) for i, ps in zip(ids.tolist(), parents, strict=True) if ps for p in ps]
        if not pairs:
            return
        child = pl.DataFrame(
            {"id": [a for a, _ in pairs], "parent": [b for _, b in pairs]}, schema={"id": pl.Int64, "parent": pl.String}
        )
        known = cls._snapshot_pl(inst).select("id", "ontology_id")
        new = pl.DataFrame(
            {"id": ids.astype(np.int64), "ontology_id": list(map(dict.get, dicts, repeat("ontology_id")))},
            schema={"id": pl.Int64, "ontology_id": pl.String},
        )
        targets = pl.concat([known, new]).rename({"id": "parent_id", "ontology_id": "parent"})
        links = child.join(targets, on="parent", how="inner")
        if links.height:
            parents = cls._fields["parents"]  # the ManyToMany of ontology registries
            src, tgt = parents.link_columns
            tx.commit(
                parents.link_table,
                inserts=pa.table({src: links["id"].to_arrow(), tgt: links["parent_id"].to_arrow()}),
            )

    # -- hooks of search and standardize (their signatures are CanSearch's and CanCurate's) ----------
    @classmethod
    def _search_query(cls, string):
        """An ontology id in any spelling (``CL_0000084``, ``cl:0000084``, its OBO IRI) is searched
        as ``CL:0000084``."""
        return normalize_ids(pl.Series([string])).item() if isinstance(string, str) else string

    @staticmethod
    def _standardize_with_public(scope, values, field=None, **kwargs):
        """``standardize``: ontology ids in any spelling map to ``PREFIX:local``, and values the
        registry lacks are standardised against the public source (``public_aware=True``, as bionty)."""
        from .public import standardize_public_aware

        return standardize_public_aware(scope, values, field, **kwargs)


_PUBLIC: dict = {}


def _public_reference(cls, spec, instance):
    """The PublicReference of ``spec``, kept while its parsed frame is the same object, so its
    matching indexes are built once per process, not once per call."""
    from .public import PublicReference

    frame = _sources.frame(spec, instance)
    key = (cls.__name__, spec)
    hit = _PUBLIC.get(key)
    if hit is None or hit._all is not frame:
        hit = _PUBLIC[key] = PublicReference(cls, spec, frame)
    return hit


def _report_id_spellings(cls, values: list, sc) -> None:
    """Log ids that the registry holds in another spelling (``CL_0000084`` -> ``CL:0000084``)."""
    q = pl.DataFrame({"value": pl.Series(values, dtype=pl.String)})
    q = q.with_columns(normalize_ids(q.get_column("value")).str.to_lowercase().alias("__k"))
    ref = sc.frame.select("ontology_id", cls._name_field).with_columns(
        pl.col("ontology_id").str.to_lowercase().alias("__k")
    )
    hits = q.join(ref, on="__k", how="inner").unique("value", keep="first", maintain_order=True)
    if hits.height:
        pairs = ", ".join(
            f"{shorten(v, 80)} → {shorten(i, 80)} ({shorten(n, 80)})"
            for v, i, n in hits.select("value", "ontology_id", cls._name_field).head(10).iter_rows()
        )
        logger.print(
            f"   detected {hits.height} id{'s' if hits.height != 1 else ''} in another spelling: {pairs}\n"
            f"→  standardize them: {sc.label}.standardize(values, field='ontology_id')"
        )


def _organism_name(cls, organism, instance=None) -> str | None:
    """The organism name to pick a source with: the argument, else ``bt.settings.organism``
    for registries with an organism field."""
    if organism is None:
        if "organism" not in cls._fields and cls.__name__ != "Gene":
            return None
        from .settings import settings

        organism = settings.organism
    if organism is None:
        return None
    if isinstance(organism, str):
        return organism
    return getattr(organism, "name", None)


def _source_record(spec, instance) -> Source:
    """The ``bt.Source`` row for ``spec`` (created if the user removed it)."""
    Source._resolve_instance(instance)
    snap = Source._snapshot_pl(instance)
    hit = snap.filter(
        (pl.col("entity") == spec.entity) & (pl.col("name") == spec.name) & (pl.col("version") == spec.version)
    )
    if hit.height:
        return Source._get_by_id(int(hit["id"][0]), instance)
    rec = Source(**spec.row())
    rec.__dict__["_instance"] = instance
    rec.save()
    return rec


def _organism_record(name: str, instance) -> Organism:
    """The Organism named ``name``, created from the organism source on first use."""
    hit = Organism._snapshot_pl(instance).filter(pl.col("name") == name)
    if hit.height:
        return Organism._get_by_id(int(hit["id"][0]), instance)
    rec = Organism._create_from_source(name, instance)
    if rec is None:
        raise DoesNotExist(f"no Organism named {name!r}; create it with bt.Organism(name={name!r}).save()")
    return rec


class Organism(BioRecord):
    """An organism (``bt.Organism(name="human", ontology_id="NCBITaxon:9606")``)."""

    name = String(unique=True, required=True, max_length=64)
    ontology_id = String(max_length=32)
    scientific_name = String(max_length=64)
    abbr = String(max_length=32)
    synonyms = String()
    description = String()
    source = ForeignKey("Source", related_name="organisms")

    @classmethod
    def _create_from_source(cls, name: str, instance) -> Organism | None:
        """Save and return the Organism ``name`` from the organism source (None if unknown)."""
        from . import loaders

        ref = loaders.ORGANISMS
        hit = ref.filter((pl.col("name") == name) | (pl.col("scientific_name") == name.replace(" ", "_").lower()))
        if hit.height == 0:
            return None
        row = hit.row(0, named=True)
        spec = _sources.resolve("Organism")
        src = _source_record(spec, instance)
        rec = cls(
            name=row["name"], ontology_id=row["ontology_id"], scientific_name=row["scientific_name"], source_id=src.id
        )
        rec.__dict__["_instance"] = instance
        rec.save()
        return rec

    @classmethod
    def _get_or_create_named(cls, name: str, instance):
        """Hook for ``organism="human"`` arguments: create the organism from its source on first use."""
        return cls._create_from_source(name, instance)


class Source(Record):
    """A versioned public reference (e.g. Cell Ontology 2026-03-26) records come from.

    On a new instance it lists every public source the installed packages offer.
    """

    _uid_length = 8

    entity = String(required=True, max_length=256)
    organism = String(max_length=64)
    name = String(required=True, max_length=64)
    version = String(max_length=256)
    url = String()
    description = String()
    in_db = Boolean(default=False)
    currently_used = Boolean(default=False)

    @classmethod
    def _initial_uid(cls, values: dict) -> str | None:
        key = key_for("Source", values)
        return hash_uid(key, cls._uid_length) if key is not None else None

    _seeded: dict = {}

    @classmethod
    def _resolve_instance(cls, instance=None):
        inst = super()._resolve_instance(instance)
        key = id(inst)
        seen = cls._seeded.get(key)
        if (seen is None or seen() is not inst) and not inst.read_only:
            cls._seeded[key] = weakref.ref(inst)  # weak: a closed instance's snapshots can be freed
            _seed_sources(inst)
        return inst


def _seed_sources(inst) -> None:
    """Add the catalog's sources the instance does not list yet (one commit)."""
    specs = _sources.catalog()
    snap = inst.snapshot_pl(Source._schema_table())
    rows = pl.DataFrame([s.row() for s in specs])
    defaults = rows.with_columns((pl.int_range(pl.len()).over(["entity", "organism"]) == 0).alias("currently_used"))
    if snap.height:
        defaults = defaults.join(
            snap.select("entity", "name", "version", "organism"),
            on=["entity", "name", "version", "organism"],
            how="anti",
        )
        defaults = defaults.with_columns(pl.lit(False).alias("currently_used"))
    if defaults.height == 0:
        return
    uids = hash_uids(
        (defaults["entity"] + defaults["name"] + defaults["organism"] + defaults["version"]).to_list(),
        Source._uid_length,
    )
    defaults = defaults.with_columns(pl.Series("uid", uids))
    # registering every table first: _insert_arrow resolves the instance again (no re-entry: seeded)
    Source._insert_arrow(defaults.to_arrow(), inst)


class Gene(BioRecord):
    """Genes, keyed by Ensembl id; ``symbol`` is the name field."""

    _name_field = "symbol"
    _ontology_id_field = "ensembl_gene_id"

    symbol = String(max_length=64)
    stable_id = String(max_length=64)
    ensembl_gene_id = String(unique=True, max_length=64)
    ncbi_gene_ids = String()
    biotype = String(max_length=64)
    synonyms = String()
    description = String()
    organism = ForeignKey("Organism", related_name="genes")
    source = ForeignKey("Source", related_name="genes")


class Protein(BioRecord):
    """Proteins (UniProtKB/Swiss-Prot accessions and entry names of human and mouse)."""

    _ontology_id_field = "uniprotkb_id"

    name = String(max_length=256)
    uniprotkb_id = String(unique=True, max_length=10)
    synonyms = String()
    length = Integer()
    gene_symbol = String(max_length=64)
    ensembl_gene_ids = String()
    organism = ForeignKey("Organism", related_name="proteins")
    source = ForeignKey("Source", related_name="proteins")


class CellMarker(BioRecord):
    """Cell markers (no public source is bundled yet)."""

    name = String(required=True, max_length=64)
    synonyms = String()
    gene_symbol = String(max_length=64)
    ncbi_gene_id = String(max_length=32)
    uniprotkb_id = String(max_length=10)
    organism = ForeignKey("Organism", related_name="cell_markers")
    source = ForeignKey("Source", related_name="cell_markers")


class _Ontology(BioRecord):
    """Fields shared by the ontology registries."""

    _abstract = True

    name = String(required=True, max_length=256)
    ontology_id = String(max_length=32)
    abbr = String(unique=True, max_length=32)
    synonyms = String()
    description = String()
    source = ForeignKey("Source")


def _ontology(name: str, doc: str):
    """Declare an ontology registry with a self many-to-many ``parents`` (reverse: ``children``)."""
    return type(
        name,
        (_Ontology,),
        {"__doc__": doc, "__module__": __name__, "parents": ManyToMany(name, related_name="children")},
    )


CellType = _ontology("CellType", "Cell types (Cell Ontology).")
Tissue = _ontology("Tissue", "Tissues (Uberon).")
Disease = _ontology("Disease", "Diseases (Mondo).")
ExperimentalFactor = _ontology("ExperimentalFactor", "Experimental factors (EFO).")
Phenotype = _ontology("Phenotype", "Phenotypes (PATO).")
Pathway = _ontology("Pathway", "Pathways (no public source is bundled yet).")
DevelopmentalStage = _ontology("DevelopmentalStage", "Developmental stages (HsapDv, MmusDv).")
Ethnicity = _ontology("Ethnicity", "Ethnicities (HANCESTRO).")
CellLine = _ontology("CellLine", "Cell lines (Cellosaurus).")


def import_cell_ontology(instance=None) -> int:
    """Save every Cell Ontology term as a ``bt.CellType`` (plus ``parents`` links), unless present.

    Returns how many records were created. Same as ``bt.CellType.import_source()``.
    """
    return CellType.import_source(instance=instance, progress=False)


__all__ = [
    "Organism",
    "Source",
    "Gene",
    "Protein",
    "CellMarker",
    "CellType",
    "Tissue",
    "Disease",
    "ExperimentalFactor",
    "Phenotype",
    "Pathway",
    "DevelopmentalStage",
    "Ethnicity",
    "CellLine",
    "normalize_ids",
    "field_name",
]
