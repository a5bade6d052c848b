"""Relation accessors: ``artifact.ulabels`` (many-to-many manager) and reverse relations
(``user.created_artifacts``, ``ulabel.artifacts``), each a lazy QuerySet over the related registry."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidArgument, ValidationError
from ..model_map import reverse_name
from ..storage.table import int_values
from .integrity import check_linked
from .persistence import check_writable
from .queryset import related


def _ids_linked(inst, link_table: str, key_col: str, other_col: str, key: int) -> np.ndarray:
    snap = inst.snapshot(link_table)
    if not snap.num_rows:
        return np.empty(0, np.int64)
    hit = snap.filter(pc.equal(snap.column(key_col), key))
    return int_values(hit.column(other_col))


class ManyToManyManager:
    """``artifact.ulabels``: add/remove/set/clear links, and query the linked records."""

    def __init__(self, record, link_table: str, source_col: str, target_col: str, target_model, name: str):
        self.record = record
        self.link_table = link_table
        self.source_col = source_col
        self.target_col = target_col
        self.model = target_model
        self.name = name

    def _inst(self):
        rec = self.record
        if rec.id is None:
            raise ValidationError(
                f"{type(rec).__name__} record must be saved before using .{self.name}; call record.save() first"
            )
        inst = rec._instance or type(rec)._resolve_instance()
        type(rec)._ensure_tables(inst)
        return inst

    def _target_ids(self, records) -> np.ndarray:
        if isinstance(records, self.model):
            records = [records]
        ids = []
        for r in records:
            if not isinstance(r, self.model):
                raise InvalidArgument(f".{self.name} takes {self.model.__name__} records, got {type(r).__name__} {r!r}")
            if r.id is None:
                raise ValidationError(f"{r!r} is not saved yet; save it before linking it")
            ids.append(r.id)
        return np.unique(np.asarray(ids, np.int64))

    def all(self):
        self._inst()
        return related(self.record, self.name)

    def add(self, *records) -> None:
        """Link records (one commit; existing links are kept, not duplicated)."""
        inst = self._inst()
        check_writable(inst)
        flat = [r for item in records for r in (item if isinstance(item, (list, tuple)) else [item])]
        ids = self._target_ids(flat)
        with inst.transaction() as tx:  # both ends checked under the writer lock: no dangling link rows
            check_linked(type(self.record), self.record.id, self.model, ids, tx.snapshot)
            have = _ids_linked(inst, self.link_table, self.source_col, self.target_col, self.record.id)
            ids = ids[~np.isin(ids, have)]
            if not len(ids):
                return
            rows = pa.table(
                {
                    self.source_col: pa.array(np.full(len(ids), self.record.id), pa.int64()),
                    self.target_col: pa.array(ids, pa.int64()),
                }
            )
            tx.commit(self.link_table, inserts=rows)

    def remove(self, *records) -> None:
        inst = self._inst()
        check_writable(inst)
        flat = [r for item in records for r in (item if isinstance(item, (list, tuple)) else [item])]
        ids = self._target_ids(flat)
        snap = inst.snapshot(self.link_table)
        mask = pc.and_(
            pc.equal(snap.column(self.source_col), self.record.id),
            pc.is_in(snap.column(self.target_col), pa.array(ids)),
        )
        inst.delete_rows(self.link_table, int_values(snap.filter(mask).column("id")))

    def clear(self) -> None:
        inst = self._inst()
        snap = inst.snapshot(self.link_table)
        mask = pc.equal(snap.column(self.source_col), self.record.id)
        inst.delete_rows(self.link_table, int_values(snap.filter(mask).column("id")))

    def set(self, records) -> None:
        self.clear()
        self.add(*records)

    def __getattr__(self, name):
        # filter, exclude, df, count, first, list, ... come from the query set of linked records
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.all(), name)

    def __iter__(self):
        return iter(self.all())

    def __len__(self) -> int:
        return self.all().count()

    def __repr__(self) -> str:
        return f"<{type(self.record).__name__}.{self.name} manager of {self.model.__name__}>"


class ReverseForeignKey:
    """``user.created_artifacts``: the records whose FK points at this record."""

    def __init__(self, model, fk):
        self.model = model
        self.fk = fk

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return related(instance, reverse_name(self.model, self.fk))


class ReverseManyToMany:
    """``ulabel.artifacts``: the records linking to this one through a many-to-many field."""

    def __init__(self, model, m2m):
        self.model = model
        self.m2m = m2m

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        type(instance)._resolve_instance(instance._instance)
        return related(instance, reverse_name(self.model, self.m2m))
