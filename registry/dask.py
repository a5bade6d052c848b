"""Bulk validation on Dask: the per-batch functions of ``registry.spark`` through ``map_partitions``.

The reference index is built once (``registry.spark.plan``) and handed to every partition as one
object (Dask ships it to the workers once per graph); each pandas partition's column goes
through Arrow into the same ``Plan`` batch functions Spark uses, so results equal the
single-machine ``validate``/``standardize`` value for value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .errors import InvalidArgument
from .spark import plan

__all__ = ["validate", "standardize"]


def _check(ddf, column: str) -> None:
    if column not in ddf.columns:
        raise InvalidArgument(f"the DataFrame has no column {column!r}; columns are {list(ddf.columns)}")


def _arrow(series) -> pa.Array:
    return pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())


def _validate_part(pdf, column, output, p):
    out = pdf.copy()
    out[output] = np.asarray(p.validate_batch(_arrow(pdf[column])), dtype=bool) if len(pdf) else np.zeros(0, bool)
    return out


def _standardize_part(pdf, column, output, p):
    out = pdf.copy()
    values = p.standardize_batch(_arrow(pdf[column])) if len(pdf) else pa.array([], pa.string())
    out[output] = values.to_pandas(types_mapper=None).astype(object).to_numpy() if len(pdf) else []
    return out


def validate(ddf, column: str, field, *, registry=None, output: str | None = None, organism=None, source=None):
    """``ddf`` with a bool column ``output`` (default ``<column>_validated``), as ``Registry.validate``."""
    _check(ddf, column)
    output = output or f"{column}_validated"
    p = plan(field, registry=registry, organism=organism, source=source, need="validate")
    meta = ddf._meta.assign(**{output: np.zeros(0, dtype=bool)})
    return ddf.map_partitions(_validate_part, column, output, p, meta=meta)


def standardize(
    ddf,
    column: str,
    field,
    *,
    registry=None,
    output: str | None = None,
    return_field=None,
    case_sensitive: bool = False,
    keep="first",
    synonyms_field="synonyms",
    organism=None,
    source=None,
):
    """``ddf`` with ``column`` (or ``output``) standardized, as ``Registry.standardize``."""
    _check(ddf, column)
    output = output or column
    p = plan(
        field,
        registry=registry,
        organism=organism,
        source=source,
        need="standardize",
        case_sensitive=case_sensitive,
        keep=keep,
        return_field=return_field,
        synonyms_field=synonyms_field,
    )
    meta = ddf._meta.assign(**{output: np.zeros(0, dtype=object)})
    return ddf.map_partitions(_standardize_part, column, output, p, meta=meta)
