"""``lookup()``: tab-completable attribute access to records (``bt.CellType.lookup().t_cell``).

LaminDB builds a namedtuple class with one field per record and instantiates every record
up front (4.8 s at 10^5 records, > 200 s at 10^6). Here the keys are computed with one
vectorised regex over the field column, kept in a dict key -> row, and a record is only
built when its attribute is read. ``__dir__`` lists the keys, so IPython completes them.

Key rule (LaminDB ``Lookup._to_lookup_keys``): runs of characters outside ``[0-9a-zA-Z_]``
become ``_``, then lower-case; values not starting with a letter get the registry's prefix
(``ln_`` for core registries, ``bt_`` for bio ones); Python keywords get a trailing ``_``;
empty and non-string values are skipped.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from ..errors import FieldError
from .matching import Keep, ReferenceIndex, check_keep
from .reporting import logger
from .scope import Scope, resolve

_KEYWORDS = pl.Series(keyword.kwlist, dtype=pl.String)
# attributes of Lookup itself; a record whose key equals one of these is reachable via lookup[key]
_RESERVED = {"dict", "keys"}


def lookup_keys(values: pl.Series, prefix: str = "ln") -> pl.Series:
    """Attribute key per value (null where skipped), vectorised.

    >>> lookup_keys(pl.Series(["T cell", "1st cell", "class", "", None, "%%%"])).to_list()
    ['t_cell', 'ln_1st_cell', 'class_', None, None, 'ln__']
    """
    if values.dtype != pl.String:
        return pl.Series(values.name, [None] * len(values), dtype=pl.String)
    df = pl.DataFrame({"k": values.str.replace_all(r"[^0-9a-zA-Z_]+", "_").str.to_lowercase()})
    key = pl.col("k")
    key = pl.when(key == "").then(pl.lit(None, dtype=pl.String)).otherwise(key)
    key = pl.when(key.str.contains(r"^[a-z]")).then(key).otherwise(pl.lit(f"{prefix}_") + key)
    key = pl.when(key.is_in(_KEYWORDS.implode())).then(key + pl.lit("_")).otherwise(key)
    return df.select(key.alias(values.name or "key")).to_series()


class _KeyTable:
    """key -> row for unique keys, key -> rows for colliding ones (built once per snapshot)."""

    def __init__(self, index: ReferenceIndex, prefix: str):
        keys = lookup_keys(index.names, prefix)
        df = pl.DataFrame({"key": keys}).with_row_index("row").filter(pl.col("key").is_not_null())
        dup = df.get_column("key").is_duplicated()
        single = df.filter(~dup)
        self.single: dict[str, int] = dict(
            zip(single.get_column("key").to_list(), single.get_column("row").to_list(), strict=True)
        )
        multi = df.filter(dup).group_by("key", maintain_order=True).agg(pl.col("row"))
        self.multi: dict[str, list[int]] = dict(
            zip(multi.get_column("key").to_list(), multi.get_column("row").to_list(), strict=True)
        )
        # keys in save order of their first record, for dir() and repr
        self.ordered: list[str] = df.get_column("key").unique(maintain_order=True).to_list()


class Lookup:
    """Attribute access to records by normalised field value; see module docstring.

    ``lookup.t_cell`` -> the record (or ``return_field`` value); ``lookup["t_cell"]`` works
    too (also for keys shadowed by a method, e.g. a record named "dict"); ``lookup.dict()``
    maps raw field values to records (lists for duplicated values), built lazily.
    ``keep`` decides collisions of normalised keys ("NK cell" and "nk cell" -> ``nk_cell``):
    the first/last saved record, or ``False`` for a list; a warning is logged the first time a
    colliding key is read.
    """

    def __init__(
        self, scope: Scope, index: ReferenceIndex, table: _KeyTable, field: str, return_column: str | None, keep: Keep
    ):
        d = self.__dict__
        d["_scope"] = scope
        d["_index"] = index
        d["_table"] = table
        d["_field"] = field
        d["_return_column"] = return_column
        d["_keep"] = keep
        d["_cache"] = {}
        d["_warned"] = set()

    # -- attribute protocol ----------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("_"):
            # keys always start with a letter; IPython probes _repr_html_ & co. on display
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise self._missing(name) from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("Lookup objects are read-only")

    def __getitem__(self, key: str):
        cache = self._cache
        if key in cache:
            self._warn_collision(key)
            return cache[key]
        t = self._table
        if key in t.single:
            value = self._value(np.array([t.single[key]]))[0]
        elif key in t.multi:
            rows = np.asarray(t.multi[key])
            keep = self._keep
            if keep == "first":
                value = self._value(rows[:1])[0]
            elif keep == "last":
                value = self._value(rows[-1:])[0]
            else:
                value = self._value(rows)
            self._warn_collision(key)
        else:
            alias = self._alias(key)
            if alias is None:
                raise KeyError(key)
            return self[alias]
        cache[key] = value
        return value

    def _alias(self, key: str) -> str | None:
        """``ln_1st_cell`` on a bio registry (whose prefix is ``bt``) -> ``bt_1st_cell``, and back.

        LaminDB's ``Registry.lookup()`` prefixes with ``ln_`` even for bionty registries, while
        bionty's public lookups use ``bt_``; both spellings resolve so ported code keeps working.
        """
        for a, b in (("ln_", "bt_"), ("bt_", "ln_")):
            if key.startswith(a):
                other = b + key[len(a) :]
                if other in self._table.single or other in self._table.multi:
                    return other
        return None

    def _value(self, rows: np.ndarray) -> list:
        if self._return_column is not None:
            col = self._scope.frame.get_column(self._return_column)
            return col.gather(rows).to_list()
        return self._scope.records(rows)

    def _warn_collision(self, key: str) -> None:
        if key in self._table.multi and key not in self._warned:
            self._warned.add(key)
            n = len(self._table.multi[key])
            logger.warning(f"{n} records found for '{key}'. Returning based on keep={self._keep!r}.")

    def _missing(self, name: str) -> FieldError:
        from rapidfuzz import process

        keys = self._table.ordered
        hint = ""
        if keys:
            best = process.extract(name, keys, limit=3, score_cutoff=60)
            if best:
                hint = "; did you mean " + ", ".join(f"'{k}'" for k, *_ in best) + "?"
        model = self._scope.model.__name__
        return FieldError(f"no {model} record with lookup key '{name}' (from {model}.{self._field}){hint}")

    def __contains__(self, key) -> bool:
        t = self._table
        return key in t.single or key in t.multi or (isinstance(key, str) and self._alias(key) is not None)

    def __len__(self) -> int:
        return len(self._table.ordered)

    def __dir__(self):
        return list(self._table.ordered) + ["dict", "keys"]

    @property
    def _fields(self) -> tuple:
        """Attribute names, as on LaminDB's namedtuple (which ends with ``dict``)."""
        return tuple(self._table.ordered) + ("dict",)

    def keys(self) -> list[str]:
        return list(self._table.ordered)

    def dict(self) -> RecordDict:
        """Raw field value -> record (a list of records when several share the value)."""
        return RecordDict(self._scope, self._index)

    def __repr__(self) -> str:
        keys = self._table.ordered
        shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
        return f"Lookup({self._scope.model.__name__}.{self._field}: {len(keys)} keys: {shown})"


class RecordDict(Mapping):
    """Read-only mapping raw value -> record(s), materialising records on access."""

    def __init__(self, scope: Scope, index: ReferenceIndex):
        self._scope = scope

        def build():
            df = index.names.to_frame("v").with_row_index("row").filter(pl.col("v").is_not_null())
            g = df.group_by("v", maintain_order=True).agg(pl.col("row"))
            return dict(zip(g.get_column("v").to_list(), g.get_column("row").to_list(), strict=True))

        self._rows: dict[Any, list[int]] = index._cached("lookup_dict", build)
        self._cache: dict = {}

    def __getitem__(self, key):
        if key in self._cache:
            return self._cache[key]
        rows = self._rows[key]
        recs = self._scope.records(np.asarray(rows))
        value = recs[0] if len(recs) == 1 else recs
        self._cache[key] = value
        return value

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"RecordDict({len(self)} values of {self._scope.model.__name__})"


def lookup(scope, field=None, return_field=None, keep: Keep = "first") -> Lookup:
    """Auto-complete object for ``field`` (default: the name field); see ``Lookup``.

    >>> lk = bt.CellType.lookup()  # doctest: +SKIP
    >>> lk.t_cell  # doctest: +SKIP
    CellType(uid='...', name='T cell', ...)
    >>> bt.Gene.lookup(field="ensembl_gene_id", return_field="symbol").ensg00000002745  # doctest: +SKIP
    'WNT16'
    """
    check_keep(keep)
    sc = resolve(scope)
    fname = sc.field(field)
    ret_col = sc.column(sc.field(return_field)) if return_field is not None else None
    index = sc.index(fname)
    prefix = getattr(sc.model, "_lookup_prefix", "ln")
    table = index._cached(("lookup_keys", prefix), lambda: _KeyTable(index, prefix))
    if len(table.ordered) > 500_000:
        logger.info(
            f"lookup over {len(table.ordered)} keys: attribute access is lazy, but tab completion lists them all"
        )
    return Lookup(sc, index, table, fname, ret_col, keep)
