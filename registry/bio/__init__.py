"""Biological registries (``import registry.bio as bt``): Organism, Source, Gene and ontologies.

Schemas follow bionty; uids are 14 characters as in bionty since 2026. Public reference
sources (import_source / from_source) are not part of this package yet.
"""

from __future__ import annotations

from ..fields import ForeignKey, ManyToMany, String
from ..record import HasSynonyms, Record


class BioRecord(Record, HasSynonyms):
    _abstract = True
    _uid_length = 14
    _lookup_prefix = "bt"


class Organism(BioRecord):
    """An organism (``bt.Organism(name="human", ontology_id="NCBITaxon:9606")``)."""

    name = String(unique=True, required=True, max_length=64)
    ontology_id = String(max_length=32)
    scientific_name = String(max_length=64)
    abbr = String(max_length=32)
    synonyms = String()
    description = String()


class Source(Record):
    """A versioned public reference (e.g. Cell Ontology 2025-02-13) records come from."""

    _uid_length = 8

    entity = String(required=True, max_length=256)
    organism = String(max_length=64)
    name = String(required=True, max_length=64)
    version = String(max_length=256)
    url = String()
    description = String()


class Gene(BioRecord):
    """Genes, keyed by Ensembl id; ``symbol`` is the name field."""

    _name_field = "symbol"

    symbol = String(max_length=64)
    ensembl_gene_id = String(unique=True, max_length=64)
    ncbi_gene_ids = String()
    biotype = String(max_length=64)
    synonyms = String()
    description = String()
    organism = ForeignKey("Organism", related_name="genes")
    source = ForeignKey("Source", related_name="genes")


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
    cls = type(
        name,
        (_Ontology,),
        {"__doc__": doc, "__module__": __name__, "parents": ManyToMany(name, related_name="children")},
    )
    return cls


CellType = _ontology("CellType", "Cell types (Cell Ontology).")
CellMarker = _ontology("CellMarker", "Cell markers.")
Tissue = _ontology("Tissue", "Tissues (Uberon).")
Disease = _ontology("Disease", "Diseases (Mondo).")
ExperimentalFactor = _ontology("ExperimentalFactor", "Experimental factors (EFO).")

__all__ = ["Organism", "Source", "Gene", "CellType", "CellMarker", "Tissue", "Disease", "ExperimentalFactor"]
