"""``BasicQuerySet``: a lazy, immutable query over one registry of one instance, run by DuckDB.

Every method that narrows or reorders returns a new ``QuerySet``; nothing runs until rows are
asked for (iteration, ``list``, ``df``, ``count`` …). The SQL comes from the pure translator
in ``registry.query``; this module only binds it to an instance's engine and turns Arrow
results into records, DataFrames or plain values.

``Record.using("path/or/name")`` gives a read-only ``QuerySet`` bound to another instance;
the default instance never changes (no process-global switch).

Curation and search methods are not here: ``registry.record.QuerySet`` adds them (the floor above),
as ``registry.record.Record`` adds them to registries. A registry names its query-set class in
``_queryset_class``, so every query set made here for it is the full one.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import (
    FieldError,
    InstanceError,
    InvalidArgument,
    ReadOnlyError,
    ValidationError,
    shorten,
    text_error,
)
from ..fields import JSON, Field, field_name
from ..logging import logger
from ..model_map import registry_class
from ..model_map import schema_map as _schemas
from ..query import Q, Query, compile_include, compile_query
from ..query.analysis import top_equalities, unique_equalities
from ..query.translate import IDS_TABLE, Compiled, InSelect
from ..settings import settings
from ..storage import Instance
from ..storage.engine import StatementError
from ..storage.instance import InstanceNotFound
from ..storage.table import frame_of
from .declaration import RecordMeta
from .describe import describe_queryset
from .persistence import check_permanent, delete_records

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from .record import SQLRecord as Record

_READ_ONLY: dict[Path, Instance] = {}  # instances opened by using(), one per directory
DF_LIMIT = 100  # df()'s default row limit, for registries and query sets alike (the seed's value)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # ids are int64

M = TypeVar("M", bound="Record")  # the registry a query set reads


class BasicQuerySet(Generic[M]):
    """A lazy query over the records of ``model`` in ``instance`` (default: ``ln.settings.instance``).

    >>> qs = ln.ULabel.filter(name__startswith="T").order_by("-created_at")  # doctest: +SKIP
    >>> qs.count(), qs.first(), qs.df()  # doctest: +SKIP
    """

    def __init__(
        self,
        model: type[M],
        instance: Instance | None = None,
        *,
        read_only: bool = False,
        _query: Query | None = None,
    ):
        self.model = model
        self.instance: Instance = model._resolve_instance(instance)
        self.read_only = bool(read_only or self.instance.read_only)
        self._query = _query if _query is not None else Query(model.__name__, _schemas())

    # -- building (each returns a new QuerySet) --------------------------------------------
    def _clone(self, query: Query) -> Self:
        return type(self)(self.model, self.instance, read_only=self.read_only, _query=query)

    def filter(self, *queries: Q, **expressions: Any) -> Self:
        """Narrow with ``Q`` objects and Django-style expressions (``name__icontains="cell"``)."""
        self._check_values(expressions.values(), queries, expressions)
        return self._clone(self._query.filter(*queries, **expressions))

    def exclude(self, *queries: Q, **expressions: Any) -> Self:
        """Drop records matching the expressions; records whose field is NULL are kept (as Django)."""
        self._check_values(expressions.values(), queries, expressions)
        return self._clone(self._query.exclude(*queries, **expressions))

    def order_by(self, *fields: str) -> Self:
        """Order by fields, ``"-field"`` descending; forward relations allowed (``"created_by__handle"``)."""
        return self._clone(self._query.order_by(*(f if isinstance(f, str) else field_name(f) for f in fields)))

    def distinct(self) -> Self:
        """Rows are never repeated by relation filters; ``distinct`` de-duplicates ``values``/``values_list``."""
        return self._clone(self._query.with_distinct())

    def all(self) -> Self:
        return self._clone(self._query)

    def reverse(self) -> Self:
        return self._clone(self._query.reverse_ordering())

    def _check_values(self, values, queries, keys=()) -> None:
        # Unknown fields and lookups fail at filter() time, as in Django: the Query resolves each
        # path when the filter is added (query/query.py). Here: a query set or record used as a
        # value (created_by__in=User.filter(...)) must live in the same instance.
        leaves = list(values)
        for q in queries:
            if isinstance(q, Q):
                leaves.extend(v for _, v in q.leaves())
        root = self.instance.root
        for v in leaves:
            if isinstance(v, BasicQuerySet) and v.instance.root != root:
                raise InvalidArgument(
                    f"a {v.model.__name__} query set from {v.instance!r} cannot filter {self.model.__name__} records of {self.instance!r}"
                )
            for item in v if isinstance(v, (list, tuple)) and len(v) <= 1000 else (v,):
                inst = (
                    item.__dict__.get("_instance")
                    if hasattr(item, "__dict__") and hasattr(type(item), "_fields")
                    else None
                )
                if inst is not None and inst.root != root:
                    raise InvalidArgument(
                        f"{item!r} comes from {inst!r} and cannot filter {self.model.__name__} records of {self.instance!r}; "
                        f"its id means another record there"
                    )

    @overload
    def __getitem__(self, k: int) -> M: ...
    @overload
    def __getitem__(self, k: slice) -> Self: ...
    def __getitem__(self, k: int | slice) -> M | Self:
        if isinstance(k, slice):
            if k.step not in (None, 1):
                raise InvalidArgument("query sets do not support slice steps")
            return self._clone(self._query.slice(k.start, k.stop))
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InvalidArgument(f"query sets are indexed with integers or slices, got {k!r}")
        k = int(k)
        if k < 0:
            raise ValidationError("negative indexing is not supported on query sets; use .last() or order_by('-field')")
        rows = self._clone(self._query.slice(k, k + 1)).list()
        if not rows:
            raise IndexError(f"{self.model.__name__} query set index {k} out of range")
        return rows[0]

    # -- running -----------------------------------------------------------------------------
    def _compile(self, mode: str = "rows", **kw) -> Compiled:
        return compile_query(_schemas(), self._query, mode=mode, **kw)

    def _run(self, compiled: Compiled) -> pa.Table:
        self._index_equalities()
        for p in compiled.params:  # a handful of values (huge ``in`` lists are tables), not rows
            for v in p if isinstance(p, (list, tuple)) else (p,):
                bad = text_error(v, f"{self.model.__name__} query value") if isinstance(v, str) else None
                if bad is not None:
                    raise bad
        try:
            return self.instance.engine.execute(compiled.sql, compiled.params, compiled.tables, compiled.reads)
        except StatementError as e:
            raise ValidationError(f"{self.model.__name__} query could not run: {e}") from None

    def _index_equalities(self) -> None:
        """Unique columns probed by equality (or a short ``in`` list) get an ART index (the engine
        builds it once, on big tables); which conditions those are is ``query.analysis``'s answer."""
        schema = self.model._schema
        for spec, _ in unique_equalities(schema, self._query, in_lists=True) or ():
            if spec.column and spec.column != "id":
                self.instance.engine.ensure_index(schema.table, spec.column)

    def _fast_snapshot(self) -> pa.Table | None:
        """The rows straight from the cached snapshot when no SQL is needed (no filter, id order)."""
        q = self._query
        if q.wheres or q.rank is not None or q.ordering not in ((), ("id",), ("-id",), ("pk",), ("-pk",)):
            return None
        snap = self.model._snapshot(self.instance)
        n = snap.num_rows
        if q.ordering and q.ordering[0].startswith("-"):
            stop = n if q.high is None else min(n, q.high)
            start = min(q.low, stop)
            # Rows start..stop of the reversed table are n-stop..n-start of the table, reversed.
            part = snap.slice(n - stop, stop - start)
            return part.take(pa.array(np.arange(part.num_rows - 1, -1, -1, dtype=np.int64)))
        stop = n if q.high is None else min(n, q.high)
        return snap.slice(min(q.low, stop), max(stop - q.low, 0))

    def to_arrow(self) -> pa.Table:
        """Rows in query order with the registry's columns (plus ``score`` for search results)."""
        fast = self._fast_snapshot()
        if fast is not None:
            return fast
        return self._run(self._compile("rows"))

    def to_polars(self) -> pl.DataFrame:
        if self._is_all():
            return self.model._snapshot_pl(self.instance)
        return frame_of(self.to_arrow())

    def _is_all(self) -> bool:
        """True without filter, ordering, slice or ranking: callers may use the cached snapshot."""
        return self._query.is_all

    @overload
    def list(self, field: None = None) -> builtins.list[M]: ...
    @overload
    def list(self, field: str) -> builtins.list[Any]: ...
    def list(self, field: str | None = None) -> builtins.list[M] | builtins.list[Any]:
        """Records in query order, or the values of ``field`` (LaminDB's ``qs.list("name")``)."""
        if field is not None:
            return self.values_list(field, flat=True)
        return self.model._from_arrow(self.to_arrow(), self.instance)

    @overload
    def to_list(self, field: None = None) -> builtins.list[M]: ...
    @overload
    def to_list(self, field: str) -> builtins.list[Any]: ...
    def to_list(self, field: str | None = None) -> builtins.list[M] | builtins.list[Any]:
        """Same as ``list`` (LaminDB 2.x name)."""
        return self.list(field)

    def __iter__(self) -> Iterator[M]:
        return iter(self.list())

    def __len__(self) -> int:
        return self.count()

    def __bool__(self) -> bool:
        return self.exists()

    def __contains__(self, record) -> bool:
        rid = getattr(record, "id", None)
        if rid is None or not isinstance(record, self.model):
            return False
        return self.filter(id=rid).exists()

    def __repr__(self) -> str:
        rows = self._clone(self._query.slice(0, 21)).list()
        body = ", ".join(repr(r) for r in rows[:20])
        if len(rows) > 20:
            body += ", ...(remaining elements truncated)..."
        return f"<QuerySet [{body}]>"

    def count(self) -> int:
        """Number of records (``SELECT count(*)``; nothing is materialised)."""
        fast = None
        if not self._query.wheres and self._query.rank is None:
            fast = self.model._snapshot(self.instance).num_rows
            if not self._query.is_sliced:
                return fast
            stop = fast if self._query.high is None else min(fast, self._query.high)
            return max(stop - self._query.low, 0)
        return int(self._run(self._compile("count")).column(0)[0].as_py())

    def exists(self) -> bool:
        """Whether any record matches (``LIMIT 1``)."""
        return self._run(self._compile("exists")).num_rows > 0

    def first(self) -> M | None:
        """The first record (by id unless ordered), or None."""
        rows = self[:1].list() if not self._query.is_sliced else self.list()[:1]
        return rows[0] if rows else None

    def last(self) -> M | None:
        """The last record (by id unless ordered), or None."""
        if self._query.is_sliced or (self._query.rank is not None and not self._query.ordering):
            rows = self.list()
            return rows[-1] if rows else None
        rows = self._clone(self._query.reverse_ordering()[:1]).list()
        return rows[0] if rows else None

    def one(self) -> M:
        """Exactly one record, else ``DoesNotExist`` / ``MultipleResultsFound``."""
        rows = self._clone(self._query.slice(0, 2)).list()
        if not rows:
            raise self.model.DoesNotExist(
                f"{self.model.__name__} matching query does not exist; use .one_or_none() to get None instead"
            )
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"{self.model.__name__} query matched more than one record; narrow the filter or use .first()"
            )
        return rows[0]

    def one_or_none(self) -> M | None:
        """One record or None; ``MultipleResultsFound`` if several match."""
        rows = self._clone(self._query.slice(0, 2)).list()
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"{self.model.__name__} query matched more than one record; narrow the filter or use .first()"
            )
        return rows[0] if rows else None

    def get(self, idlike: int | str | None = None, **expressions: Any) -> M:
        """One record of this query set by id (int), uid or uid prefix (str), or by expressions."""
        if idlike is not None and expressions:
            raise InvalidArgument(f"{self.model.__name__}.get() takes either an id/uid or field expressions, not both")
        if idlike is not None and self._is_all():
            return get_one(self.model, idlike, self.instance)
        if isinstance(idlike, bool):
            raise InvalidArgument(f"get() takes an int id or a str uid, got {idlike!r}")
        if isinstance(idlike, (int, np.integer)):
            qs, what = self.filter(id=int(idlike)), f"id={int(idlike)}"
        elif isinstance(idlike, str):
            qs, what = self.filter(uid__startswith=idlike), f"uid '{idlike}'"
        elif idlike is not None:
            raise InvalidArgument(
                f"get() takes an int id or a str uid (or prefix), got {type(idlike).__name__} {idlike!r}"
            )
        elif not expressions:
            raise InvalidArgument(
                f"{self.model.__name__}.get() needs an id, a uid or field expressions, e.g. get(name='...')"
            )
        else:
            qs, what = self.filter(**expressions), ", ".join(f"{k}={shorten(v)}" for k, v in expressions.items())
        rows = qs._clone(qs._query.slice(0, 2)).list()
        if not rows:
            raise self.model.DoesNotExist(f"{self.model.__name__} matching {what} does not exist")
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"get() returned more than one {self.model.__name__} for {what}; use filter(...) to get them all"
            )
        return rows[0]

    def delete(self, permanent: bool | None = None) -> int:
        """Delete every record of the query set in one commit, for good (there is no trash).

        Parameters
        ----------
        permanent
            ``None`` or ``True`` (LaminDB's spelling): delete. ``False`` raises ``ValidationError``
            because there is no trash branch to move the records to.

        Returns
        -------
        int
            How many records were deleted.

        Examples
        --------
        >>> ln.save([ln.ULabel(name=f"tmp {i}") for i in range(3)])
        >>> ln.ULabel.filter(name__startswith="tmp ").delete(permanent=True)
        3
        """
        check_permanent(permanent, self.model.__name__)
        if self.read_only:
            raise ReadOnlyError(
                f"this {self.model.__name__} query set is read-only ({self.instance!r}, opened with using()); "
                f"connect with registry.init('{self.instance.root}') to delete"
            )
        ids = (
            self._run(self._compile("ids")).column(0).to_numpy()
            if not self._is_all()
            else self.model._snapshot(self.instance).column("id").to_numpy()
        )
        if not len(ids):
            return 0
        # rows, what cascades from them and their link rows: all or nothing
        with self.instance.transaction() as tx:
            n = delete_records(self.model, np.asarray(ids, np.int64), self.instance, tx)
        return n

    # -- column access ---------------------------------------------------------------------
    def _values_table(self, fields: Sequence[str]) -> pa.Table:
        fields = list(fields) or [c for c in self.model._schema.columns]
        fields = [field_name(f) for f in fields]
        return self._run(self._compile("values", columns=fields))

    def values(self, *fields: str) -> builtins.list[dict]:
        """Rows as dicts of the given fields (default: all columns); forward relations allowed."""
        return self._values_table(fields).to_pylist()

    def values_list(self, *fields: str, flat: bool = False) -> builtins.list:
        """Rows as tuples of the given fields; ``flat=True`` with one field gives a plain list."""
        if flat and len(fields) != 1:
            raise InvalidArgument("values_list(flat=True) takes exactly one field")
        table = self._values_table(fields)
        if flat:
            return table.column(0).to_pylist()
        return (
            list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))
            if table.num_rows
            else []
        )

    # -- DataFrame -------------------------------------------------------------------------
    def df(
        self,
        include: str | Sequence[str] | None = None,
        join: str = "left",
        limit: int | None = DF_LIMIT,
        order_by: str | None = "-id",
        features=None,
    ) -> pd.DataFrame:
        """The query set as a pandas DataFrame indexed by ``id`` (LaminDB 2.x: ``to_dataframe``).

        Columns: ``uid``, the direct fields (without ``updated_at``), then FK ids as
        ``<fk>_id`` (and ``score`` for search results).

        Parameters
        ----------
        include
            Related fields to add as columns, e.g. ``"created_by__name"`` or ``["ulabels__name"]``.
            A path through a many-to-many or reverse relation gives a ``set`` of values per record.
        join
            ``"left"`` (default, as LaminDB 2.x) keeps every record: ``None`` or an empty set where
            nothing is related. ``"inner"`` keeps only records for which every included path
            reaches a related record (``"outer"`` is the same as ``"left"``).
        limit
            At most this many records, 100 by default (the same for ``Registry.df()`` and
            ``QuerySet.df()``); a warning says when the default cut rows. ``None``: all records.
        order_by
            Order of an unordered query set, ``"-id"`` (newest first) by default; ignored when
            the query set is already ordered or ranked.
        features
            LaminDB's feature columns; this library has no features, so only ``None`` is accepted.

        Returns
        -------
        pandas.DataFrame
            One row per record, indexed by ``id``.

        Examples
        --------
        >>> ln.save([ln.ULabel(name=f"df {i}") for i in range(3)])
        >>> ln.ULabel.filter(name__startswith="df ").df(limit=2)["name"].tolist()
        ['df 2', 'df 1']
        >>> ln.ULabel.filter(name="df 0").df(include="created_by__handle")["created_by__handle"].tolist()
        ['testuser']
        """
        import pandas as pd

        if features is not None:
            raise InvalidArgument(
                "features= selects LaminDB feature columns; registries here have no features. Use include=[...]"
            )
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
            raise InvalidArgument(f"limit must be a non-negative int or None, got {limit!r}")
        paths = [include] if isinstance(include, str) else list(include or [])
        if join not in ("inner", "left", "outer"):
            raise ValidationError(f"join must be 'inner', 'left' or 'outer', got {join!r}")
        ordered = self._query.ordering or self._query.rank is not None
        qs = self if (ordered or order_by is None) else self.order_by(order_by)
        if limit is not None:
            table = qs._clone(qs._query.slice(0, int(limit) + 1)).to_arrow()
            if table.num_rows > limit:
                table = table.slice(0, int(limit))
                if limit == DF_LIMIT:
                    logger.warning(
                        f"truncated query result to limit={limit} {self.model.__name__} objects; "
                        f"pass limit=None for all"
                    )
        else:
            table = qs.to_arrow()
        table = table.select(self._df_columns(table))
        if paths:
            table = self._with_include(table, paths, join)
        # Index set from the Arrow column: pandas' set_index copies every column (2x slower).
        frame = table.drop_columns(["id"]).to_pandas()
        frame.index = pd.Index(table.column("id").to_numpy(), name="id")
        for p in paths:
            if p in frame.columns and pa.types.is_list(table.schema.field(p).type):
                # The one per-row Python step: sets are what LaminDB users compare against.
                frame[p] = [set(v) if v is not None else set() for v in table.column(p).to_pylist()]
        return frame

    def describe(self, return_str: bool = False) -> str | None:
        """Print the query set: its registry, filter, ordering, count and first records.

        Parameters
        ----------
        return_str
            Return the plain text instead of printing it.

        Returns
        -------
        str or None

        Examples
        --------
        >>> ln.ULabel(name="shown").save().name
        'shown'
        >>> print(ln.ULabel.filter(name="shown").describe(return_str=True))  # doctest: +ELLIPSIS
        QuerySet of ULabel  (1 record, instance '...')
        ├── filter: ...
        └── first 1
            └── ULabel(name='shown')
        """
        return describe_queryset(self, return_str=return_str)

    to_dataframe = df  # LaminDB 2.x's name

    def _df_columns(self, table: pa.Table) -> builtins.list[str]:
        schema = self.model._schema
        plain: builtins.list[str] = []
        fks: builtins.list[str] = []
        for f in schema.fields.values():
            if f.column is None or f.name in ("id", "uid", "updated_at"):
                continue
            (fks if f.kind == "fk" else plain).append(f.column)
        cols = ["id", "uid", *plain, *fks]
        if "score" in table.column_names:
            cols.append("score")
        return cols

    def _with_include(self, table: pa.Table, paths: builtins.list[str], join: str) -> pa.Table:
        compiled = compile_include(_schemas(), self.model.__name__, paths, join)
        ids = pa.table({"id": table.column("id"), "pos": pa.array(np.arange(table.num_rows, dtype=np.int64))})
        compiled.tables[IDS_TABLE] = ids
        extra = self.instance.engine.execute(compiled.sql, compiled.params, compiled.tables, compiled.reads)
        if extra.num_rows != table.num_rows:
            table = table.take(extra.column("__pos"))
        for p in paths:
            if p in table.column_names:
                raise FieldError(f"include: '{p}' is already a column of the {self.model.__name__} DataFrame")
            table = table.append_column(p, extra.column(p))
        return table

    # -- search results ----------------------------------------------------------------------
    def _ranked(self, ids: np.ndarray, scores: np.ndarray) -> Self:
        """This query set restricted to ``ids`` in the given order, with a ``score`` per record."""
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        if ids.shape != scores.shape:
            raise InvalidArgument(f"_ranked: {len(ids)} ids but {len(scores)} scores")
        if self._query.is_sliced:
            raise InvalidArgument("cannot rank a sliced query set; rank first, then slice")
        rank = pa.table({"id": ids, "score": scores, "pos": np.arange(len(ids), dtype=np.int64)})
        return self._clone(self._query.with_rank(rank))

    # -- other instances -----------------------------------------------------------------------
    def using(self, instance=None, *, version: int | None = None, as_of=None) -> Self:
        """This query on another instance, read-only: a directory path or a name in ``ln.settings``;
        with ``version=N`` or ``as_of=datetime``, a read-only snapshot of the past.

        >>> ln.ULabel.filter(name__startswith="a").using("../other").df()  # doctest: +SKIP
        """
        return cast(Self, using(self.model, instance, version=version, as_of=as_of, query=self._query))

    def connect(self, instance=None, **kwargs) -> Self:
        """LaminDB 2.x's name for :meth:`using`: this query on another instance, read-only.

        Examples
        --------
        >>> ln.ULabel.filter(name="x").connect(None).count()
        0
        """
        return self.using(instance, **kwargs)


def queryset(model: type[M], instance: Instance | None = None, **kwargs: Any) -> BasicQuerySet[M]:
    """A query set of ``model``'s own query-set class (the full one for public registries)."""
    return model._queryset_class(model, instance, **kwargs)


def using(model: type[M], instance=None, *, version=None, as_of=None, query: Query | None = None) -> BasicQuerySet[M]:
    """``query`` (default: all records) on another instance, read-only; or at a past version."""
    if instance is None or (isinstance(instance, str) and instance == "default"):
        inst = model._resolve_instance(None)
        read_only = False
    else:
        inst = open_read_only(instance)
        read_only = True
    if version is not None or as_of is not None:
        model._ensure_tables(inst)
        try:
            inst = inst.at(model._schema.table, version=version, as_of=as_of)
        except ValueError as e:
            raise InvalidArgument(f"{model.__name__}.using(): {e}") from None
        model._ensure_tables(inst)
        read_only = True
    return queryset(
        model, inst, read_only=read_only, _query=query if query is not None else Query(model.__name__, _schemas())
    )


def related(record: Record, field_spec) -> BasicQuerySet:
    """The records related to ``record`` through ``field_spec`` (``user.created_artifacts``).

    ``field_spec`` is a ``FieldSpec`` of ``record``'s registry (reverse_fk, m2m or
    reverse_m2m) or its name. Lazy: the ids are selected in SQL, not materialised.
    """
    if isinstance(field_spec, str):
        spec = type(record)._schema.fields.get(field_spec)
        if spec is None:
            raise FieldError(f"{type(record).__name__} has no relation '{field_spec}'")
    else:
        spec = field_spec
    if record.id is None:
        raise ValidationError(f"{type(record).__name__} record is not saved yet; it has no related records")
    assert spec.target is not None  # every relation names its target registry
    target: Any = registry_class(spec.target)
    inst = record._instance or type(record)._resolve_instance()
    qs = queryset(target, inst, read_only=inst.read_only)
    if spec.kind == "reverse_fk":
        assert spec.remote_column is not None
        sel = InSelect(target._schema.table, "id", spec.remote_column, int(record.id))
    elif spec.kind in ("m2m", "reverse_m2m"):
        assert spec.link_table is not None and spec.link_target is not None and spec.link_source is not None
        sel = InSelect(spec.link_table, spec.link_target, spec.link_source, int(record.id))
    elif spec.kind == "fk":
        assert spec.column is not None
        fk_id = getattr(record, spec.column)
        return qs.filter(id=fk_id) if fk_id is not None else qs.filter(id__in=[])
    else:
        raise FieldError(f"{type(record).__name__}.{spec.name} is not a relation")
    return qs.filter(id__in=sel)


def get_one(cls: type[Record], idlike=None, instance: Instance | None = None, **expressions) -> Any:
    """``Record.get`` and ``QuerySet.get`` on an unfiltered registry: by id, uid (prefix) or equalities,
    through the storage hash index when the expressions are plain equalities."""
    if idlike is not None and expressions:
        raise InvalidArgument(f"{cls.__name__}.get() takes either an id/uid or field expressions, not both")
    inst = cls._resolve_instance(instance)
    if isinstance(idlike, bool):
        raise InvalidArgument(f"{cls.__name__}.get() takes an int id or a str uid, got {idlike!r}")
    if isinstance(idlike, (int, np.integer)):
        return get_by_id(cls, int(idlike), inst)
    if isinstance(idlike, str):
        bad = text_error(idlike, f"{cls.__name__}.get() uid")
        if bad is not None:
            raise bad
        return _get_by_uid(cls, idlike, inst)
    if idlike is not None:
        raise InvalidArgument(
            f"{cls.__name__}.get() takes an int id or a str uid (or prefix), got {type(idlike).__name__} {shorten(idlike)}"
        )
    if not expressions:
        raise InvalidArgument(f"{cls.__name__}.get() needs an id, a uid or field expressions, e.g. get(name='...')")
    simple = _simple_equalities(cls, expressions)
    if simple is None:
        return queryset(cls, inst).get(**expressions)
    table = cls._schema_table()
    (col, value), rest = simple[0], simple[1:]
    assert col is not None  # a direct column (the analysis returned no relation)
    rows = inst.find(table, col, value)
    for col, value in rest:
        if rows.num_rows == 0:
            break
        mask = rows.column(col).is_null() if value is None else pc.fill_null(pc.equal(rows.column(col), value), False)
        rows = rows.filter(mask)
    return _one(cls, rows.slice(0, 2), inst, ", ".join(f"{k}={shorten(v)}" for k, v in expressions.items()))


def get_by_id(cls: type[Record], id_: int, inst: Instance) -> Any:
    if not _INT64_MIN <= id_ <= _INT64_MAX:
        raise cls.DoesNotExist(f"{cls.__name__} with id={shorten(id_)} does not exist (ids are 64-bit integers)")
    rows = inst.find(cls._schema_table(), "id", int(id_))
    if rows.num_rows:
        return cls._from_arrow(rows.slice(0, 1), inst)[0]
    raise cls.DoesNotExist(f"{cls.__name__} with id={id_} does not exist")


def _simple_equalities(cls, expressions) -> list[tuple[str | None, Any]] | None:
    """``[(column, value)]`` when every expression is ``field=value`` on a column of the registry
    itself (``query.analysis`` decides which), values as storage compares them; else None."""
    out = []
    for (key, value), eq in zip(expressions.items(), top_equalities(cls._schema, expressions), strict=True):
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            return None  # no stored value equals it; the query path answers DoesNotExist
        if isinstance(value, str):
            bad = text_error(value, f"{cls.__name__}.get({key}=...)")
            if bad is not None:
                raise bad
        if eq is None or eq.lookup != "exact":
            return None
        spec = eq.field
        if spec.kind == "fk":
            if isinstance(type(value), RecordMeta):
                value = value.id
            elif value is not None and not isinstance(value, int):
                return None
            out.append((spec.column, value))
            continue
        if spec.column in cls._id_columns():
            out.append((spec.column, value))
            continue
        f = cls._fields.get(spec.name)
        if not isinstance(f, Field) or isinstance(f, JSON):
            return None
        try:
            value = f.clean(value) if value is not None else None
        except ValidationError:
            return None  # e.g. name=1: compared by the query engine, exactly as filter(name=1) does
        out.append((f.column, value))
    return out


def _get_by_uid(cls, uid: str, inst: Instance) -> Record:
    table = cls._schema_table()
    if len(uid) >= cls._uid_length:
        rows = inst.find(table, "uid", uid)
    else:
        snap = inst.snapshot(table)
        rows = snap.filter(pc.starts_with(snap.column("uid"), uid)).slice(0, 2) if uid else snap.slice(0, 2)
    if rows.num_rows == 0:
        hint = f" Did you forget a keyword as in {cls.__name__}.get({cls._name_field}='{uid}')?"
        raise cls.DoesNotExist(f"No record found with uid '{uid}'.{hint}")
    if rows.num_rows > 1:
        raise cls.MultipleObjectsReturned(
            f"uid prefix '{uid}' matches several {cls.__name__} records; give more characters of the uid"
        )
    return cls._from_arrow(rows, inst)[0]


def _one(cls, rows: pa.Table, inst: Instance, what: str) -> Record:
    if rows.num_rows == 0:
        raise cls.DoesNotExist(f"{cls.__name__} matching {what} does not exist")
    if rows.num_rows > 1:
        raise cls.MultipleObjectsReturned(
            f"get() returned more than one {cls.__name__} for {what}; use filter(...) to get them all"
        )
    return cls._from_arrow(rows, inst)[0]


# ---------------------------------------------------------------------------------------------
# saving


def open_read_only(spec) -> Instance:
    """Resolve ``spec`` (an Instance, a directory, or a name registered in settings) read-only.

    One read-only ``Instance`` per directory is kept for the process, so repeated
    ``using(...)`` calls share its snapshots and DuckDB tables.
    """
    if isinstance(spec, Instance):
        root = spec.root
    elif isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        named = settings.instances.get(text)
        if named is not None:
            root = Path(named)
        elif Path(text).expanduser().is_dir():
            root = Path(text).expanduser().resolve()
        else:
            known = ", ".join(sorted(settings.instances)) or "none yet"
            raise InstanceError(
                f"no instance '{text}': not a directory and not a registered name (registered: {known}). "
                f"Pass the instance directory, e.g. ULabel.using('/path/to/instance')"
            )
    else:
        raise InvalidArgument(f"using() takes a directory path or an instance name, got {type(spec).__name__} {spec!r}")
    root = Path(root).expanduser().resolve()
    inst = _READ_ONLY.get(root)
    if inst is None:
        try:
            inst = Instance.open(root, create=False, read_only=True)
        except InstanceNotFound as exc:
            raise InstanceError(str(exc)) from None
        _READ_ONLY[root] = inst
    return inst


__all__ = ["BasicQuerySet", "queryset", "using", "related", "get_one", "open_read_only"]
