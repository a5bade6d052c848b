"""``InspectResult``: what ``inspect`` found, per unique value, with LaminDB's attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from . import fuzzy
from .matching import Matches, Tier, first_in_input, gather_rows

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
    neither validated nor mappable: candidates for new records); ``suggest()`` to compute
    suggestions beyond the few ``inspect`` computes eagerly (see ``fuzzy.EAGER_CELLS``).

    The lists and the mapper are built on first access, so inspecting 10^6 values does not
    pay for 10^6-element Python lists nobody reads.
    """

    def __init__(self, *, values: pl.Series, matches: Matches, index: ReferenceIndex, uid_column: str | None = "uid"):
        self._values = values
        self._m = matches
        self._index = index
        self._uid_column = uid_column
        self._suggestions: pl.DataFrame | None = None
        self._eager_cells = fuzzy.EAGER_CELLS
        enc = matches.enc
        present = np.ones(len(enc), dtype=bool)
        if enc.values.dtype == pl.String and len(enc):
            present = ~(enc.values == "").to_numpy()
        self._present = present  # distinct values that count (not "")
        tiers = matches.tier
        self.n_unique: int = int(present.sum())
        self.n_empty: int = len(values) - self.n_unique
        n_valid = int((present & (tiers == Tier.EXACT)).sum())
        self._n_non_validated = self.n_unique - n_valid
        self._n_unmatched = int((present & (tiers == Tier.NONE)).sum())
        self._n_mapped = self._n_non_validated - self._n_unmatched
        self.frac_validated: float = round(n_valid / self.n_unique * 100, 1) if self.n_unique else 0.0
        self._cache: dict = {}

    # -- selections ----------------------------------------------------------------------
    def _mask(self, kind: str) -> np.ndarray:
        t = self._m.tier
        if kind == "all":
            sel = np.ones(len(t), dtype=bool)
        elif kind == "validated":
            sel = t == Tier.EXACT
        elif kind == "non_validated":
            sel = t != Tier.EXACT
        elif kind == "mapped":
            sel = (t != Tier.EXACT) & (t != Tier.NONE)
        elif kind == "unmatched":
            sel = t == Tier.NONE
        else:
            raise KeyError(kind)
        return sel & self._present

    def _idx(self, kind: str, n: int | None = None) -> np.ndarray:
        """Positions (into the distinct values) of one selection, in input order (first ``n``)."""
        return first_in_input(self._m.enc, np.flatnonzero(self._mask(kind)), n)

    def _unmatched_idx(self, n: int | None = None) -> np.ndarray:
        return self._idx("unmatched", n)

    def _compute_suggestions(self, budget: int | None = None) -> None:
        """Suggestions for the first unmatched values that fit ``budget`` string comparisons.

        Without a budget: the eager few for the log line (``fuzzy.eager_values``).
        """
        if not self._n_unmatched or not self._index.is_text:
            return
        n_choices = len(fuzzy.choices(self._index))
        if budget is None:
            k = fuzzy.eager_values(self._n_unmatched, n_choices, self._eager_cells)
        else:
            k = fuzzy.eager_count(self._n_unmatched, n_choices, budget)
        done = 0 if self._suggestions is None else self._suggestions.height
        if k > done:
            queries = self._m.enc.values.gather(self._unmatched_idx(k))
            self._suggestions = fuzzy.suggest(self._index, queries)

    def _count(self, tier: Tier) -> int:
        return int((self._present & (self._m.tier == tier)).sum())

    def _examples(self, kind: str, n: int = 10) -> list:
        return self._m.enc.values.gather(self._idx(kind, n)).to_list()

    def _mapped_examples(self, n: int = 10) -> list[tuple]:
        idx = self._idx("mapped", n)
        names = gather_rows(self._index.names, self._m.row[idx]).to_list()
        return list(zip(self._m.enc.values.gather(idx).to_list(), names, strict=True))

    def _list(self, kind: str) -> list:
        if kind not in self._cache:
            self._cache[kind] = self._m.enc.values.gather(self._idx(kind)).to_list()
        return self._cache[kind]

    # -- LaminDB attributes ----------------------------------------------------------------
    @property
    def validated(self) -> list:
        return self._list("validated")

    @property
    def non_validated(self) -> list:
        return self._list("non_validated")

    @property
    def unmatched(self) -> list:
        """Non-validated values with no casing/synonym match either (candidates for new records)."""
        return self._list("unmatched")

    @property
    def synonyms_mapper(self) -> dict:
        if "mapper" not in self._cache:
            idx = self._idx("mapped")
            keys = self._m.enc.values.gather(idx).to_list()
            names = gather_rows(self._index.names, self._m.row[idx]).to_list()
            self._cache["mapper"] = dict(zip(keys, names, strict=True))
        return self._cache["mapper"]

    def __getitem__(self, key: str):
        aliases = {
            "validated": "validated",
            "non_validated": "non_validated",
            "mapped": "validated",
            "not_mapped": "non_validated",
        }
        if key not in aliases:
            raise KeyError(f"{key!r}; InspectResult keys are {list(aliases)}")
        return getattr(self, aliases[key])

    @property
    def df(self) -> pd.DataFrame:
        """pandas DataFrame indexed by the raw input (duplicates, None included), bool ``__validated__``."""
        if "df" not in self._cache:
            import pandas as pd

            ok = self._m.tier == Tier.EXACT
            codes = self._m.enc.codes
            flags = ok[np.maximum(codes, 0)] & (codes >= 0) if len(ok) else np.zeros(len(codes), bool)
            self._cache["df"] = pd.DataFrame({"__validated__": flags}, index=pd.Index(self._values.to_list()))
        return self._cache["df"]

    # -- beyond LaminDB --------------------------------------------------------------------
    @property
    def table(self) -> pl.DataFrame:
        """One row per unique value (input order): value, tier, name, uid, suggestions, scores.

        ``suggestions`` is null for values whose suggestions were not computed (a bounded
        budget of ``fuzzy.TABLE_CELLS`` comparisons, ~0.5 s, is spent on the first unmatched
        values in input order; call ``suggest()`` for the rest) and an empty list when nothing
        was close.
        """
        if "table" not in self._cache:
            self._compute_suggestions(max(fuzzy.TABLE_CELLS, self._eager_cells))
            order = self._idx("all")
            m = self._m
            rows = m.row[order]
            tiers = m.tier[order]
            t = pl.DataFrame(
                {
                    "value": m.enc.values.gather(order),
                    "tier": Tier.labels(tiers),
                    "name": gather_rows(self._index.names, rows),
                }
            )
            frame = self._index.frame
            if self._uid_column and self._uid_column in frame.columns:
                t = t.with_columns(uid=gather_rows(frame.get_column(self._uid_column), rows))
            else:
                t = t.with_columns(uid=pl.lit(None, dtype=pl.String))
            s = self._suggestions
            if s is not None and s.height:
                t = t.join(s, on="value", how="left", maintain_order="left")
                has = pl.col("suggestions").list.len().fill_null(0) > 0
                unmatched = pl.col("tier") == Tier.NONE.label
                t = t.with_columns(tier=pl.when(unmatched & has).then(pl.lit(Tier.FUZZY.label)).otherwise("tier"))
            else:
                t = t.with_columns(
                    suggestions=pl.lit(None, dtype=pl.List(pl.String)), scores=pl.lit(None, dtype=pl.List(pl.Float64))
                )
            self._cache["table"] = t
        return self._cache["table"]

    def suggest(
        self,
        values: list[str] | None = None,
        *,
        limit: int = fuzzy.DEFAULT_LIMIT,
        score_cutoff: float = fuzzy.DEFAULT_CUTOFF,
    ) -> pl.DataFrame:
        """Fuzzy suggestions for ``values`` (default: every unmatched value), without budget.

        Cost is ``len(values) x (names + synonyms)`` string comparisons (~40 M/s on 2 cores).
        """
        values = self.unmatched if values is None else list(values)
        return fuzzy.suggest(self._index, values, limit=limit, score_cutoff=score_cutoff)

    def __repr__(self) -> str:
        return (
            f"InspectResult(validated={self.n_unique - self._n_non_validated}, non_validated={self._n_non_validated}, "
            f"frac_validated={self.frac_validated}, synonyms_mapper={self._n_mapped}, unmatched={self._n_unmatched})"
        )
