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

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np
import polars as pl

from ..errors import DoesNotExist, FieldError, InvalidArgument, did_you_mean, shorten
from ..fields import field_name
from ..model_map import REGISTRIES
from ..records.source import Source, as_queryset
from ..settings import settings
from .inputs import as_values
from .matching import ReferenceIndex
from .reporting import registry_label

SCOPE = "scope"  # first item of this module's keys in the tables' derived-data cache


def clear_cache(instance=None) -> None:
    """Forget the cached reference indexes of ``instance`` (default: the default instance), for
    cold runs in tests and benchmarks."""
    for table in _tables(instance):
        table.forget_derived((SCOPE,))


def cached_indexes(instance=None) -> dict[tuple, ReferenceIndex]:
    """The reference indexes cached for ``instance``, by ``(table, restriction, column, synonyms
    column)`` (what tests look at)."""
    out = {}
    for table in _tables(instance):
        for key, index in table.derived_values((SCOPE,)).items():
            out[(table.spec.name, *key[1:])] = index
    return out


def _tables(instance) -> list:
    if instance is None:
        instance = settings.instance
    return [instance.table(name) for name in sorted(instance.table_names())]


@dataclass
class Scope:
    """A resolved curation scope.

    Attributes:
        model: the Record class.
        instance: the storage instance the rows come from.
        frame: reference rows in save order (sorted by id), all schema columns.
        base: the snapshot frame ``frame`` was cut from, when it is the cached snapshot
            (then derived structures are cached on the table); None for filtered query sets.
        restriction: what narrowed ``base`` to ``frame`` (organism/source ids), part of the cache key.
        version: the table version ``base`` is the snapshot of (None: unknown or no base).
        table: the storage table ``base`` came from (None: unknown).
    """

    model: Any  # a registry class (records.record.SQLRecord subclass)
    instance: Any
    frame: pl.DataFrame
    base: pl.DataFrame | None
    restriction: tuple = ()
    version: int | None = None
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

    def synonyms_for(self, field: str, synonyms_field="synonyms") -> str | None:
        """The synonyms field matched along with ``field``: LaminDB consults synonyms only for
        the registry's name field, when the registry has that field. ``synonyms_field`` may name
        another ``|``-joined field (``None``: no synonyms); an unknown name is a ``FieldError``."""
        name = field_name(synonyms_field) if synonyms_field else None
        if name is None:
            return None
        if name != "synonyms" and not self.has_field(name):
            self.field(name)  # raises FieldError with a did-you-mean
        return name if field == self.schema.name_field and self.has_field(name) and name != field else None

    # -- reference index -------------------------------------------------------------------
    def index(self, field: str, synonyms_field: str | None = None) -> ReferenceIndex:
        """The ReferenceIndex over ``field`` (+ synonyms), cached while the snapshot is unchanged."""
        col = self.column(field)
        syn_col = self.column(synonyms_field) if synonyms_field else None
        local = (col, syn_col)
        if local in self._indexes:
            return self._indexes[local]
        if self.base is None or self.version is None or self.table is None:
            index = ReferenceIndex(self.frame, col, syn_col)
        else:
            # One index per table version, shared by every call; an append is followed, not rebuilt.
            restriction = tuple((self.column(name), ref_id) for name, ref_id in self.restriction)
            index = self.table.derived_at(
                self.version,
                (SCOPE, self.restriction, col, syn_col),
                lambda: ReferenceIndex(self.frame, col, syn_col),
                follow=lambda old, change: _appended(old, change, restriction),
            )
        self._indexes[local] = index
        return index

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


def prepare(
    scope: Source,
    values,
    field,
    *,
    organism=None,
    source=None,
    tiers: bool = True,
    synonyms_field="synonyms",
    case_sensitive: bool = False,
):
    """What validate, inspect, standardize and from_values start with: ``(scope, field name,
    index, values)``.

    The index is the one cached per field (the synonyms field along when LaminDB consults it),
    and its builds are started on background threads *before* the values are converted, so
    the two overlap. ``tiers=False`` (validate) needs the exact-name index only;
    ``case_sensitive`` (standardize) skips the case-folded one.
    """
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    syn = sc.synonyms_for(fname, synonyms_field)
    index = sc.index(fname, syn)
    index.prefetch(
        casing=tiers and not case_sensitive, synonyms=tiers and syn is not None, case_sensitive=case_sensitive
    )
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    return sc, fname, index, vals


def resolve(scope: Source, organism=None, source=None) -> Scope:
    """Turn a registry class or a query set (plus optional organism/source) into a Scope."""
    qs = as_queryset(scope)
    model, instance = qs.model, qs.instance
    all_rows = bool(qs._is_all())
    version = table = None
    if all_rows:
        table, frame, version = model._versioned_snapshot_pl(instance)
        base = frame
    else:
        table = qs.to_arrow()
        if table.num_rows and "id" in table.column_names:
            table = table.sort_by("id")
        frame = pl.from_arrow(table)
        if isinstance(frame, pl.Series):  # a one-column table comes back as a Series
            frame = frame.to_frame()
        base = None
    out = Scope(model=model, instance=instance, frame=frame, base=base, version=version, table=table)
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


def _appended(old: ReferenceIndex, change, restriction: tuple) -> ReferenceIndex | None:
    """``old`` extended by the rows one commit appended (those within ``restriction``, pairs of
    column and id); None when the commit also replaced or removed rows (rebuild)."""
    if not change.appended_only:
        return None
    if change.inserted is None or change.inserted.num_rows == 0:
        return old
    tail = pl.from_arrow(change.inserted)
    if isinstance(tail, pl.Series):
        tail = tail.to_frame()
    for column, ref_id in restriction:
        tail = tail.filter(pl.col(column) == ref_id)
    if tail.height == 0:
        return old
    ids = old.frame.get_column("id")
    if ids.len() and int(tail.get_column("id").min()) <= int(ids.max()):  # type: ignore[arg-type]  # polars' untyped scalars
        return None  # not an append in id order: the snapshot is not old rows + these
    try:
        frame = pl.concat([old.frame, tail.select(old.frame.columns)], how="vertical")
    except pl.exceptions.PolarsError:
        return None  # a column type that does not line up: rebuild rather than guess
    return old.extended(frame)


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
