"""What a curation call matches against: a Record class or a QuerySet, as one reference frame.

``ULabel.validate(...)`` matches against every live ULabel; ``ULabel.filter(...).validate(...)``
only against the query set. Either way the matchers get one polars DataFrame in save order
(sorted by id). For a whole registry that frame is the cached snapshot, so the derived
structures (lower-cased keys, exploded synonyms, fuzzy choices) are cached too, keyed on the
snapshot object itself: a new commit yields a new snapshot object and the cache rebuilds.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np
import polars as pl

from ..errors import DoesNotExist, FieldError, InvalidArgument, did_you_mean
from .matching import ReferenceIndex

_MAX_CACHED = 32
# (instance id, table, restriction, field, synonyms_field) -> (snapshot frame, ReferenceIndex)
_INDEX_CACHE: OrderedDict[tuple, tuple[pl.DataFrame, ReferenceIndex]] = OrderedDict()


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
    """

    model: type
    instance: Any
    frame: pl.DataFrame
    base: pl.DataFrame | None
    restriction: tuple = ()
    _indexes: dict = dc_field(default_factory=dict)

    @property
    def schema(self):
        return self.model._schema

    @property
    def label(self) -> str:
        from .reporting import registry_label

        return registry_label(self.model)

    # -- fields ----------------------------------------------------------------------------
    def field(self, field) -> str:
        """Resolve ``field`` (None, a name or a field object) to a stored value field name."""
        from ..fields import field_name

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
            if hit is not None and hit[0] is self.base:
                index = hit[1]
                _INDEX_CACHE.move_to_end(key)
            else:
                index = ReferenceIndex(self.frame, col, syn_col)
                _INDEX_CACHE[key] = (self.base, index)
                while len(_INDEX_CACHE) > _MAX_CACHED:
                    _INDEX_CACHE.popitem(last=False)
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


def resolve(scope, organism=None, source=None) -> Scope:
    """Turn a Record class or QuerySet (plus optional organism/source) into a Scope."""
    model, qs = _model_and_queryset(scope)
    if qs is None:
        instance = model._resolve_instance(None)
        all_rows = True
    else:
        instance = qs.instance
        all_rows = bool(qs._is_all())
    if all_rows:
        frame = model._snapshot_pl(instance)
        base = frame
    else:
        table = qs.to_arrow()
        if table.num_rows and "id" in table.column_names:
            table = table.sort_by("id")
        frame = pl.from_arrow(table)
        if isinstance(frame, pl.Series):  # a one-column table comes back as a Series
            frame = frame.to_frame()
        base = None
    out = Scope(model=model, instance=instance, frame=frame, base=base)
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


def _model_and_queryset(scope):
    if isinstance(scope, type) and hasattr(scope, "_snapshot_pl"):
        return scope, None
    if hasattr(scope, "model") and hasattr(scope, "_is_all"):
        return scope.model, scope
    if hasattr(type(scope), "_snapshot_pl"):
        name = type(scope).__name__
        raise InvalidArgument(
            f"{name}.<method>() is a class method and must be called on the {name} class, not on a {name} object"
        )
    raise InvalidArgument(f"expected a registry class or a QuerySet, got {type(scope).__name__}")


def _related_id(scope: Scope, name: str, value) -> int:
    """Id of the organism/source given as a record, an id or (organism only) a name."""
    spec = scope.schema.fields[name]
    if isinstance(value, bool):
        raise InvalidArgument(f"{name}= expects a record, an id or a name, got {value!r}")
    if isinstance(value, int):
        return value
    rid = getattr(value, "id", None) if not isinstance(value, str) else None
    if rid is not None:
        return int(rid)
    if not isinstance(value, str):
        raise InvalidArgument(f"{name}= expects a {spec.target} record, an id or a name, got {type(value).__name__}")
    from ..record import REGISTRIES

    target = REGISTRIES.get(spec.target)
    if target is None:
        raise InvalidArgument(f"{name}= cannot be resolved: unknown registry {spec.target!r}")
    ref = target._snapshot_pl(scope.instance)
    name_col = target._schema.name_field
    hit = ref.filter(pl.col(name_col) == value)
    if hit.height == 0:
        known = ref.get_column(name_col).drop_nulls().to_list()
        raise DoesNotExist(
            f"no {spec.target} named {value!r}"
            + (
                did_you_mean(value, known)
                or (
                    f"; known: {', '.join(map(repr, known[:10]))}"
                    if known
                    else f"; create it first, e.g. bt.{spec.target}(name={value!r}).save()"
                )
            )
        )
    return int(hit.get_column("id")[0])
