"""``ColumnReport``: what validating one column found, one row per distinct value.

Tiers, in the order a curator acts on them:

* ``validated`` — the value exists in the field as is;
* ``case`` / ``synonym`` — fixable: ``standardize`` replaces it with the record's value;
* ``fuzzy`` — unknown, but close to an existing value (``suggestion``, ``score``): a typo?
* ``new`` — unknown and close to nothing: ``add_new_from`` creates a record for it.

Rows are built from the distinct values and their row counts only, so a report costs the
same for 10^3 or 10^9 rows with the same values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl

from ..curate.matching import Tier

VALIDATED, CASE, SYNONYM, FUZZY, NEW = "validated", "case", "synonym", "fuzzy", "new"
# the report's word for each match tier, in tier order (best first)
REPORT_TIER = {Tier.EXACT: VALIDATED, Tier.CASE: CASE, Tier.SYNONYM: SYNONYM, Tier.FUZZY: FUZZY, Tier.NONE: NEW}
TIERS = tuple(REPORT_TIER.values())
FIXABLE = (CASE, SYNONYM)
UNMATCHED = (FUZZY, NEW)
# InspectResult.table tier -> report tier
_FROM_INSPECT = {tier.label: word for tier, word in REPORT_TIER.items()}

REPORT_SCHEMA = {
    "value": pl.String,
    "count": pl.Int64,
    "tier": pl.String,
    "standardized": pl.String,
    "suggestion": pl.String,
    "score": pl.Float64,
    "uid": pl.String,
}


@dataclass
class ColumnReport:
    """Validation of one column against one registry field.

    Attributes:
        key: the column (``"var_index"`` for an AnnData's variables).
        field: the field it was validated against, spelled as a user would (``bt.CellType.name``).
        table: one row per distinct value: ``value``, ``count`` (rows holding it), ``tier``,
            ``standardized`` (the registry's value for validated/case/synonym rows),
            ``suggestion`` and ``score`` (closest existing value, fuzzy rows), ``uid``.
        n_missing: rows with no value (null or ``""``); they are not validated and not errors.
    """

    key: str
    field: str
    table: pl.DataFrame
    n_missing: int = 0
    _counts: dict = dataclasses.field(default_factory=dict, repr=False)

    def count(self, *tiers: str) -> int:
        """Distinct values in the given tiers."""
        return int(self.table.filter(pl.col("tier").is_in(list(tiers))).height)

    def rows(self, *tiers: str) -> int:
        """Rows holding a value in the given tiers."""
        return int(self.table.filter(pl.col("tier").is_in(list(tiers))).get_column("count").sum() or 0)

    @property
    def n_unique(self) -> int:
        return self.table.height

    @property
    def n_rows(self) -> int:
        return int(self.table.get_column("count").sum() or 0) + self.n_missing

    @property
    def is_valid(self) -> bool:
        """Every value (missing ones aside) exists in the field as is."""
        return self.count(VALIDATED) == self.n_unique

    def values(self, *tiers: str) -> list:
        return self.table.filter(pl.col("tier").is_in(list(tiers))).get_column("value").to_list()

    @property
    def non_validated(self) -> list:
        return self.values(CASE, SYNONYM, FUZZY, NEW)

    @property
    def mapper(self) -> dict:
        """``{value: standardized}`` for the fixable values (casing, synonyms)."""
        t = self.table.filter(pl.col("tier").is_in(list(FIXABLE)))
        return dict(zip(t.get_column("value").to_list(), t.get_column("standardized").to_list(), strict=True))

    @property
    def new(self) -> list:
        """Values matching nothing (``fuzzy`` and ``new``): what ``add_new_from`` would create."""
        return self.values(FUZZY, NEW)

    def summary(self) -> str:
        """One line: how many distinct values (and rows) fall in each tier."""
        if self.is_valid:
            return f"{self.key}: all {self.n_unique:,} distinct values validated ({self.field})" + self._missing_note()
        parts = []
        for tier in TIERS[1:]:
            k = self.count(tier)
            if k:
                parts.append(f"{k:,} {tier}")
        n_bad = self.n_unique - self.count(VALIDATED)
        return (
            f"{self.key}: {n_bad:,} of {self.n_unique:,} distinct values not validated "
            f"({self.rows(*TIERS[1:]):,} of {self.n_rows - self.n_missing:,} rows) for {self.field}: "
            + ", ".join(parts)
            + self._missing_note()
        )

    def _missing_note(self) -> str:
        return f"; {self.n_missing:,} missing" if self.n_missing else ""

    def frame(self) -> pl.DataFrame:
        """The table with the column and field named, for a report over several columns."""
        return self.table.select(
            pl.lit(self.key).alias("column"), pl.lit(self.field).alias("field"), *[pl.col(c) for c in REPORT_SCHEMA]
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={self.count(t)}" for t in TIERS)
        return f"ColumnReport({self.key!r}, {self.field}, {counts}, missing={self.n_missing})"


def build_table(counts: pl.DataFrame, inspected: pl.DataFrame) -> pl.DataFrame:
    """Join distinct values with their counts to ``InspectResult.table`` rows; sorted by count."""
    t = inspected.select(
        pl.col("value").cast(pl.String),
        pl.col("tier").replace_strict(_FROM_INSPECT, return_dtype=pl.String),
        pl.col("name").cast(pl.String).alias("standardized"),
        pl.col("suggestions").list.first().cast(pl.String).alias("suggestion"),
        pl.col("scores").list.first().cast(pl.Float64).alias("score"),
        pl.col("uid").cast(pl.String),
    )
    c = counts.select(pl.col("value").cast(pl.String), pl.col("count").cast(pl.Int64))
    out = c.join(t, on="value", how="left")
    return out.select(list(REPORT_SCHEMA)).sort(["count", "value"], descending=[True, False])
