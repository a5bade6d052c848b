"""Ontology ids in any spelling (``CL_0000084``, ``cl:0000084``, OBO IRIs) as ``PREFIX:local``."""

from __future__ import annotations

import polars as pl

ID_PATTERN = r"^\s*(?:https?://purl\.obolibrary\.org/obo/|obo:)?([A-Za-z][A-Za-z0-9]*)[_:]([A-Za-z0-9]+)\s*$"


def normalize_ids(values: pl.Series) -> pl.Series:
    """Ontology ids in any spelling -> ``PREFIX:local`` (``CL_0000084``, ``cl:0000084``, OBO IRIs).

    The prefix keeps its case here; the case-insensitive tier of the matchers maps
    ``cl:0000084`` to ``CL:0000084``.

    >>> normalize_ids(pl.Series(["CL_0000084", "http://purl.obolibrary.org/obo/CL_0000084", "T cell"])).to_list()
    ['CL:0000084', 'CL:0000084', 'T cell']
    """
    return values.str.replace(ID_PATTERN, "${1}:${2}")


__all__ = ["ID_PATTERN", "normalize_ids"]
