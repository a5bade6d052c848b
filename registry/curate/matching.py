"""The matchers behind validate / inspect / standardize / from_values, as pure polars functions.

Everything here works on a reference ``pl.DataFrame`` (one row per record, in save order,
i.e. sorted by id) and a Series of *unique* input values; no instance, no Record class. The
three tiers are LaminDB's (lamin-utils ``map_synonyms``), vectorised as hash joins:

1. exact, case-sensitive match on the field;
2. unless ``case_sensitive``: lower-cased match on the field; when several records differ
   only by case, the first one saved wins (regardless of ``keep``, as in LaminDB);
3. synonym match: the ``|``-joined synonyms column exploded, entries equal to the record's
   own name dropped; when one synonym belongs to several records ``keep`` picks the first or
   last saved, or (``keep=False``) all of them.

Derived structures (unique names, lower-cased keys, exploded synonyms) are built once per
``ReferenceIndex`` and reused across calls while the registry snapshot does not change.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from ..errors import InvalidArgument

Keep = Literal["first", "last", False]

EXACT = "exact"
CASE = "case-insensitive"
SYNONYM = "synonym"
FUZZY = "fuzzy"
NONE = "none"
TIERS = (EXACT, CASE, SYNONYM, FUZZY, NONE)


def check_keep(keep) -> None:
    if not (keep is False or (isinstance(keep, str) and keep in ("first", "last"))):
        raise InvalidArgument(f"keep must be 'first', 'last' or False, got {keep!r}")


class ReferenceIndex:
    """Lookup structures over one field (and optionally its synonyms) of a reference table.

    Args:
        frame: one row per record, in save order (sorted by id). Must hold ``field`` and, if
            given, ``synonyms_field``; other columns (``uid``, ``id``, a ``return_field``) are
            used by callers that need them.
        field: the column values are matched against (``"name"``, ``"symbol"``, ...).
        synonyms_field: the ``|``-joined synonyms column, or None to skip the synonym tier.

    >>> ref = pl.DataFrame({"name": ["T cell", "B cell"], "synonyms": ["T-cell|T lymphocyte", None]})
    >>> index = ReferenceIndex(ref, "name", "synonyms")
    >>> match(index, pl.Series(["t cell", "T-cell", "foo"]))["name"].to_list()
    ['T cell', 'T cell', None]
    """

    def __init__(self, frame: pl.DataFrame, field: str, synonyms_field: str | None = None):
        if field not in frame.columns:
            raise InvalidArgument(f"reference has no column '{field}'; columns are {frame.columns}")
        if synonyms_field is not None and synonyms_field not in frame.columns:
            raise InvalidArgument(f"reference has no synonyms column '{synonyms_field}'; columns are {frame.columns}")
        if synonyms_field == field:
            raise InvalidArgument("synonyms_field must differ from field")
        self.frame = frame
        self.field = field
        self.synonyms_field = synonyms_field
        self._memo: dict = {}

    def __len__(self) -> int:
        return self.frame.height

    @property
    def names(self) -> pl.Series:
        names = self.frame.get_column(self.field)
        return names.cast(pl.String) if names.dtype == pl.Null else names

    @property
    def is_text(self) -> bool:
        return self.names.dtype in (pl.String, pl.Null)

    def _cached(self, key, build):
        value = self._memo.get(key)
        if value is None:
            value = build()
            self._memo[key] = value
        return value

    # -- derived structures ----------------------------------------------------------------
    def exact_keys(self) -> pl.DataFrame:
        """Distinct non-null field values: columns ``__key`` and ``__hit`` (always True)."""
        return self._cached(
            "exact",
            lambda: self.names.drop_nulls().unique().to_frame("__key").with_columns(__hit=pl.lit(True)),
        )

    def lower_keys(self) -> pl.DataFrame:
        """``__key`` = lower-cased value -> ``__name`` = first saved record's value."""

        def build():
            names = self.names.drop_nulls().to_frame("__name")
            return names.with_columns(__key=pl.col("__name").str.to_lowercase()).unique(
                subset="__key", keep="first", maintain_order=True
            )

        return self._cached("lower", build)

    def exploded_synonyms(self) -> pl.DataFrame:
        """One row per (record, synonym): ``__row`` (position in frame), ``__name``, ``__synonym``.

        Empty entries and entries equal to the record's own name are dropped (LaminDB's
        ``explode_aggregated_column_to_map``). Rows keep save order.
        """

        def build():
            if self.synonyms_field is None:
                return pl.DataFrame(schema={"__row": pl.UInt32, "__name": pl.String, "__synonym": pl.String})
            df = (
                self.frame.select(
                    pl.col(self.field).alias("__name"), pl.col(self.synonyms_field).alias("__synonym")
                )
                .with_row_index("__row")
                .filter(pl.col("__synonym").is_not_null() & (pl.col("__synonym") != "") & pl.col("__name").is_not_null())
                .with_columns(pl.col("__synonym").str.split("|"))
                .explode("__synonym")
                .filter((pl.col("__synonym") != "") & (pl.col("__synonym") != pl.col("__name")))
            )
            return df

        return self._cached("exploded", build)

    def synonym_keys(self, case_sensitive: bool, keep: Keep) -> pl.DataFrame:
        """``__key`` (synonym, lower-cased unless ``case_sensitive``) -> ``__name`` (or ``__names``).

        ``keep="first"``/``"last"`` pick the first/last saved record owning the synonym;
        ``keep=False`` gives ``__names``, every distinct owner name in save order.
        """

        def build():
            ex = self.exploded_synonyms()
            key = pl.col("__synonym") if case_sensitive else pl.col("__synonym").str.to_lowercase()
            ex = ex.with_columns(__key=key)
            if keep is False:
                return ex.group_by("__key", maintain_order=True).agg(pl.col("__name").unique(maintain_order=True).alias("__names"))
            return ex.unique(subset="__key", keep=keep, maintain_order=True).select("__key", "__name")

        return self._cached(("synonyms", case_sensitive, keep), build)

    def return_values(self, return_field: str, keep: Keep) -> pl.DataFrame:
        """``__name`` -> ``__ret`` (the ``return_field`` value), one row per distinct name.

        When several records share a name, ``keep`` picks the first/last saved; with
        ``keep=False`` ``__ret`` is the list of their distinct values.
        """
        if return_field not in self.frame.columns:
            raise InvalidArgument(f"reference has no column '{return_field}'; columns are {self.frame.columns}")

        def build():
            df = self.frame.select(pl.col(self.field).alias("__name"), pl.col(return_field).alias("__ret")).filter(
                pl.col("__name").is_not_null()
            )
            if keep is False:
                return df.group_by("__name", maintain_order=True).agg(pl.col("__ret").unique(maintain_order=True))
            return df.unique(subset="__name", keep=keep, maintain_order=True)

        return self._cached(("return", return_field, keep), build)


def match(
    index: ReferenceIndex,
    uniques: pl.Series,
    *,
    case_sensitive: bool = False,
    keep: Keep = "first",
    synonyms: bool = True,
) -> pl.DataFrame:
    """Match unique, non-null values against the reference, tier by tier.

    Returns one row per input value, in input order, with columns ``value``, ``tier``
    (``exact``, ``case-insensitive``, ``synonym`` or ``none``) and ``name`` (the standardized
    value, null when nothing matched). With ``keep=False`` there is also ``names``: every
    candidate for ambiguous synonyms (one element otherwise).
    """
    check_keep(keep)
    want_list = keep is False
    df = pl.DataFrame({"value": uniques}).with_row_index("__i")
    empty_names = pl.lit(None, dtype=pl.List(pl.String))

    if not index.is_text or df.get_column("value").dtype != pl.String:
        case_sensitive, synonyms = True, False

    j = df.join(index.exact_keys(), left_on="value", right_on="__key", how="left")
    is_hit = pl.col("__hit").is_not_null()
    exact = j.filter(is_hit).select("__i", "value", tier=pl.lit(EXACT), name=pl.col("value"))
    rest = j.filter(~is_hit).select("__i", "value")
    parts = [exact]

    if not case_sensitive and rest.height:
        j = rest.with_columns(__lk=pl.col("value").str.to_lowercase()).join(
            index.lower_keys(), left_on="__lk", right_on="__key", how="left"
        )
        hit = pl.col("__name").is_not_null()
        parts.append(j.filter(hit).select("__i", "value", tier=pl.lit(CASE), name=pl.col("__name")))
        rest = j.filter(~hit).select("__i", "value")

    syn_names = None
    if synonyms and index.synonyms_field is not None and rest.height:
        key = pl.col("value") if case_sensitive else pl.col("value").str.to_lowercase()
        table = index.synonym_keys(case_sensitive, keep)
        j = rest.with_columns(__sk=key).join(table, left_on="__sk", right_on="__key", how="left")
        if want_list:
            hit = pl.col("__names").is_not_null()
            syn = j.filter(hit)
            syn_names = syn.select("__i", names=pl.col("__names"))
            parts.append(syn.select("__i", "value", tier=pl.lit(SYNONYM), name=pl.col("__names").list.first()))
        else:
            hit = pl.col("__name").is_not_null()
            parts.append(j.filter(hit).select("__i", "value", tier=pl.lit(SYNONYM), name=pl.col("__name")))
        rest = j.filter(~hit).select("__i", "value")

    parts.append(rest.select("__i", "value", tier=pl.lit(NONE), name=pl.lit(None, dtype=pl.String)))
    vtype = df.schema["value"]
    out = pl.concat([p.cast({"name": vtype, "tier": pl.String}) for p in parts], how="vertical").sort("__i")

    if want_list:
        out = out.with_columns(names=pl.when(pl.col("name").is_not_null()).then(pl.concat_list("name")).otherwise(empty_names))
        if syn_names is not None and syn_names.height:
            out = out.join(syn_names, on="__i", how="left", suffix="_syn").with_columns(
                names=pl.coalesce("names_syn", "names")
            ).drop("names_syn")
    return out.drop("__i")


def convert(index: ReferenceIndex, matched: pl.DataFrame, return_field: str, keep: Keep) -> pl.DataFrame:
    """Add ``ret``: the ``return_field`` value of each matched name (``rets`` lists with keep=False).

    LaminDB converts after standardizing: ``field -> return_field`` with duplicates of
    ``field`` resolved by ``keep``. With ``keep=False`` every candidate name contributes all
    its distinct values (flattened, de-duplicated in save order).
    """
    table = index.return_values(return_field, keep)
    if keep is not False:
        out = matched.join(table, left_on="name", right_on="__name", how="left", maintain_order="left")
        return out.rename({"__ret": "ret"})
    flat = (
        matched.select("value", "names")
        .with_row_index("__i")
        .explode("names")
        .join(table, left_on="names", right_on="__name", how="left", maintain_order="left")
        .explode("__ret")
        .filter(pl.col("__ret").is_not_null())
        .group_by("__i")
        .agg(pl.col("__ret").unique(maintain_order=True).alias("rets"))
    )
    return (
        matched.with_row_index("__i")
        .join(flat, on="__i", how="left", maintain_order="left")
        .with_columns(ret=pl.col("rets").list.first())
        .drop("__i")
    )
