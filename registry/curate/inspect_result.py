"""``InspectResult``: what ``inspect`` found, per unique value, with LaminDB's attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from . import fuzzy
from .matching import EXACT, FUZZY, NONE

if TYPE_CHECKING:
    import pandas as pd

    from .matching import ReferenceIndex


class InspectResult:
    """Result of ``Registry.inspect(values)``.

    LaminDB attributes: ``validated`` and ``non_validated`` (unique, non-empty, input order),
    ``frac_validated`` (percent, 1 decimal), ``synonyms_mapper`` (non-validated value ->
    standardized name, via casing or synonyms), ``n_empty`` (empty + duplicated inputs),
    ``n_unique``, ``df`` (pandas, indexed by the raw input, column ``__validated__``) and
    ``result["validated"]`` / ``["non_validated"]`` / legacy ``["mapped"]`` / ``["not_mapped"]``.

    Beyond LaminDB: ``table``, one row per unique value with its match ``tier`` (exact,
    case-insensitive, synonym, fuzzy, none), the matched ``name`` and ``uid``, and fuzzy
    ``suggestions`` with ``scores`` for values that matched nothing; ``unmatched`` (values
    neither validated nor mappable, i.e. candidates for new records); ``suggest()`` to
    compute suggestions beyond the ones ``inspect`` computed eagerly.
    """

    def __init__(
        self,
        *,
        values: pl.Series,
        matched: pl.DataFrame,
        index: "ReferenceIndex | None",
        suggestions: pl.DataFrame | None,
        n_empty: int,
        uid_column: str | None = "uid",
    ):
        self._values = values
        self._matched = matched  # value, tier, name (unique present values, input order)
        self._index = index
        self._suggestions = suggestions if suggestions is not None else fuzzy.suggest(index, []) if index else None
        self._uid_column = uid_column
        tier = matched.get_column("tier")
        value = matched.get_column("value")
        self.validated: list = value.filter(tier == EXACT).to_list()
        self.non_validated: list = value.filter(tier != EXACT).to_list()
        self.n_unique: int = matched.height
        self.n_empty: int = n_empty
        self.frac_validated: float = round(len(self.validated) / self.n_unique * 100, 1) if self.n_unique else 0.0
        mapped = matched.filter((tier != EXACT) & pl.col("name").is_not_null())
        self.synonyms_mapper: dict = dict(zip(mapped.get_column("value").to_list(), mapped.get_column("name").to_list()))
        self.unmatched: list = value.filter(tier == NONE).to_list()
        self._df = None
        self._table = None

    # -- LaminDB compatibility -------------------------------------------------------------
    def __getitem__(self, key: str):
        keys = {
            "validated": self.validated,
            "non_validated": self.non_validated,
            "mapped": self.validated,
            "not_mapped": self.non_validated,
        }
        if key not in keys:
            raise KeyError(f"{key!r}; InspectResult keys are {list(keys)}")
        return keys[key]

    @property
    def df(self) -> "pd.DataFrame":
        """pandas DataFrame indexed by the raw input (duplicates, None included), bool ``__validated__``."""
        if self._df is None:
            import pandas as pd

            ok = set(self.validated)
            flags = self._values.is_in(pl.Series(list(ok), dtype=self._values.dtype).implode()).fill_null(False)
            self._df = pd.DataFrame({"__validated__": flags.to_numpy()}, index=pd.Index(self._values.to_list()))
        return self._df

    # -- beyond LaminDB --------------------------------------------------------------------
    @property
    def table(self) -> pl.DataFrame:
        """One row per unique value: value, tier, name, uid, suggestions, scores.

        ``suggestions`` is null for values whose suggestions were not computed (inspect
        spends a bounded budget; call ``suggest()`` for the rest) and an empty list when
        nothing was close.
        """
        if self._table is None:
            t = self._matched.select("value", "tier", "name")
            if self._index is not None and self._uid_column in self._index.frame.columns:
                first = (
                    self._index.frame.select(
                        pl.col(self._index.field).alias("name"), pl.col(self._uid_column).alias("uid")
                    )
                    .filter(pl.col("name").is_not_null())
                    .unique(subset="name", keep="first", maintain_order=True)
                )
                t = t.join(first, on="name", how="left", maintain_order="left")
            else:
                t = t.with_columns(uid=pl.lit(None, dtype=pl.String))
            if self._suggestions is not None and self._suggestions.height:
                t = t.join(self._suggestions, on="value", how="left", maintain_order="left")
                has = pl.col("suggestions").list.len().fill_null(0) > 0
                t = t.with_columns(tier=pl.when((pl.col("tier") == NONE) & has).then(pl.lit(FUZZY)).otherwise("tier"))
            else:
                t = t.with_columns(
                    suggestions=pl.lit(None, dtype=pl.List(pl.String)), scores=pl.lit(None, dtype=pl.List(pl.Float64))
                )
            self._table = t
        return self._table

    def suggest(self, values: list[str] | None = None, *, limit: int = fuzzy.DEFAULT_LIMIT, score_cutoff: float = fuzzy.DEFAULT_CUTOFF) -> pl.DataFrame:
        """Fuzzy suggestions for ``values`` (default: every unmatched value), without budget.

        Cost is ``len(values) x (names + synonyms)`` string comparisons (~40 M/s on 2 cores).
        """
        if self._index is None:
            return fuzzy.suggest(None, [])  # type: ignore[arg-type]
        values = self.unmatched if values is None else list(values)
        return fuzzy.suggest(self._index, values, limit=limit, score_cutoff=score_cutoff)

    def __repr__(self) -> str:
        return (
            f"InspectResult(validated={len(self.validated)}, non_validated={len(self.non_validated)}, "
            f"frac_validated={self.frac_validated}, synonyms_mapper={len(self.synonyms_mapper)}, "
            f"unmatched={len(self.unmatched)})"
        )
