"""Lazy rows: the Arrow rows behind records loaded by a query, converted to Python on first use.

``SQLRecord._from_arrow`` makes records that hold only a batch and a row number; a field read
converts that one column of the batch once, so listing 10^5 records costs milliseconds and
reading a name does not pay for every other column.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ..storage.table import int_values


@contextlib.contextmanager
def paused_gc(n: int) -> Iterator[None]:
    """Pause the cyclic garbage collector while touching many objects (records hold no cycles);
    with 10^6 records its repeated full passes cost a quarter of a bulk save."""
    if n < 10_000 or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class RowBatch:
    """The Arrow rows behind lazily loaded records; converted to Python columns once, on first use."""

    __slots__ = ("table", "names", "columns", "json_cols", "positions")

    def __init__(self, table: pa.Table, json_columns: Iterable[str] = ()):
        self.table = table
        self.names = table.column_names
        self.positions = {name: i for i, name in enumerate(self.names)}
        self.columns: list[list | None] | None = None
        self.json_cols = [c for c in json_columns if c in self.positions]

    def _column(self, pos: int) -> list:
        """Column ``pos`` as a Python list, converted on first use."""
        if self.columns is None:
            self.columns = [None] * len(self.names)
        col = self.columns[pos]
        if col is None:
            with paused_gc(self.table.num_rows):
                col = self.columns[pos] = list(pylist(self.table.column(pos)))
        return col

    def value(self, name: str, i: int) -> Any:
        """Row ``i``'s value of column ``name`` (reading one field converts only that column)."""
        pos = self.positions.get(name)
        if pos is None:
            return None
        v = self._column(pos)[i]
        if v is not None and name in self.json_cols:
            v = json.loads(v)
        return v

    def fill(self, d: dict, i: int) -> None:
        """Put row ``i``'s values into a record's ``__dict__`` (which holds no field values yet)."""
        if self.columns is None or None in self.columns:
            for pos in range(len(self.names)):
                self._column(pos)
        d.update(zip(self.names, [col[i] for col in self.columns], strict=True))  # type: ignore[index, union-attr]
        for c in self.json_cols:
            if d[c] is not None:
                d[c] = json.loads(d[c])


def pylist(column: pa.ChunkedArray | pa.Array) -> Iterable[Any]:
    """Python values of a column, fast for what registries hold.

    Timestamps convert per distinct value (a bulk save shares one ``created_at``), all-null
    columns are a repeat of None; everything else is Arrow's own ``to_pylist``.
    """
    n = len(column)
    if column.null_count == n:
        return repeat(None, n)
    if pa.types.is_timestamp(column.type) and n > 64:
        combined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        enc = combined.dictionary_encode()
        distinct = np.empty(len(enc.dictionary) + 1, dtype=object)
        distinct[:-1] = enc.dictionary.to_pylist()
        distinct[-1] = None
        idx = pl.Series(enc.indices).fill_null(len(enc.dictionary)).to_numpy()
        return distinct[idx].tolist()
    return column.to_pylist()


def records_from_arrow(cls: Any, table: pa.Table, instance: Any, json_columns: Iterable[str] = ()) -> list:
    """Records of ``cls`` viewing the rows of ``table`` (no per-value validation: the rows come from
    the registry). Building 10^5 full objects costs ~0.3 s, these views a few ms."""
    batch = RowBatch(table, json_columns)
    new = cls.__new__
    out = []
    ids = int_values(table.column("id")).tolist() if "id" in table.column_names else [None] * table.num_rows
    with paused_gc(table.num_rows):
        for i, id_ in enumerate(ids):
            obj = new(cls)
            # ``id`` is there from the start so equality, hashing and get() never materialize.
            obj.__dict__ = {"_batch": batch, "_row": i, "_instance": instance, "id": id_}
            out.append(obj)
    return out


__all__ = ["RowBatch", "paused_gc", "pylist", "records_from_arrow"]
