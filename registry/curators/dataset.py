"""What a curator reads and writes: one interface over pandas, polars, Arrow, files and AnnData.

A curator needs two things from a dataset: the distinct values of a column with how many
rows hold each (validation costs per distinct value, never per row), and a copy of the data
with some values replaced (standardize). Each kind of input does both in its own
vectorised way:

* pandas: categoricals use their categories and a ``bincount`` of the codes; other columns
  are factorized once (``pd.factorize``), and replacement maps the uniques then gathers.
* polars / Arrow: ``value_counts`` and ``replace`` (Categorical columns count by code).
* Parquet / CSV / TSV paths: never loaded whole. Distinct values are counted batch by batch
  (pyarrow's streaming readers, a progress bar on large files) and merged, so memory is the
  number of distinct values, not rows; replacement is a polars lazy scan sunk to the output.
* ``.h5ad``: read with anndata in backed mode (``obs``/``var`` in memory, ``X`` stays on disk).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ..errors import InvalidArgument

# files with more rows (or bytes, for text files) than this get a progress bar by default
PROGRESS_ROWS = 2_000_000
PROGRESS_BYTES = 200_000_000
BATCH_ROWS = 1_000_000
# merge the per-batch counts whenever this many partial rows have piled up (bounds memory)
MERGE_ROWS = 4_000_000

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
H5AD_SUFFIXES = {".h5ad"}


def file_kind(path: str | os.PathLike) -> str:
    """``"parquet"``, ``"csv"``, ``"tsv"`` or ``"h5ad"`` from the file name, else InvalidArgument."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst", ".bz2") and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in H5AD_SUFFIXES:
        return "h5ad"
    if suffix == ".csv":
        return "csv"
    if suffix in (".tsv", ".txt"):
        return "tsv"
    raise InvalidArgument(
        f"cannot tell the format of '{path}' from its extension {suffix or '(none)'}; use .parquet, .csv, .tsv or .h5ad"
    )


def require_anndata():
    try:
        import anndata
    except ImportError:  # pragma: no cover - depends on the environment
        raise InvalidArgument(
            "reading AnnData needs the optional dependency anndata; install it with pip install 'registry[anndata]'"
        ) from None
    return anndata


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema={"value": pl.String, "count": pl.Int64})


def counts_of(series: pl.Series) -> tuple[pl.DataFrame, int]:
    """``(value, count)`` per distinct non-missing value, and how many values are missing.

    Missing means null or ``""`` (neither is a term, as in ``inspect``). Categorical
    columns are counted by code, so the cost is per row only in C.
    """
    n = len(series)
    if n == 0:
        return _empty_counts(), 0
    vc = series.value_counts(sort=False, name="count")
    vc = vc.rename({series.name: "value"}) if series.name != "value" else vc
    dtype = vc.schema["value"]
    if isinstance(dtype, (pl.Categorical, pl.Enum)) or dtype == pl.Null:
        vc = vc.with_columns(pl.col("value").cast(pl.String))
    vc = vc.with_columns(pl.col("count").cast(pl.Int64))
    missing = vc.filter(pl.col("value").is_null())
    if vc.schema["value"] == pl.String:
        missing = vc.filter(pl.col("value").is_null() | (pl.col("value") == ""))
        vc = vc.filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    else:
        vc = vc.filter(pl.col("value").is_not_null())
    n_missing = int(missing.get_column("count").sum()) if missing.height else 0
    return vc, n_missing


def dictionary_counts(arr: pa.DictionaryArray) -> tuple[pl.DataFrame, int]:
    """``counts_of`` for a dictionary-encoded Arrow array: a bincount of its codes."""
    indices = arr.indices
    n_null = indices.null_count
    if n_null:
        import pyarrow.compute as pc

        indices = pc.drop_null(indices)
    counts = np.bincount(
        np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64), minlength=len(arr.dictionary)
    )
    values = pl.Series("value", arr.dictionary)
    if values.dtype != pl.String:
        values = values.cast(pl.String)
    vc = pl.DataFrame({"value": values, "count": pl.Series(counts, dtype=pl.Int64)}).filter(pl.col("count") > 0)
    vc, n_missing = _drop_missing(vc)
    return vc.group_by("value").agg(pl.col("count").sum()) if vc.height != vc.get_column(
        "value"
    ).n_unique() else vc, n_missing + n_null


def merge_counts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    if not parts:
        return _empty_counts()
    if len(parts) == 1:
        return parts[0]
    return pl.concat(parts, how="vertical_relaxed").group_by("value").agg(pl.col("count").sum())


class Progress:
    """A rich progress bar on stderr for long scans (silent when ``enabled`` is False)."""

    def __init__(self, description: str, total: float, enabled: bool):
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task(description, total=total)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def update(self, completed: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=completed)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


# -- the adapters -----------------------------------------------------------------------------
class Dataset:
    """Base: a tabular dataset whose columns a curator validates and standardizes."""

    kind = "?"

    def columns(self) -> list[str]:
        raise NotImplementedError

    def column_counts(self, keys: list[str], progress: bool | None = None) -> dict[str, tuple[pl.DataFrame, int]]:
        """Per key: distinct values with row counts, and the number of missing values."""
        raise NotImplementedError

    def replaced(self, mappers: dict[str, dict]) -> Any:
        """A copy of the data (same type) with each key's values mapped (others unchanged)."""
        raise NotImplementedError

    @property
    def result(self) -> Any:
        """The data as currently held (after any ``replace_inplace``), in the caller's type."""
        raise NotImplementedError

    def replace_inplace(self, mappers: dict[str, dict]) -> None:
        """Apply ``mappers`` to the held data (in the caller's object where it is mutable)."""
        self.data = self.replaced(mappers)

    def write(self, out: str | os.PathLike, mappers: dict[str, dict] | None = None) -> Path:
        """Write the data (with ``mappers`` applied) to ``out``; format from its extension."""
        out = Path(out)
        data = self.replaced(mappers or {})
        frame = data if isinstance(data, (pl.DataFrame, pl.LazyFrame)) else pl.from_pandas(data)
        write_frame(frame, out)
        return out

    def check_keys(self, keys) -> None:
        cols = self.columns()
        missing = [k for k in keys if k not in cols]
        if missing:
            from ..errors import did_you_mean

            k = missing[0]
            raise InvalidArgument(
                f"the dataset has no column {k!r}" + (did_you_mean(k, cols) or f"; columns are: {', '.join(cols[:20])}")
            )


def write_frame(frame: pl.DataFrame | pl.LazyFrame, out: Path) -> None:
    """Write a polars frame by extension; a LazyFrame is streamed (``sink_*``)."""
    kind = file_kind(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(out)
        else:
            frame.write_parquet(out)
    elif kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        if isinstance(frame, pl.LazyFrame):
            frame.sink_csv(out, separator=sep)
        else:
            frame.write_csv(out, separator=sep)
    else:
        raise InvalidArgument(f"cannot write a table to '{out}'; use .parquet, .csv or .tsv")


def _replace_expr(name: str, dtype, mapper: dict) -> pl.Expr:
    old = pl.Series(list(mapper.keys()), dtype=pl.String)
    new = pl.Series(list(mapper.values()), dtype=pl.String)
    col = pl.col(name)
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        return col.cast(pl.String).replace(old, new).cast(pl.Categorical).alias(name)
    return col.replace(old, new).alias(name)


class PolarsDataset(Dataset):
    """A polars DataFrame (or an Arrow table, converted zero-copy and converted back)."""

    def __init__(self, data: pl.DataFrame, arrow: bool = False):
        self.data = data
        self.arrow = arrow
        self.kind = "arrow" if arrow else "polars"

    def columns(self) -> list[str]:
        return list(self.data.columns)

    def column_counts(self, keys, progress=None):
        return {k: counts_of(self.data.get_column(k)) for k in keys}

    def _replaced_pl(self, mappers) -> pl.DataFrame:
        exprs = [_replace_expr(k, self.data.schema[k], m) for k, m in mappers.items() if m]
        return self.data.with_columns(exprs) if exprs else self.data

    def replaced(self, mappers):
        out = self._replaced_pl(mappers)
        return out.to_arrow() if self.arrow else out

    def replace_inplace(self, mappers) -> None:
        self.data = self._replaced_pl(mappers)

    def write(self, out, mappers=None) -> Path:
        out = Path(out)
        write_frame(self._replaced_pl(mappers or {}), out)
        return out

    @property
    def result(self):
        return self.data.to_arrow() if self.arrow else self.data


class PandasDataset(Dataset):
    """A pandas DataFrame; ``replace_inplace`` assigns columns in the caller's frame."""

    kind = "pandas"

    def __init__(self, data):
        self.data = data

    def _label(self, key: str):
        """The frame's own column label for ``key`` (labels may be ints; keys are their text)."""
        if key in self.data.columns:
            return key
        return next(c for c in self.data.columns if str(c) == key)

    def columns(self) -> list[str]:
        return [str(c) for c in self.data.columns]

    def column_counts(self, keys, progress=None):
        return {k: pandas_counts(self.data[self._label(k)]) for k in keys}

    def replaced(self, mappers):
        out = self.data.copy(deep=False)
        for k, m in mappers.items():
            if m:
                label = self._label(k)
                out[label] = pandas_replaced(self.data[label], m)
        return out

    def replace_inplace(self, mappers) -> None:
        for k, m in mappers.items():
            if m:
                label = self._label(k)
                self.data[label] = pandas_replaced(self.data[label], m)

    @property
    def result(self):
        return self.data


def pandas_counts(s) -> tuple[pl.DataFrame, int]:
    """Distinct values and counts of a pandas Series or Index (categoricals by code)."""
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = np.asarray(s.cat.codes if isinstance(s, pd.Series) else s.codes, dtype=np.int64)
        cats = s.cat.categories if isinstance(s, pd.Series) else s.categories
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(cats))
        used = np.flatnonzero(counts)
        values = _text_series(pd.Series(np.asarray(cats)[used]))
        vc = pl.DataFrame({"value": values, "count": pl.Series(counts[used], dtype=pl.Int64)})
        vc, n_missing = _drop_missing(vc)
        return vc, n_missing + int((~present).sum())
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques))
    vc = pl.DataFrame(
        {"value": _text_series(pd.Series(np.asarray(uniques))), "count": pl.Series(counts, dtype=pl.Int64)}
    )
    vc, n_missing = _drop_missing(vc)
    return vc, n_missing + int((~present).sum())


def _text_series(s) -> pl.Series:
    """Distinct pandas values as a polars Series (strings stay strings; other types as they are)."""
    try:
        out = pl.from_pandas(s, nan_to_null=True)
    except Exception:  # noqa: BLE001 - mixed objects: compare as text
        out = pl.Series([None if v is None else str(v) for v in s.tolist()], dtype=pl.String)
    if isinstance(out.dtype, (pl.Categorical, pl.Enum)) or out.dtype == pl.Null:
        out = out.cast(pl.String)
    return out.alias("value")


def _drop_missing(vc: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    if vc.schema["value"] == pl.String:
        miss = pl.col("value").is_null() | (pl.col("value") == "")
    else:
        miss = pl.col("value").is_null()
    n = int(vc.filter(miss).get_column("count").sum() or 0)
    return vc.filter(~miss), n


def pandas_replaced(s, mapper: dict):
    """``s`` with ``mapper`` applied, per distinct value (categoricals stay categorical)."""
    import pandas as pd

    if not mapper:
        return s
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = np.asarray(s.cat.categories, dtype=object)
        if len(cats) == 0:
            return s
        new = pd.Series(cats, dtype=object).replace(mapper).to_numpy(dtype=object)
        remap, uniq = pd.factorize(new)  # two categories may now be one
        codes = np.asarray(s.cat.codes, dtype=np.int64)
        new_codes = np.where(codes >= 0, np.asarray(remap, dtype=np.int64)[np.maximum(codes, 0)], -1)
        return pd.Series(pd.Categorical.from_codes(new_codes, categories=pd.Index(uniq)), index=s.index, name=s.name)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = pd.Index(uniques).to_series().replace(mapper).to_numpy(dtype=object)
    out = s.to_numpy(dtype=object, copy=True)
    at = codes >= 0
    out[at] = mapped[codes[at]]
    return pd.Series(out, index=s.index, name=s.name)


class FileDataset(Dataset):
    """A Parquet, CSV or TSV file, never loaded whole."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no such file: '{self.path}'")
        self.kind = file_kind(self.path)
        if self.kind == "h5ad":
            raise InvalidArgument(f"'{self.path}' is an AnnData file; use AnnDataCurator")
        self.separator = "," if self.kind == "csv" else "\t"
        self._columns: list[str] | None = None

    def columns(self) -> list[str]:
        if self._columns is None:
            self._columns = list(self.lazy().collect_schema().names())
        return self._columns

    def lazy(self, keys: list[str] | None = None) -> pl.LazyFrame:
        if self.kind == "parquet":
            return pl.scan_parquet(self.path)
        # key columns are text: "007" must stay "007", not become 7
        overrides = {k: pl.String for k in keys or []}
        return pl.scan_csv(self.path, separator=self.separator, schema_overrides=overrides or None)

    def column_counts(self, keys, progress=None):
        parts: dict[str, list[pl.DataFrame]] = {k: [] for k in keys}
        missing = dict.fromkeys(keys, 0)
        pending = 0

        def absorb(batch: pa.RecordBatch) -> None:
            nonlocal pending
            for k in keys:
                col = batch.column(batch.schema.get_field_index(k))
                if pa.types.is_dictionary(col.type):
                    vc, n_miss = dictionary_counts(col)
                else:
                    vc, n_miss = counts_of(pl.Series(k, col))
                parts[k].append(vc)
                missing[k] += n_miss
                pending += vc.height
            if pending > MERGE_ROWS:
                for k in keys:
                    parts[k] = [merge_counts(parts[k])]
                pending = sum(p[0].height for p in parts.values())

        if self.kind == "parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(self.path)
            # text columns come back dictionary-encoded (as Parquet stores them): counting is
            # then a bincount of the codes, and no string is materialised per row
            text = [
                k
                for k in keys
                if pa.types.is_string(schema.field(k).type) or pa.types.is_large_string(schema.field(k).type)
            ]
            pf = pq.ParquetFile(self.path, read_dictionary=text)
            total = pf.metadata.num_rows
            show = total >= PROGRESS_ROWS if progress is None else progress
            done = 0
            with Progress(f"counting values in {self.path.name}", total, show) as bar:
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(keys)):
                    absorb(batch)
                    done += batch.num_rows
                    bar.update(done)
        else:
            import pyarrow.csv as pacsv

            size = self.path.stat().st_size
            show = size >= PROGRESS_BYTES if progress is None else progress
            with open(self.path, "rb") as fh, Progress(f"counting values in {self.path.name}", size, show) as bar:
                reader = pacsv.open_csv(
                    fh,
                    read_options=pacsv.ReadOptions(block_size=16 << 20),
                    parse_options=pacsv.ParseOptions(delimiter=self.separator),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=list(keys), column_types={k: pa.string() for k in keys}
                    ),
                )
                for batch in reader:
                    absorb(batch)
                    bar.update(fh.tell())
        return {k: (merge_counts(parts[k]), missing[k]) for k in keys}

    def replaced(self, mappers) -> pl.LazyFrame:
        keys = list(mappers)
        lf = self.lazy(keys)
        schema = lf.collect_schema()
        exprs = [_replace_expr(k, schema[k], m) for k, m in mappers.items() if m]
        return lf.with_columns(exprs) if exprs else lf

    def write(self, out, mappers=None) -> Path:
        out = Path(out)
        if out.resolve() == self.path.resolve():
            raise InvalidArgument(f"refusing to overwrite the input '{out}' while reading it; write to another file")
        write_frame(self.replaced(mappers or {}), out)
        return out

    @property
    def result(self) -> pl.LazyFrame:
        return self.lazy()


def as_dataset(data) -> Dataset:
    """Wrap what the user passed (DataFrame, Arrow table, path) in a Dataset."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return FileDataset(data)
    if isinstance(data, pl.DataFrame):
        return PolarsDataset(data)
    if isinstance(data, pl.LazyFrame):
        raise InvalidArgument("pass a file path (scanned lazily) or a collected DataFrame, not a LazyFrame")
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        frame = pl.from_arrow(data if isinstance(data, pa.Table) else pa.Table.from_batches([data]))
        assert isinstance(frame, pl.DataFrame)  # a table converts to a frame
        return PolarsDataset(frame, arrow=True)
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and hasattr(data, "columns"):
        return PandasDataset(data)
    if module == "anndata":
        raise InvalidArgument("this is an AnnData object; use ln.curators.AnnDataCurator(adata, obs={...})")
    raise InvalidArgument(
        f"cannot curate a {type(data).__name__}; pass a pandas or polars DataFrame, an Arrow table, "
        f"or a path to a .parquet, .csv, .tsv file"
    )
