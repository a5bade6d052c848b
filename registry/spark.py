"""Bulk validation on Spark: ``validate``, ``standardize`` and ``inspect`` a column of a Spark DataFrame.

The reference index (``curate.matching.ReferenceIndex``) is built once on the driver from the
registry, every structure the call needs is built there, and the whole index is broadcast.
Each partition then runs, batch by batch through Arrow (``DataFrame.mapInArrow``), the very
functions the single-machine ``validate``/``standardize``/``inspect`` run, so the results are
the same value for value:

* ``validate(df, column, field)``: ``df`` with a boolean column (default ``<column>_validated``).
* ``standardize(df, column, field)``: ``df`` with the column standardized (or written to
  ``output``); per batch, ``standardize_values(..., return_mapper=True)`` maps the batch's
  distinct values and one polars ``replace`` applies the mapping.
* ``inspect(df, column, field)``: an ``InspectResult`` on the driver. Partitions reduce the
  column to its distinct values with their first position and count (the data-heavy part);
  Spark merges them; the driver inspects the distinct values in first-occurrence order
  (``.df`` holds one row per distinct value, not one per input row).

The batch functions take and return Arrow, so ``registry.spark.dask_validate`` etc. reuse them
through ``map_partitions`` (pandas partitions go through Arrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from .curate.inputs import as_values
from .curate.matching import ReferenceIndex, check_keep
from .curate.scope import Scope, resolve
from .errors import InvalidArgument

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

__all__ = ["validate", "standardize", "inspect", "read_delta", "Plan", "plan"]


# -- the driver side: one picklable plan per call ------------------------------------------------
class Plan:
    """What a partition needs: the reference index (every structure prebuilt) and the options.

    Built once on the driver and broadcast; it holds only the columns the matchers read, so a
    10^5-record registry ships a few MB.
    """

    scope: Scope  # driver only (not pickled, see __getstate__), set by plan()
    field: str  # the resolved field name, set by plan()

    def __init__(
        self,
        index: ReferenceIndex,
        *,
        kind: str,
        label: str,
        synonyms: bool,
        case_sensitive: bool = False,
        keep="first",
        return_field: str | None = None,
        need: str = "validate",
    ):
        self.index = index
        self.kind = kind
        self.label = label
        self.synonyms = synonyms
        self.case_sensitive = case_sensitive
        self.keep = keep
        self.return_field = return_field
        # build on the driver what the partitions will use, so no worker builds it again
        index.name_index()
        if need != "validate":
            if not case_sensitive:
                index.lower_index()
            if synonyms and index.synonyms_field is not None:
                index.synonym_index(case_sensitive)
        index._settled()  # background builds finished: no futures in the pickle

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("scope", None)
        return state

    def values(self, arr) -> Any:
        """An Arrow array of one batch as the single-machine ``Values`` (same checks, same errors)."""
        s = pl.Series("value", arr)
        if s.dtype == pl.Null:
            s = s.cast(pl.String)
        return as_values(s, self.kind, field_label=self.label)

    # -- per batch (Arrow in, Arrow out) ----------------------------------------------------------
    def validate_batch(self, arr) -> pa.Array:
        from .curate.validation import validate_values

        vals = self.values(arr)
        if len(vals) == 0 or len(self.index) == 0:
            return pa.array(np.zeros(len(vals), dtype=bool))
        return pa.array(validate_values(self.index, vals))

    def standardize_batch(self, arr) -> pa.Array:
        from .curate.standardization import standardize_values

        vals = self.values(arr)
        s = vals.series
        if len(s) == 0 or len(self.index) == 0:
            return s.to_arrow()
        mapper = standardize_values(
            self.index,
            vals,
            return_field=self.return_field,
            return_mapper=True,
            case_sensitive=self.case_sensitive,
            keep=self.keep,
            synonyms=self.synonyms,
        ).result
        if mapper:
            s = s.replace(list(mapper.keys()), list(mapper.values()))
        return s.to_arrow()

    @staticmethod
    def distinct_batch(arr, positions) -> pa.Table:
        """The batch's distinct values (nulls as one row) with their first position and count."""
        df = pl.DataFrame({"value": pl.Series(arr).cast(pl.String), "pos": pl.Series(positions)})
        out = df.group_by("value").agg(pl.col("pos").min(), pl.len().cast(pl.Int64).alias("n"))
        return out.to_arrow()


def plan(
    field,
    *,
    registry=None,
    organism=None,
    source=None,
    need: str = "validate",
    case_sensitive: bool = False,
    keep="first",
    return_field=None,
    synonyms_field: str | None = "synonyms",
) -> Plan:
    """Resolve ``field`` (``bt.CellType.name``, or a name with ``registry=``) into a broadcastable Plan.

    The tiers follow the single-machine entry points: ``validate`` uses the exact tier only,
    ``inspect`` consults synonyms when LaminDB does (the registry's name field), ``standardize``
    takes ``case_sensitive``, ``keep``, ``return_field`` and ``synonyms_field`` as it does.
    """
    from .fields import field_name

    scope = registry if registry is not None else getattr(field, "model", None)
    if scope is None:
        raise InvalidArgument(
            f"cannot tell the registry of field {field!r}; pass a field such as bt.CellType.name, "
            "or registry=bt.CellType (or a QuerySet)"
        )
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    label = f"{sc.model.__name__}.{fname}"
    if need == "standardize":
        check_keep(keep)
        if keep is False:
            raise InvalidArgument(
                "keep=False returns lists for ambiguous synonyms, which do not fit one column; "
                "use keep='first' or 'last' on Spark"
            )
        syn_name = field_name(synonyms_field) if synonyms_field else None
        if syn_name is not None and syn_name != "synonyms" and not sc.has_field(syn_name):
            sc.field(syn_name)  # FieldError with a did-you-mean
        syn = (
            syn_name
            if (syn_name and fname == sc.schema.name_field and sc.has_field(syn_name) and syn_name != fname)
            else None
        )
    else:
        syn = sc.synonyms_for(fname)
    ret = sc.field(return_field) if return_field is not None else None
    cols = [sc.column(fname)]
    if syn:
        cols.append(sc.column(syn))
    if ret is not None and sc.column(ret) not in cols:
        cols.append(sc.column(ret))
    if sc.has_field("uid") and sc.column("uid") not in cols:
        cols.append(sc.column("uid"))
    frame = sc.frame.select(cols).rechunk()
    index = ReferenceIndex(frame, sc.column(fname), sc.column(syn) if syn else None)
    p = Plan(
        index,
        kind=sc.kind(fname),
        label=label,
        synonyms=syn is not None and need != "validate",
        case_sensitive=case_sensitive,
        keep=keep,
        return_field=sc.column(ret) if ret else None,
        need=need,
    )
    p.scope, p.field = sc, fname
    return p


# -- Spark -----------------------------------------------------------------------------------
def _spark():
    try:
        import pyspark.sql.functions as F  # noqa: N812
        from pyspark.sql import types as T  # noqa: N812
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("registry.spark needs pyspark: pip install 'registry[spark]'") from e
    return F, T


def _check_column(df, column: str) -> None:
    if column not in df.columns:
        raise InvalidArgument(f"the DataFrame has no column {column!r}; columns are {df.columns}")


def _map_column(df: DataFrame, column: str, output: str, out_type, fn, broadcast) -> DataFrame:
    """``df`` with ``output`` = ``fn(plan, column batch)``, per Arrow batch on the executors."""
    F, T = _spark()
    fields = [f for f in df.schema.fields if f.name != output]
    idx = next(i for i, f in enumerate(df.schema.fields) if f.name == column)
    replace = output in df.columns
    if replace:
        schema = T.StructType(
            [T.StructField(output, out_type, True) if f.name == output else f for f in df.schema.fields]
        )
    else:
        schema = T.StructType(fields + [T.StructField(output, out_type, True)])

    def run(batches):
        p = broadcast.value
        for batch in batches:
            col = fn(p, batch.column(idx))
            if replace:
                cols = [col if name == output else batch.column(i) for i, name in enumerate(batch.schema.names)]
                yield pa.RecordBatch.from_arrays(cols, names=batch.schema.names)
            else:
                yield pa.RecordBatch.from_arrays([*batch.columns, col], names=[*batch.schema.names, output])

    return df.mapInArrow(run, schema)


def validate(
    df: DataFrame, column: str, field, *, registry=None, output: str | None = None, organism=None, source=None
) -> DataFrame:
    """``df`` with a boolean column ``output`` (default ``<column>_validated``): is the value exactly a
    value of ``field`` (``bt.CellType.name``)? Equal to ``Registry.validate(values)`` value for value.

    Lazy, like every Spark transformation: nothing runs until an action (``count``, ``write``).
    """
    F, T = _spark()
    _check_column(df, column)
    p = plan(field, registry=registry, organism=organism, source=source, need="validate")
    b = df.sparkSession.sparkContext.broadcast(p)
    return _map_column(df, column, output or f"{column}_validated", T.BooleanType(), Plan.validate_batch, b)


def standardize(
    df: DataFrame,
    column: str,
    field,
    *,
    registry=None,
    output: str | None = None,
    return_field=None,
    case_sensitive: bool = False,
    keep="first",
    synonyms_field="synonyms",
    organism=None,
    source=None,
) -> DataFrame:
    """``df`` with ``column`` (or a new column ``output``) mapped to the registry's standardized names
    (exact, casing, synonyms; unmatched values unchanged), as ``Registry.standardize(values)``."""
    F, T = _spark()
    _check_column(df, column)
    p = plan(
        field,
        registry=registry,
        organism=organism,
        source=source,
        need="standardize",
        case_sensitive=case_sensitive,
        keep=keep,
        return_field=return_field,
        synonyms_field=synonyms_field,
    )
    if p.kind != "str" or (p.return_field is not None and p.index.frame.schema[p.return_field] != pl.String):
        raise InvalidArgument(f"Spark standardize maps text to text; {p.label} (return_field={return_field!r}) is not")
    b = df.sparkSession.sparkContext.broadcast(p)
    return _map_column(df, column, output or column, T.StringType(), Plan.standardize_batch, b)


def inspect(df: DataFrame, column: str, field, *, registry=None, mute: bool = False, organism=None, source=None):
    """An ``InspectResult`` for ``df[column]``, equal to ``Registry.inspect(values)`` (lists, mapper,
    counts, table); ``.df`` has one row per distinct value. Runs one Spark job."""
    from .curate.validation import _log_inspect, inspect_values

    F, T = _spark()
    _check_column(df, column)
    p = plan(field, registry=registry, organism=organism, source=source, need="inspect")
    sc = p.scope
    schema = T.StructType(
        [
            T.StructField("value", T.StringType(), True),
            T.StructField("pos", T.LongType(), True),
            T.StructField("n", T.LongType(), True),
        ]
    )

    def run(batches):
        for batch in batches:
            t = Plan.distinct_batch(batch.column(0), batch.column(1))
            yield from t.to_batches()

    # monotonically_increasing_id grows with partition, then row: the collected order
    positioned = df.select(F.col(column).cast("string").alias("value"), F.monotonically_increasing_id().alias("pos"))
    merged = positioned.mapInArrow(run, schema).groupBy("value").agg(F.min("pos").alias("pos"), F.sum("n").alias("n"))
    rows = pl.from_arrow(_to_arrow(merged))
    assert isinstance(rows, pl.DataFrame)  # a table converts to a frame
    total = int(rows.get_column("n").sum()) if rows.height else 0
    distinct = rows.filter(pl.col("value").is_not_null()).sort("pos").get_column("value")
    vals = p.values(distinct.to_arrow())
    result = inspect_values(p.index, vals, synonyms=p.synonyms, uid_column="uid" if sc.has_field("uid") else None)
    # n_empty counts empty and duplicated inputs, as for the whole column on one machine
    result.n_empty = total - result.n_unique
    if not mute:
        from .curate.reporting import logger

        if total == 0:
            logger.warning("input has zero length")
        elif len(p.index) == 0:
            logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
        elif result.n_unique:
            _log_inspect(result, p.field, sc)
    return result


def _to_arrow(df) -> pa.Table:
    """A (small, aggregated) Spark DataFrame on the driver as Arrow."""
    to_arrow = getattr(df, "toArrow", None)  # pyspark >= 4
    if to_arrow is not None:
        return to_arrow()
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False)  # pragma: no cover


# -- reading a registry's Delta table from a bucket ---------------------------------------------
def read_delta(spark, table_url: str, storage_options: dict | None = None):
    """A Spark DataFrame of the Delta table at ``table_url`` (e.g. ``s3://bucket/prefix/tables/ulabel``).

    Spark's own Delta reader needs the delta-spark and hadoop-aws jars (a download); this reads
    the Parquet files listed by the table's current Delta snapshot (``deltalake``), one Spark
    partition per file, fetched on the executors through the same object-store layer the
    instance uses. The files of a snapshot hold exactly the live rows (copy-on-write), so the
    result has exactly the registry's rows.
    """
    from deltalake import DeltaTable
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.pandas.types import from_arrow_schema

    url = table_url.rstrip("/")
    opts = dict(storage_options or {})
    dt = DeltaTable(url, storage_options=_delta_options(opts) or None)
    # keys relative to the table (file_uris are absolute URLs under it)
    files = [f[len(url) + 1 :] if f.startswith(url + "/") else f for f in dt.file_uris()]
    arrow_schema = pa.schema(dt.schema().to_arrow())
    arrow_schema = pa.schema([f.with_type(pa.string()) if f.type == pa.large_string() else f for f in arrow_schema])
    spark_schema = from_arrow_schema(arrow_schema)

    class _Reader(DataSourceReader):
        def partitions(self):
            return [InputPartition(i) for i in range(len(files))]

        def read(self, partition):
            import pyarrow.parquet as pq

            from .storage.remote import ObjectStore

            store = ObjectStore(url, opts)
            data = store.get(files[partition.value])
            t = pq.read_table(pa.BufferReader(data)).select(arrow_schema.names).cast(arrow_schema)
            yield from t.to_batches()

    class _Source(DataSource):
        @classmethod
        def name(cls):
            return "registry_delta"

        def schema(self):
            return spark_schema

        def reader(self, schema):
            return _Reader()

    spark.dataSource.register(_Source)
    if not files:
        return spark.createDataFrame([], spark_schema)
    return spark.read.format("registry_delta").load()


def _delta_options(opts: dict) -> dict:
    """obstore-style options (``aws_endpoint``) as deltalake's (``AWS_ENDPOINT_URL``), env as fallback."""
    import os

    out = {k.upper(): str(v) for k, v in opts.items()}
    if "AWS_ENDPOINT" in out:
        out["AWS_ENDPOINT_URL"] = out.pop("AWS_ENDPOINT")
    endpoint = out.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and endpoint.startswith("http://"):
        out.setdefault("AWS_ALLOW_HTTP", "true")
        out.setdefault("AWS_ENDPOINT_URL", endpoint)
    return out
