"""The saved record a constructor returns: ``ULabel(name="x")`` gives back the saved "x", as LaminDB.

It runs on every constructor call of such a registry, so it must be cheap: an empty registry costs
nothing, a few lookups use the storage hash index, and many lookups at one table version (bulk
construction) build a value -> row dict once. The index lives in the table's derived-data cache
(one per table version); the constructor's hot path keeps a pointer to the one it saw last and
trusts it for half a second, so commits of other processes are seen within that time (and
``save()`` still checks unique fields).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from ..errors import text_error
from ..settings import settings
from ..storage.table import int_values
from .rows import RowBatch

if TYPE_CHECKING:
    from .declaration import ModelBase
    from .record import SQLRecord

FRESH_SECONDS = 0.5  # how long a "no such name" answer is trusted without looking at the table again
DICT_AFTER = 64  # lookups at one table version before a value -> row dict pays for itself


def match_name_field(cls: type[ModelBase], values: dict) -> dict | None:
    """LaminDB's default: a record with the same value of the name field is the same record."""
    value = values.get(cls._name_field)
    if isinstance(value, str) and text_error(value, cls._name_field) is not None:
        return None  # not valid Unicode: nothing stored can match, and save() refuses it
    return {cls._name_field: value} if isinstance(value, str) else None


class ExistingIndex:
    """What ``find_existing`` keeps per registry and instance: the snapshot it looked in, and
    once many lookups hit one table version, a value -> row dict over it."""

    __slots__ = ("table", "version", "snap", "checked", "index", "empty", "lookups", "batch", "ids", "simple")

    def __init__(self, cls: type[SQLRecord], table, snap, empty: bool):
        self.table, self.version, self.snap, self.empty = table, table.version, snap, empty
        # the registry matches on its name field alone, so the index answers for the constructor
        self.simple = getattr(cls._existing_match, "__func__", None) is match_name_field
        self.checked = time.monotonic()
        self.index: dict | None = None
        self.batch: RowBatch | None = None
        self.ids: Any = None
        self.lookups = 0

    def stale(self, now: float) -> bool:
        return self.table.version != self.version or now - self.checked > FRESH_SECONDS


EXISTING = "existing"  # first item of this module's keys in the tables' derived-data cache
_SEEN: dict[tuple, ExistingIndex] = {}  # (instance id, registry) -> the index looked at last


def surely_absent(cls: type[ModelBase], name) -> bool:
    """True when the index of ``cls`` seen last (default instance) is fresh and proves that no saved
    record has ``name`` in the name field: the constructor's hot path, so one call and no lookups."""
    e = _SEEN.get((id(settings._instance), cls))
    return (
        e is not None
        and e.table.version == e.version
        and time.monotonic() - e.checked <= FRESH_SECONDS
        and (e.empty or (e.simple and e.index is not None and name not in e.index))
    )


def find_existing(cls: type[SQLRecord], match: dict) -> Any:
    """The first saved record of ``cls`` (default instance) whose fields equal ``match``, or None."""
    inst = settings.instance
    key = (id(inst), cls)
    e = _SEEN.get(key)
    now = time.monotonic()
    if e is None or e.stale(now):
        cls._ensure_tables(inst)
        name = cls._schema_table()
        inst.snapshot(name)  # one stat: follows other processes' commits
        table = inst.table(name)

        def build() -> ExistingIndex:
            snap = inst.snapshot(name)
            return ExistingIndex(cls, table, snap, snap.num_rows == 0)

        e = _SEEN[key] = table.derived((EXISTING, cls.__name__), build)
        e.checked = now
    if e.empty:
        return None
    snap = e.snap
    items = iter(match.items())
    col, value = next(items)
    rest = list(items)
    if e.index is None or rest:
        e.lookups += 1
        if e.lookups <= DICT_AFTER or rest:
            rows = inst.find(e.table.spec.name, col, value)
            for c, v in rest:
                if rows.num_rows:
                    column = rows.column(c)
                    rows = rows.filter(column.is_null() if v is None else pc.fill_null(pc.equal(column, v), False))
            return cls._from_arrow(rows.slice(0, 1), inst)[0] if rows.num_rows else None
        values = snap.column(col).to_pylist()
        # reversed, so the first row of a repeated value wins (LaminDB's .first())
        e.index = dict(zip(reversed(values), range(len(values) - 1, -1, -1), strict=True))
        e.batch = RowBatch(snap, cls._json_columns())
        e.ids = int_values(snap.column("id"))
    pos = e.index.get(value)
    if pos is None:
        return None
    obj = cls.__new__(cls)
    obj.__dict__ = {"_batch": e.batch, "_row": pos, "_instance": inst, "id": int(e.ids[pos])}
    return obj


__all__ = ["ExistingIndex", "find_existing", "surely_absent", "match_name_field"]
