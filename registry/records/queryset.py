"""``QuerySet``: a lazy, immutable query over one registry of one instance, run by DuckDB.

Every method that narrows or reorders returns a new ``QuerySet``; nothing runs until rows are
asked for (iteration, ``list``, ``df``, ``count`` …). The SQL comes from the pure translator
in ``registry.query``; this module only binds it to an instance's engine and turns Arrow
results into records, DataFrames or plain values.

``Record.using("path/or/name")`` gives a read-only ``QuerySet`` bound to another instance;
the default instance never changes (no process-global switch).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .errors import (
    FieldError,
    InstanceError,
    InvalidArgument,
    ReadOnlyError,
    ValidationError,
    shorten,
    text_error,
)
from .logging import logger
from .query import Q, Query, compile_include, compile_query
from .query.paths import field_of
from .query.translate import IDS_TABLE, Compiled, InSelect
from .storage import Instance
from .storage.engine import StatementError
from .storage.instance import InstanceNotFound

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from .record import Record

_READ_ONLY: dict[Path, Instance] = {}  # instances opened by using(), one per directory
DF_LIMIT = 100  # df()'s default row limit, for registries and query sets alike (the seed's value)


def _schemas():
    from .record import schema_map

    return schema_map()


class _ClassOrInstance:
    """A method usable on the class (``QuerySet.using(Model, "x")``) and on a query set (``qs.using("x")``)."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj, owner):
        if obj is None:
            return lambda model, instance=None, **kw: self.func(owner, model, None, instance, **kw)
        return lambda instance=None, **kw: self.func(owner, obj.model, obj, instance, **kw)


class QuerySet:
    """A lazy query over the records of ``model`` in ``instance`` (default: ``ln.settings.instance``).

    >>> qs = ln.ULabel.filter(name__startswith="T").order_by("-created_at")  # doctest: +SKIP
    >>> qs.count(), qs.first(), qs.df()  # doctest: +SKIP
    """

    def __init__(
        self,
        model: type[Record],
        instance: Instance | None = None,
        *,
        read_only: bool = False,
        _query: Query | None = None,
    ):
        self.model = model
        self.instance: Instance = model._resolve_instance(instance)
        self.read_only = bool(read_only or self.instance.read_only)
        self._query = _query if _query is not None else Query(model.__name__)

    # -- building (each returns a new QuerySet) --------------------------------------------
    def _clone(self, query: Query) -> QuerySet:
        return QuerySet(self.model, self.instance, read_only=self.read_only, _query=query)

    def filter(self, *queries: Q, **expressions: Any) -> QuerySet:
        """Narrow with ``Q`` objects and Django-style expressions (``name__icontains="cell"``)."""
        self._check_values(expressions.values(), queries, expressions)
        return self._clone(self._query.filter(*queries, **expressions))

    def exclude(self, *queries: Q, **expressions: Any) -> QuerySet:
        """Drop records matching the expressions; records whose field is NULL are kept (as Django)."""
        self._check_values(expressions.values(), queries, expressions)
        return self._clone(self._query.exclude(*queries, **expressions))

    def order_by(self, *fields: str) -> QuerySet:
        """Order by fields, ``"-field"`` descending; forward relations allowed (``"created_by__handle"``)."""
        from .fields import field_name

        return self._clone(self._query.order_by(*(f if isinstance(f, str) else field_name(f) for f in fields)))

    def distinct(self) -> QuerySet:
        """Rows are never repeated by relation filters; ``distinct`` de-duplicates ``values``/``values_list``."""
        return self._clone(self._query.with_distinct())

    def all(self) -> QuerySet:
        return self._clone(self._query)

    def reverse(self) -> QuerySet:
        return self._clone(self._query.reverse_ordering())

    def _check_values(self, values, queries, keys=()) -> None:
        # Unknown fields and lookups fail at filter() time, as in Django, not at first evaluation.
        from .query.paths import resolve

        schema = self.model._schema
        schemas = _schemas()
        for key in keys:
            resolve(schemas, schema, key)
        for q in queries:
            if isinstance(q, Q):
                for key, _ in q.leaves():
                    resolve(schemas, schema, key)
        # A query set used as a value (created_by__in=User.filter(...)) must live in the same instance.
        leaves = list(values)
        for q in queries:
            if isinstance(q, Q):
                leaves.extend(v for _, v in q.leaves())
        root = self.instance.root
        for v in leaves:
            if isinstance(v, QuerySet) and v.instance.root != root:
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

    def __getitem__(self, k: int | slice):
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
            return self.instance.engine.execute(compiled.sql, compiled.params, compiled.tables)
        except StatementError as e:
            raise ValidationError(f"{self.model.__name__} query could not run: {e}") from None

    def _index_equalities(self) -> None:
        """Point lookups on unique columns get an ART index (the engine builds it once, on big tables)."""
        schema = self.model._schema
        for where in self._query.wheres:
            if where.negated or where.connector != "AND":
                continue
            for child in where.children:
                if isinstance(child, Q):
                    continue
                key, value = child
                if key.endswith("__exact"):
                    key = key[:-7]
                elif key.endswith("__in") and isinstance(value, (list, tuple, set)) and len(value) <= 1000:
                    key = key[:-4]  # a short IN list probes the index too; long ones are joined as a table
                spec = field_of(schema, key) if "__" not in key else None
                if spec is not None and spec.unique and spec.column and spec.column != "id":
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
        import polars as pl

        if self._is_all():
            return self.model._snapshot_pl(self.instance)
        return pl.from_arrow(self.to_arrow())

    def _is_all(self) -> bool:
        """True without filter, ordering, slice or ranking: callers may use the cached snapshot."""
        return self._query.is_all

    def list(self, field: str | None = None) -> list:
        """Records in query order, or the values of ``field`` (LaminDB's ``qs.list("name")``)."""
        if field is not None:
            return self.values_list(field, flat=True)
        return self.model._from_arrow(self.to_arrow(), self.instance)

    def to_list(self, field: str | None = None) -> list:
        """Same as ``list`` (LaminDB 2.x name)."""
        return self.list(field)

    def __iter__(self) -> Iterator[Record]:
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

    def first(self) -> Record | None:
        """The first record (by id unless ordered), or None."""
        rows = self[:1].list() if not self._query.is_sliced else self.list()[:1]
        return rows[0] if rows else None

    def last(self) -> Record | None:
        """The last record (by id unless ordered), or None."""
        if self._query.is_sliced or (self._query.rank is not None and not self._query.ordering):
            rows = self.list()
            return rows[-1] if rows else None
        rows = self._clone(self._query.reverse_ordering()[:1]).list()
        return rows[0] if rows else None

    def one(self) -> Record:
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

    def one_or_none(self) -> Record | None:
        """One record or None; ``MultipleResultsFound`` if several match."""
        rows = self._clone(self._query.slice(0, 2)).list()
        if len(rows) > 1:
            raise self.model.MultipleObjectsReturned(
                f"{self.model.__name__} query matched more than one record; narrow the filter or use .first()"
            )
        return rows[0] if rows else None

    def get(self, idlike: int | str | None = None, **expressions: Any) -> Record:
        """One record of this query set by id (int), uid or uid prefix (str), or by expressions."""
        if idlike is not None and expressions:
            raise InvalidArgument(f"{self.model.__name__}.get() takes either an id/uid or field expressions, not both")
        if idlike is not None and self._is_all():
            from .record import get

            return get(self.model, idlike, self.instance)
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
        from .record import check_permanent

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
        from .record import delete_records

        # rows, what cascades from them and their link rows: all or nothing
        with self.instance.transaction() as tx:
            n = delete_records(self.model, np.asarray(ids, np.int64), self.instance, tx)
        return n

    # -- column access ---------------------------------------------------------------------
    def _values_table(self, fields: Sequence[str]) -> pa.Table:
        fields = list(fields) or [c for c in self.model._schema.columns]
        from .fields import field_name

        fields = [field_name(f) for f in fields]
        return self._run(self._compile("values", columns=fields))

    def values(self, *fields: str) -> list[dict]:
        """Rows as dicts of the given fields (default: all columns); forward relations allowed."""
        return self._values_table(fields).to_pylist()

    def values_list(self, *fields: str, flat: bool = False) -> list:
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
        from .describe import describe_queryset

        return describe_queryset(self, return_str=return_str)

    def to_dataframe(
        self,
        include: str | Sequence[str] | None = None,
        join: str = "left",
        limit: int | None = DF_LIMIT,
        order_by: str | None = "-id",
        features=None,
    ) -> pd.DataFrame:
        """LaminDB 2.x's name for :meth:`df` (same parameters, same result).

        Examples
        --------
        >>> ln.ULabel(name="frame").save().uid is not None
        True
        >>> ln.ULabel.filter(name="frame").to_dataframe()["name"].tolist()
        ['frame']
        """
        return self.df(include=include, join=join, limit=limit, order_by=order_by, features=features)

    def _df_columns(self, table: pa.Table) -> list[str]:
        schema = self.model._schema
        plain, fks = [], []
        for f in schema.fields.values():
            if f.column is None or f.name in ("id", "uid", "updated_at"):
                continue
            (fks if f.kind == "fk" else plain).append(f.column)
        cols = ["id", "uid", *plain, *fks]
        if "score" in table.column_names:
            cols.append("score")
        return cols

    def _with_include(self, table: pa.Table, paths: list[str], join: str) -> pa.Table:
        compiled = compile_include(_schemas(), self.model.__name__, paths, join)
        ids = pa.table({"id": table.column("id"), "pos": pa.array(np.arange(table.num_rows, dtype=np.int64))})
        compiled.tables[IDS_TABLE] = ids
        extra = self.instance.engine.execute(compiled.sql, compiled.params, compiled.tables)
        if extra.num_rows != table.num_rows:
            table = table.take(extra.column("__pos"))
        for p in paths:
            if p in table.column_names:
                raise FieldError(f"include: '{p}' is already a column of the {self.model.__name__} DataFrame")
            table = table.append_column(p, extra.column(p))
        return table

    # -- search results ----------------------------------------------------------------------
    def _ranked(self, ids: np.ndarray, scores: np.ndarray) -> QuerySet:
        """This query set restricted to ``ids`` in the given order, with a ``score`` per record."""
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        if ids.shape != scores.shape:
            raise InvalidArgument(f"_ranked: {len(ids)} ids but {len(scores)} scores")
        if self._query.is_sliced:
            raise InvalidArgument("cannot rank a sliced query set; rank first, then slice")
        rank = pa.table({"id": ids, "score": scores, "pos": np.arange(len(ids), dtype=np.int64)})
        return self._clone(self._query.with_rank(rank))

    # -- relations ---------------------------------------------------------------------------
    @classmethod
    def related(cls, record: Record, field_spec) -> QuerySet:
        """The records related to ``record`` through ``field_spec`` (``user.created_artifacts``).

        ``field_spec`` is a ``FieldSpec`` of ``record``'s registry (reverse_fk, m2m or
        reverse_m2m) or its name. Lazy: the ids are selected in SQL, not materialised.
        """
        from .record import REGISTRIES

        if isinstance(field_spec, str):
            spec = type(record)._schema.fields.get(field_spec)
            if spec is None:
                raise FieldError(f"{type(record).__name__} has no relation '{field_spec}'")
        else:
            spec = field_spec
        if record.id is None:
            raise ValidationError(f"{type(record).__name__} record is not saved yet; it has no related records")
        target = REGISTRIES[spec.target]
        inst = record._instance or type(record)._resolve_instance()
        qs = QuerySet(target, inst, read_only=inst.read_only)
        if spec.kind == "reverse_fk":
            sel = InSelect(target._schema.table, "id", spec.remote_column, int(record.id))
        elif spec.kind in ("m2m", "reverse_m2m"):
            sel = InSelect(spec.link_table, spec.link_target, spec.link_source, int(record.id))
        elif spec.kind == "fk":
            fk_id = getattr(record, spec.column)
            return qs.filter(id=fk_id) if fk_id is not None else qs.filter(id__in=[])
        else:
            raise FieldError(f"{type(record).__name__}.{spec.name} is not a relation")
        return qs.filter(id__in=sel)

    # -- other instances -----------------------------------------------------------------------
    def connect(self, instance=None, **kwargs) -> QuerySet:
        """LaminDB 2.x's name for :meth:`using`: this query on another instance, read-only.

        Examples
        --------
        >>> ln.ULabel.filter(name="x").connect(None).count()
        0
        """
        return self.using(instance, **kwargs)

    @_ClassOrInstance
    def using(cls, model, current: QuerySet | None, instance=None, *, version=None, as_of=None) -> QuerySet:
        """A read-only query set on another instance: a directory path or a name in ``ln.settings``;
        with ``version=N`` or ``as_of=datetime``, a read-only snapshot of the past.

        >>> ln.ULabel.using("../other").filter(name__startswith="a").df()  # doctest: +SKIP
        """
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
        query = current._query if current is not None else Query(model.__name__)
        return QuerySet(model, inst, read_only=read_only, _query=query)

    # -- curation and search (delegates) ---------------------------------------------------------
    def validate(self, values, field=None, *, mute: bool = False, organism=None, source=None, strict_source=False):
        """Whether each value exists exactly (case-sensitive, no synonyms) in ``field`` of the registry.

        On a query set, only its records count (``ULabel.filter(...).validate(...)``).

        Parameters
        ----------
        values
            A str, a list, a pandas/polars Series or a numpy array of values.
        field
            The field to match, as a name or a field (``bt.CellType.ontology_id``); default: the
            registry's name field (``name``, ``symbol`` for genes, ``handle`` for users).
        mute
            Do not log the summary of what did not validate.
        organism
            For registries with an organism (genes): an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        strict_source
            Accepted for LaminDB 2.x scripts: ``source=`` always restricts the reference here.

        Returns
        -------
        numpy.ndarray of bool, or a numpy bool for a single str.

        See Also
        --------
        inspect : what the non-validated values could be.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="benchmark"), ln.ULabel(name="prediction")])
        >>> ln.ULabel.validate(["benchmark", "Benchmark", "test"], mute=True)
        array([ True, False, False])
        >>> bool(ln.ULabel.validate("prediction"))
        True
        """
        from . import curate

        return curate.validate(self, values, field, mute=mute, organism=organism, source=source)

    def inspect(
        self,
        values,
        field=None,
        *,
        mute: bool = False,
        organism=None,
        source=None,
        from_source: bool = True,
        strict_source: bool = False,
    ):
        """Which values validate, which map to a record through casing or synonyms, and close matches.

        Parameters
        ----------
        values
            A str, a list, a pandas/polars Series or a numpy array of values.
        field
            The field to match (name or field object); default: the registry's name field.
        mute
            Do not log the report.
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        from_source, strict_source
            Accepted for LaminDB 2.x scripts; inspect only reports what a public source holds
            (it never adds records), and ``source=`` always restricts the reference.

        Returns
        -------
        InspectResult
            ``.validated`` and ``.non_validated`` (unique values, input order),
            ``.synonyms_mapper`` (value -> standardized name), ``.frac_validated``, ``.df``.

        Examples
        --------
        >>> ln.save([bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte"), bt.CellType(name="B cell")])
        >>> res = bt.CellType.inspect(["T cell", "T-cell", "foo"], mute=True)
        >>> res.validated, res.non_validated
        (['T cell'], ['T-cell', 'foo'])
        >>> res.synonyms_mapper
        {'T-cell': 'T cell'}
        """
        from . import curate

        return curate.inspect(self, values, field, mute=mute, organism=organism, source=source)

    def standardize(
        self,
        values,
        field=None,
        *,
        return_field=None,
        return_mapper: bool = False,
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep="first",
        synonyms_field: str = "synonyms",
        organism=None,
        source=None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ):
        """Map synonyms and case variants to the standardized names of ``field``.

        Per value, the first hit wins: an exact match (kept as is), a case-insensitive match
        of ``field`` (unless ``case_sensitive``), a synonym. Values that map to nothing are
        returned unchanged and reported in a warning.

        Parameters
        ----------
        values
            A str (a str is returned), a list, a pandas/polars Series or a numpy array.
        field
            The field holding the standardized names; default: the registry's name field.
        return_field
            Return this field of the matched records instead (e.g. ``"ontology_id"``).
        return_mapper
            Return ``{input: standardized}`` for the values that changed, instead of a list.
        case_sensitive
            Skip the case-insensitive tier.
        mute
            Do not log.
        public_aware
            For bio registries: values not found in the registry are standardized against the
            public source too (LaminDB's ``from_source``).
        keep
            When a synonym belongs to several records: ``"first"``, ``"last"`` (by id) or
            ``False`` (a list of all their names).
        synonyms_field
            The field with ``|``-separated synonyms; ``None`` turns synonym matching off.
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        from_source
            LaminDB 2.x's name for ``public_aware`` (it wins when given).
        strict_source
            Accepted for LaminDB 2.x scripts: ``source=`` always restricts the reference here.

        Returns
        -------
        list, str or dict
            Standardized values in input order (a str for a str), or the mapper.

        Examples
        --------
        >>> ln.save([bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte"), bt.CellType(name="B cell")])
        >>> bt.CellType.standardize(["T-cell", "t cell", "B cell", "foo"], mute=True, public_aware=False)
        ['T cell', 'T cell', 'B cell', 'foo']
        >>> bt.CellType.standardize(["T lymphocyte", "b CELL"], return_mapper=True, mute=True, public_aware=False)
        {'T lymphocyte': 'T cell', 'b CELL': 'B cell'}
        """
        from . import curate

        if from_source is not None:
            public_aware = bool(from_source)
        return curate.standardize(
            self,
            values,
            field,
            return_field=return_field,
            return_mapper=return_mapper,
            case_sensitive=case_sensitive,
            mute=mute,
            public_aware=public_aware,
            keep=keep,
            synonyms_field=synonyms_field,
            organism=organism,
            source=source,
        )

    def from_values(self, values, field=None, create: bool = False, organism=None, source=None, mute: bool = False):
        """Records for a list of values: the saved ones (synonyms and casing resolved), and with
        ``create=True`` new unsaved records for the rest.

        Parameters
        ----------
        values
            A list, a pandas/polars Series or a numpy array of values.
        field
            The field the values are of; default: the registry's name field.
        create
            Build a new record for every value not found (save them with ``.save()``).
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        mute
            Do not log.

        Returns
        -------
        RecordList
            A list of records with ``.save()`` and ``.df()``.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="benchmark")])
        >>> [r.name for r in ln.ULabel.from_values(["benchmark", "new one"], mute=True)]
        ['benchmark']
        >>> records = ln.ULabel.from_values(["benchmark", "new one"], create=True, mute=True)
        >>> [r.name for r in records.save()]
        ['benchmark', 'new one']
        >>> ln.ULabel.filter().count()
        2
        """
        from . import curate

        return curate.from_values(self, values, field, create=create, organism=organism, source=source, mute=mute)

    def lookup(self, field=None, return_field=None, keep="first"):
        """An object with one attribute per value of ``field``, for tab completion (``lookup().t_cell``).

        Attribute names are the values lower-cased with non-alphanumerics as ``_`` (``"T cell"``
        -> ``t_cell``; a leading digit gets the ``ln_``/``bt_`` prefix; keywords a trailing ``_``).

        Parameters
        ----------
        field
            The field whose values name the attributes; default: the registry's name field.
        return_field
            Give this field of the record instead of the record.
        keep
            For values that normalise to the same attribute: ``"first"``, ``"last"`` or
            ``False`` (a list).

        Returns
        -------
        Lookup
            Attribute access, plus ``.dict()`` from raw values to records.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="T cell"), ln.ULabel(name="1st label")])
        >>> labels = ln.ULabel.lookup()
        >>> labels.t_cell.name, labels.ln_1st_label.name
        ('T cell', '1st label')
        >>> ln.ULabel.lookup(return_field="uid").t_cell == labels.t_cell.uid
        True
        """
        from . import curate

        return curate.lookup(self, field, return_field, keep=keep)

    def search(self, string, *, field=None, limit: int | None = 20, case_sensitive: bool = False):
        """Records ranked by how well their text fields match ``string``: exact and synonym hits
        first, then word and substring matches, then typo-tolerant ones.

        Parameters
        ----------
        string
            The query.
        field
            A field or list of fields to search; default: every text field.
        limit
            At most this many records (``None``: all matches).
        case_sensitive
            Match case exactly.

        Returns
        -------
        QuerySet
            Ordered by score; ``.df()`` shows the ``score`` column.

        Examples
        --------
        >>> ln.save([ln.ULabel(name=n) for n in ["lymphocyte", "T cell", "B cell"]])
        >>> ln.ULabel.search("lymphocite").to_list("name")[0]
        'lymphocyte'
        >>> ln.ULabel.search("cell", limit=2).count()
        2
        """
        from .search import search

        return search(self, string, field=field, limit=limit, case_sensitive=case_sensitive)


def open_read_only(spec) -> Instance:
    """Resolve ``spec`` (an Instance, a directory, or a name registered in settings) read-only.

    One read-only ``Instance`` per directory is kept for the process, so repeated
    ``using(...)`` calls share its snapshots and DuckDB tables.
    """
    from .settings import settings

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


__all__ = ["QuerySet", "open_read_only"]
