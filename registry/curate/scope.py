"""What a curation call matches against: a Record class or a QuerySet, as one reference frame.

``ULabel.validate(...)`` matches against every live ULabel; ``ULabel.filter(...).validate(...)``
only against the query set. Either way the matchers get one polars DataFrame in save order
(sorted by id). For a whole registry that frame is the cached snapshot, so the derived
structures (lower-cased keys, exploded synonyms, fuzzy choices) are cached too, keyed on the
snapshot object itself: a new commit yields a new snapshot object. When that commit only
appended rows (saving new records, the common case while curating), the cached index is
*extended* with the new rows (``ReferenceIndex.extended``: O(new rows) hashing plus an O(n)
merge) instead of rebuilt; an update, a delete, a compaction or a jump of more than one
version rebuilds from scratch.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np
import polars as pl

from ..errors import DoesNotExist, FieldError, InvalidArgument, did_you_mean, shorten
from ..fields import field_name
from ..model_map import REGISTRIES
from ..records.source import Source, as_queryset
from .inputs import as_values
from .matching import ReferenceIndex
from .reporting import registry_label

_MAX_CACHED = 32


@dataclass
class _Entry:
    """A cached index, the snapshot frame it was built for and that snapshot's table version.

    ``table`` (a weak reference to the storage table) tells a table of a since closed instance
    from a new one that happens to get the same ``id()`` and version numbers.
    """

    base: pl.DataFrame
    version: int | None
    index: ReferenceIndex
    table: Any = None


# (instance id, table, restriction, field, synonyms_field) -> _Entry
_INDEX_CACHE: OrderedDict[tuple, _Entry] = OrderedDict()


def clear_cache() -> None:
    """Forget every cached reference index (tests and benchmarks use this for cold runs)."""
    _INDEX_CACHE.clear()


@dataclass
class Scope:
    """A resolved curation scope.

    Attributes:
        model: the Record class.
        instance: the storage instance the rows come from.
        frame: reference rows in save order (sorted by id), all schema columns.
        base: the snapshot frame ``frame`` was cut from, when it is the cached snapshot
            (then derived structures may be cached); None for filtered query sets.
        restriction: what narrowed ``base`` to ``frame`` (organism/source ids), part of the cache key.
        version: the table version ``base`` is the snapshot of (None: unknown or no base).
        change: the table's last change (``storage.table.Change``) when ``base`` was read.
        table: weak reference to the storage table ``base`` came from (None: unknown).
    """

    model: type
    instance: Any
    frame: pl.DataFrame
    base: pl.DataFrame | None
    restriction: tuple = ()
    version: int | None = None
    change: Any = None
    table: Any = None
    _indexes: dict = dc_field(default_factory=dict)

    @property
    def schema(self):
        return self.model._schema

    @property
    def label(self) -> str:
        return registry_label(self.model)

    # -- fields ----------------------------------------------------------------------------
    def field(self, field) -> str:
        """Resolve ``field`` (None, a name or a field object) to a stored value field name."""
        name = field_name(field)
        schema = self.schema
        if name is None:
            name = schema.name_field
        spec = schema.fields.get(name)
        if spec is None:
            choices = [n for n, f in schema.fields.items() if not f.is_relation]
            raise FieldError(
                f"{self.model.__name__} has no field '{name}'"
                + (did_you_mean(name, choices) or f"; fields are: {', '.join(choices)}")
            )
        if spec.is_relation or spec.column is None:
            raise InvalidArgument(
                f"{self.model.__name__}.{name} is a relation; curate a value field such as "
                f"{self.model.__name__}.{schema.name_field}"
            )
        return name

    def kind(self, field: str) -> str:
        return self.schema.fields[field].kind

    def column(self, field: str) -> str:
        return self.schema.fields[field].column

    def has_field(self, name: str) -> bool:
        return name in self.schema.fields

    def synonyms_for(self, field: str) -> str | None:
        """The synonyms field matched along with ``field``: LaminDB consults synonyms only for
        the registry's name field, when the registry has a ``synonyms`` field."""
        return "synonyms" if field == self.schema.name_field and self.has_field("synonyms") else None

    # -- reference index -------------------------------------------------------------------
    def index(self, field: str, synonyms_field: str | None = None) -> ReferenceIndex:
        """The ReferenceIndex over ``field`` (+ synonyms), cached while the snapshot is unchanged."""
        col = self.column(field)
        syn_col = self.column(synonyms_field) if synonyms_field else None
        local = (col, syn_col)
        if local in self._indexes:
            return self._indexes[local]
        if self.base is None:
            index = ReferenceIndex(self.frame, col, syn_col)
        else:
            key = (id(self.instance), self.schema.table, self.restriction, col, syn_col)
            hit = _INDEX_CACHE.get(key)
            if hit is not None and hit.base is self.base:
                index = hit.index
                _INDEX_CACHE.move_to_end(key)
            else:
                index = self._follow(hit) if hit is not None else None
                if index is None:
                    index = ReferenceIndex(self.frame, col, syn_col)
                _INDEX_CACHE[key] = _Entry(self.base, self.version, index, self.table)
                _INDEX_CACHE.move_to_end(key)
                while len(_INDEX_CACHE) > _MAX_CACHED:
                    _INDEX_CACHE.popitem(last=False)
        self._indexes[local] = index
        return index

    def _follow(self, entry: _Entry) -> ReferenceIndex | None:
        """``entry``'s index extended to this snapshot if the one commit between them only appended.

        Trusted only when provable: the entry is for version v, this snapshot for v+1, the
        table's last change went v -> v+1 removing nothing, and the ids confirm it (the old
        snapshot's ids are this one's prefix, the inserted ids its tail). Otherwise None.
        """
        change, old, new = self.change, entry.base, self.base
        if entry.version is None or self.version is None or change is None or new is None:
            return None
        if entry.table is None or self.table is None or entry.table() is not self.table():
            return None
        if (change.from_version, change.to_version) != (entry.version, self.version):
            return None
        if change.inserted is None or len(change.removed_ids):
            return None
        n_old = old.height
        if new.height != n_old + change.inserted.num_rows or "id" not in new.columns:
            return None
        new_ids = new.get_column("id").to_numpy()
        if not np.array_equal(new_ids[:n_old], old.get_column("id").to_numpy()):
            return None
        # (pyarrow's own to_numpy imports pandas on first use: +0.4 s)
        inserted_ids = pl.from_arrow(change.inserted.column("id")).to_numpy().astype(new_ids.dtype, copy=False)
        if not np.array_equal(new_ids[n_old:], inserted_ids):
            return None
        return entry.index.extended(self.frame)

    # -- records ---------------------------------------------------------------------------
    def records(self, rows: np.ndarray) -> list:
        """Record objects for positions ``rows`` of ``frame`` (one gather, no query).

        Built from ``frame`` itself, not from a fresh snapshot, so positions computed earlier
        (a Lookup's keys) keep pointing at the same records after later commits.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return []
        return self.model._from_arrow(self.frame[pl.Series(rows)].to_arrow(), self.instance)


def prepare(scope: Source, values, field, *, organism=None, source=None, tiers: bool = True):
    """What validate / inspect / from_values start with: ``(scope, field name, index, values)``.

    The index is the one cached per field (the synonyms field along when LaminDB consults it),
    and its builds are started on background threads *before* the values are converted, so
    the two overlap. ``tiers=False`` (validate) needs the exact-name index only.
    """
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    syn = sc.synonyms_for(fname)
    index = sc.index(fname, syn)
    index.prefetch(casing=tiers, synonyms=tiers and syn is not None)
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    return sc, fname, index, vals


def resolve(scope: Source, organism=None, source=None) -> Scope:
    """Turn a registry class or a query set (plus optional organism/source) into a Scope."""
    qs = as_queryset(scope)
    model, instance = qs.model, qs.instance
    all_rows = bool(qs._is_all())
    version = change = table_ref = None
    if all_rows:
        frame, version, change, table_ref = _versioned_snapshot(model, instance)
        base = frame
    else:
        table = qs.to_arrow()
        if table.num_rows and "id" in table.column_names:
            table = table.sort_by("id")
        frame = pl.from_arrow(table)
        if isinstance(frame, pl.Series):  # a one-column table comes back as a Series
            frame = frame.to_frame()
        base = None
    out = Scope(model=model, instance=instance, frame=frame, base=base, version=version, change=change, table=table_ref)
    if organism is None and hasattr(model, "_default_organism"):
        organism = model._default_organism()  # bio registries: bt.settings.organism
    restriction = []
    mask = None
    for name, value in (("organism", organism), ("source", source)):
        if value is None or not out.has_field(name):
            # LaminDB ignores organism/source on registries that have no such field
            continue
        ref_id = _related_id(out, name, value)
        col = out.column(name)
        cond = frame.get_column(col) == ref_id
        mask = cond if mask is None else (mask & cond)
        restriction.append((name, ref_id))
    if mask is not None:
        out.frame = frame.filter(mask.fill_null(False))
        out.restriction = tuple(restriction)
    return out


def _versioned_snapshot(model, instance) -> tuple[pl.DataFrame, int | None, Any, Any]:
    """The snapshot frame, the table version it is of (None if unsure), the last change and a
    weak reference to the storage table.

    The version is read before and after taking the snapshot; only if both agree is it
    certainly the snapshot's (a commit from another thread in between makes it unsure, and an
    unsure version only costs a full rebuild on the next commit). The first read in a process
    loads the table, hence the second attempt.
    """
    try:
        table = instance.table(model._schema.table)
        ref = weakref.ref(table)
    except Exception:  # noqa: BLE001 - no storage table to follow: caching still works by identity
        return model._snapshot_pl(instance), None, None, None
    for _ in range(2):
        before = table.version
        frame = model._snapshot_pl(instance)
        change = table.last_change
        if table.version == before:
            return frame, before, change, ref
    return frame, None, None, None


def _related_id(scope: Scope, name: str, value) -> int:
    """Id of the organism/source given as a record, an id or (organism only) a name."""
    spec = scope.schema.fields[name]
    if isinstance(value, bool):
        raise InvalidArgument(f"{name}= expects a record, an id or a name, got {shorten(value)}")
    if isinstance(value, int):
        return value
    rid = getattr(value, "id", None) if not isinstance(value, str) else None
    if rid is not None:
        return int(rid)
    if not isinstance(value, str):
        raise InvalidArgument(f"{name}= expects a {spec.target} record, an id or a name, got {type(value).__name__}")
    target = REGISTRIES.get(spec.target)
    if target is None:
        raise InvalidArgument(f"{name}= cannot be resolved: unknown registry {spec.target!r}")
    ref = target._snapshot_pl(scope.instance)
    name_col = target._schema.name_field
    hit = ref.filter(pl.col(name_col) == value)
    create = getattr(target, "_get_or_create_named", None)
    if hit.height == 0 and create is not None and not scope.instance.read_only:
        made = create(value, scope.instance)  # e.g. bt.Organism "human" from its public source
        if made is not None:
            return int(made.id)
    if hit.height == 0:
        known = ref.get_column(name_col).drop_nulls().to_list()
        raise DoesNotExist(
            f"no {spec.target} named {shorten(value)}"
            + (
                did_you_mean(value, known)
                or (
                    f"; known: {', '.join(map(repr, known[:10]))}"
                    if known
                    else f"; create it first, e.g. bt.{spec.target}(name={shorten(value)}).save()"
                )
            )
        )
    return int(hit.get_column("id")[0])
