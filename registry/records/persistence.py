"""Persistence: records become Arrow columns and one commit; deletes follow the foreign keys.

``ln.save`` groups records by registry, turns each group into one Arrow table per insert and
update (no per-value work beyond gathering ``__dict__`` values), checks the foreign keys under the
writer lock and commits every registry in one transaction. ``insert_arrow`` is the path without
record objects (imports, ``from_values(create=True)`` saves). Storage's exceptions become
``registry.errors`` here, before a user sees them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import (
    DoesNotExist,
    FieldError,
    IntegrityError,
    InvalidArgument,
    ReadOnlyError,
    ValidationError,
    did_you_mean,
    shorten,
    text_error,
)
from ..fields import JSON, Field
from ..model_map import REGISTRIES, concrete
from ..settings import settings
from ..storage import ConstraintViolation, Instance, MissingRows
from ..storage.instance import ReadOnlyInstance
from ..storage.remote import retrying
from .declaration import ModelBase, RecordMeta
from .integrity import apply_delete, check_references, plan_delete
from .rows import paused_gc


def save(records: Iterable[Any] | Any, ignore_conflicts: bool = False, batch_size: int | None = None) -> None:
    """Save records in one transaction: new ones inserted, changed ones updated, all or nothing.

    Vectorised: values are gathered column by column into one Arrow table per registry, ids
    and uids are assigned by the commit for the whole batch. A unique-constraint violation
    raises ``IntegrityError`` and writes nothing.

    Parameters
    ----------
    records
        Records of any registries (a single record is accepted too).
    ignore_conflicts
        LaminDB's switch to skip records that violate a unique constraint; only ``False`` is
        supported (a conflict is an error that names the existing record).
    batch_size
        Accepted for LaminDB scripts (``ln.save(records, batch_size=10_000)``); the records are
        written in one commit whatever its value, so a failure never leaves part of them.

    Returns
    -------
    None

    Examples
    --------
    >>> ln.save([ln.ULabel(name=f"saved {i}") for i in range(3)], batch_size=2)
    >>> ln.ULabel.filter(name__startswith="saved ").count()
    3
    """
    if ignore_conflicts:
        raise InvalidArgument(
            "ln.save(ignore_conflicts=True) is not supported: a conflict raises IntegrityError naming the existing "
            "record; construct records with ULabel(name=...) to get the saved ones back instead"
        )
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidArgument(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(type(records), RecordMeta):
        records = [records]
    # a from_values RecordList offers only what may need writing (no objects for untouched rows)
    offer = getattr(records, "_records_to_save", None)
    if offer is None and (isinstance(records, (str, bytes, dict)) or not isinstance(records, Iterable)):
        raise InvalidArgument(
            f"ln.save() takes a record or a list of records, got {type(records).__name__} {shorten(records)}"
        )
    records = offer() if offer is not None else list(records)
    if not records:
        return
    types = set(map(type, records))  # one pass in C; the per-record loop only for mixed lists
    if not all(isinstance(t, RecordMeta) for t in types):
        r = next(r for r in records if not isinstance(type(r), RecordMeta))
        raise InvalidArgument(f"ln.save() takes records, got {type(r).__name__} {shorten(r)}")
    groups: dict[type, list[Any]] = {}
    if len(types) == 1:
        groups[types.pop()] = records
    else:
        for r in records:
            groups.setdefault(type(r), []).append(r)
    # Users first: other records' created_by may point to them.
    order = sorted(groups, key=lambda c: c.__name__ != "User")
    insts = {cls: _group_instance(cls, groups[cls]) for cls in order}
    by_root = {id(i): i for i in insts.values()}
    if len(by_root) > 1:
        raise InvalidArgument("cannot save records of different instances in one ln.save() call; save them separately")
    inst = next(iter(by_root.values()))
    check_writable(inst)

    with paused_gc(len(records)):
        # One transaction: every registry's rows become visible together, or none do. On object
        # storage a writer that lost the race for the commit runs it again on fresh state.
        for attempt in retrying(inst):
            with attempt:
                finish = []
                with storage_errors(), inst.transaction() as tx:
                    for cls in order:
                        finish.append(_save_group(cls, groups[cls], inst, tx))
        for f in finish:
            f()


def check_writable(inst: Instance) -> None:
    if inst.read_only:
        raise ReadOnlyError(
            f"records from {inst!r} are read-only (opened with using()); connect with registry.init('{inst.root}') to write"
        )


def _group_instance(cls: type[ModelBase], records: list[Any]) -> Instance:
    instances = {id(r._instance): r._instance for r in records if r._instance is not None}
    if len(instances) > 1:
        raise InvalidArgument(f"cannot save {cls.__name__} records from different instances in one call")
    return next(iter(instances.values())) if instances else settings.instance


@contextlib.contextmanager
def storage_errors():
    """Storage's own exceptions as registry errors (lock timeouts, read-only handles)."""
    try:
        yield
    except ReadOnlyInstance as e:
        raise ReadOnlyError(str(e)) from None


def _save_group(cls: type[ModelBase], records: list[Any], inst: Instance, tx):
    """Stage one registry's inserts and updates in ``tx``; returns what to do once it is committed."""
    cls._ensure_tables(inst)
    now = dt.datetime.now(dt.UTC)
    dicts = list(map(_DICT, records))
    new: list[Any] = []
    old: list[Any] = []
    ids = list(map(dict.get, dicts, repeat("id")))
    if ids.count(None) == len(ids) and not any(map(dict.__contains__, dicts, repeat("_batch"))):
        new, new_dicts, old_dicts = records, dicts, []  # the bulk case: all new, split in C
    else:
        for r, d in zip(records, dicts, strict=True):
            if "_batch" in d:
                continue  # loaded lazily and never touched: unchanged, nothing to write
            (new if d.get("id") is None else old).append(r)
        new_dicts = list(map(_DICT, new))
        old_dicts = list(map(_DICT, old))
    if not new and not old:
        return lambda: None
    if _has_repeats(new):
        raise InvalidArgument(f"the same {cls.__name__} record appears twice in the list to save")
    user_id = None
    if "created_by" in cls._fields:
        user_id = settings.user_id(inst)
    fields = cls._value_fields()
    inserts = _columns(cls, fields, new_dicts, now, user_id, insert=True) if new else None
    updates = _columns(cls, fields, old_dicts, now, user_id, insert=False) if old else None
    check_references(cls, inserts, tx.snapshot)  # under the writer lock: no delete can slip in
    check_references(cls, updates, tx.snapshot)
    try:
        result = tx.commit(cls._schema_table(), inserts=inserts, updates=updates)
    except ConstraintViolation as e:
        raise _integrity_error(cls, e) from None
    except MissingRows as e:
        raise DoesNotExist(
            f"cannot update {cls.__name__} records with id {', '.join(map(str, e.ids[:5].tolist()))}: they were deleted "
            f"(perhaps by another process); nothing was saved. Create them again with {cls.__name__}(...)"
        ) from None
    except ReadOnlyInstance as e:
        raise ReadOnlyError(str(e)) from None
    after = getattr(cls, "_after_insert", None)
    if after is not None and new:
        after(new, result.ids, inst, tx)  # e.g. bio records stage links to the parents they came with

    def finish() -> None:
        ids = result.ids.tolist()
        uids = result.uids.tolist() if result.uids is not None else [None] * len(new)
        has_user = user_id is not None
        for d, i, u in zip(new_dicts, ids, uids, strict=True):
            d["id"] = i
            d["uid"] = u
            d["created_at"] = d["updated_at"] = now
            d["_instance"] = inst
            if has_user and d["created_by_id"] is None:
                d["created_by_id"] = user_id
        for d in old_dicts:
            d["updated_at"] = now

    return finish


_DICT = attrgetter("__dict__")


def _has_repeats(records: list[Any]) -> bool:
    """Whether the same object appears twice (sorting addresses: a set of 10^6 ints costs more)."""
    if len(records) < 1000:
        return len(set(map(id, records))) != len(records)
    addr = np.fromiter(map(id, records), np.uint64, len(records))
    addr.sort()
    return bool((addr[1:] == addr[:-1]).any())


def _columns(cls, fields: list[Field], dicts: list[dict], now, user_id, insert: bool) -> pa.Table:
    """The records' ``__dict__`` values as an Arrow table in ``fields`` order: one pass of Arrow's
    converter over the dicts for the plain columns (a struct array), JSON columns dumped first and
    the automatic timestamps filled; any conversion failure retries column by column, which names it."""
    n = len(dicts)
    auto = ("created_at", "updated_at") if insert else ("updated_at",)
    stamp = None
    plain = []
    for f in fields:
        col = f.column
        if (col == "id" and insert) or col in auto or isinstance(f, JSON):
            continue
        plain.append(pa.field(col, pa.int64() if col == "id" else f.arrow_type))
    try:
        gathered = dict(zip((p.name for p in plain), pa.array(dicts, pa.struct(plain)).flatten(), strict=True))
    except Exception:  # noqa: BLE001  (the column-by-column pass below raises the precise error)
        gathered = None
    cols = {}
    for f in fields:
        col = f.column
        if col == "id" and insert:
            continue
        if col in auto:
            if stamp is None:
                stamp = pa.array(np.full(n, np.datetime64(now.replace(tzinfo=None), "us")), pa.timestamp("us"))
            cols[col] = stamp.cast(f.arrow_type)
            continue
        if gathered is not None and col in gathered:
            arr = gathered[col]
            if col == "created_by_id" and user_id is not None and insert and arr.null_count:
                arr = pc.fill_null(arr, user_id)
            cols[col] = arr
            continue
        cols[col] = _column(cls, f, dicts, user_id, insert)
    return pa.table(cols)


def _column(cls, f: Field, dicts: list[dict], user_id, insert: bool) -> pa.Array:
    """One column from the records' ``__dict__`` values (JSON fields dumped), or the ValidationError
    that names the field whose value Arrow refuses."""
    col = f.column
    if col == "id":
        return pa.array([d["id"] for d in dicts], pa.int64())
    values = list(map(itemgetter(col), dicts))  # every column is in __dict__ (constructor defaults)
    if col == "created_by_id" and user_id is not None and insert:
        values = [user_id if v is None else v for v in values]
    if isinstance(f, JSON):
        values = [None if v is None else json.dumps(v) for v in values]
    try:
        return pa.array(values, f.arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
        raise ValidationError(f"{cls.__name__}.{f.name}: a value does not fit {f.kind}: {shorten(str(e))}") from None
    except UnicodeEncodeError:  # find the culprit only now that there is one
        for v in values:
            bad = text_error(v, f"{cls.__name__}.{f.name}") if isinstance(v, str) else None
            if bad is not None:
                raise ValidationError(f"{bad}; nothing was saved") from None
        raise


def _integrity_error(cls, e: ConstraintViolation) -> IntegrityError:
    field = e.column
    if e.within_batch:
        return IntegrityError(
            f"{cls.__name__} records being saved share {field}={shorten(e.value)}, which must be unique; nothing was saved. "
            f"Remove the duplicates, e.g. with {{r.{field}: r for r in records}}.values()"
        )
    return IntegrityError(
        f"{cls.__name__} with {field}={shorten(e.value)} already exists (uid '{e.existing_uid}'); nothing was saved. "
        f"Load it with {cls.__name__}.get({field}={shorten(e.value)}) or choose another {field}"
    )


def delete_records(cls: type[ModelBase], ids: np.ndarray, inst: Instance, tx) -> int:
    """Stage the delete of ``cls`` records ``ids`` in ``tx``, following each ForeignKey's ``on_delete``
    (PROTECT refuses with ``IntegrityError``; CASCADE and SET_NULL change the other tables in the
    same transaction) and removing their link rows. Returns how many ``cls`` rows were deleted."""
    for model in concrete():  # a registry declared after the first query has no table yet
        model._ensure_tables(inst)
    plan = plan_delete(cls, ids, REGISTRIES, tx.snapshot)
    return apply_delete(plan, REGISTRIES, inst, tx).get(cls, 0)


def check_permanent(permanent, what: str) -> None:
    """Refuse ``delete(permanent=False)``: LaminDB moves records to a trash branch, this library has none."""
    if permanent is False:
        raise ValidationError(
            f"there is no trash: {what} records cannot be soft-deleted (moved to a trash branch) here; "
            f"delete() removes them for good. Call delete() or delete(permanent=True)"
        )
    if permanent not in (None, True):
        raise InvalidArgument(f"permanent must be True, False or None, got {permanent!r}")


def insert_arrow(cls: type[ModelBase], data, instance: Instance | None = None, tx=None) -> np.ndarray:
    """Insert rows given as columns (Arrow table, polars or pandas frame) in one commit.

    The fast path for imports: no Record objects, types checked per column by Arrow.
    Returns the new ids. Unknown columns raise FieldError; unique violations IntegrityError.
    With ``tx`` (an ``instance.transaction()``), the rows are staged in it instead.
    """
    if not isinstance(data, pa.Table):
        data = (
            pa.table(data)
            if isinstance(data, dict)
            else pa.Table.from_pandas(data, preserve_index=False)
            if hasattr(data, "iloc")
            else data.to_arrow()
        )
    inst = cls._resolve_instance(instance)
    check_writable(inst)
    schema = cls._arrow_schema()
    for name in data.column_names:
        if name not in schema.names or name in ("id", "created_at", "updated_at"):
            raise FieldError(
                f"unknown or automatic column '{name}' for {cls.__name__}{did_you_mean(name, schema.names)}"
            )
    n = data.num_rows
    now = pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("us", tz="UTC"))
    cols = {}
    for f in schema:
        if f.name in data.column_names:
            try:
                cols[f.name] = data.column(f.name).cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise ValidationError(f"{cls.__name__}.{f.name}: cannot store column as {f.type}: {e}") from None
        elif f.name in ("created_at", "updated_at"):
            cols[f.name] = pa.array(np.full(n, now.value), pa.int64()).cast(pa.timestamp("us")).cast(f.type)
        elif f.name == "created_by_id" and "created_by" in cls._fields:
            cols[f.name] = pa.array(np.full(n, settings.user_id(inst)), pa.int64())
    for name in cls._required():
        col = cols.get(name)
        if col is None or col.null_count:
            raise ValidationError(f"{cls.__name__} requires '{name}' for every row")
    rows = pa.table(cols)
    try:
        if tx is None:
            for attempt in retrying(inst):  # object storage: a lost race runs it again on fresh state
                with attempt, storage_errors(), inst.transaction() as own:
                    check_references(cls, rows, own.snapshot)
                    result = own.commit(cls._schema_table(), inserts=rows)
        else:
            check_references(cls, rows, tx.snapshot)
            result = tx.commit(cls._schema_table(), inserts=rows)
    except ConstraintViolation as e:
        raise _integrity_error(cls, e) from None
    return result.ids


__all__ = ["save", "insert_arrow", "delete_records", "check_permanent", "check_writable", "storage_errors"]
