"""Dataset curators (``ln.curators``): validate whole tables and AnnData objects column by column.

LaminDB's names and verbs: ``DataFrameCurator(df, columns={...})`` and
``AnnDataCurator(adata, obs={...}, var_index=...)`` with ``validate()``, ``standardize(key)``,
``add_new_from(key)`` and ``non_validated``. Beyond LaminDB: a per-value report
(``reports`` / ``report()``: tier, standardized value, fuzzy suggestion, row count), inputs
from polars, Arrow and Parquet/CSV/TSV/.h5ad paths, and files scanned in batches so they
need not fit in memory. Cost is per distinct value: 10^7 rows of a few thousand cell types
validate as fast as the few thousand.
"""

from __future__ import annotations

from .curator import VAR_INDEX, AnnDataCurator, DataFrameCurator, resolve_field
from .report import TIERS, ColumnReport

__all__ = ["DataFrameCurator", "AnnDataCurator", "ColumnReport", "TIERS", "VAR_INDEX", "resolve_field"]
