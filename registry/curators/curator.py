"""``DataFrameCurator`` and ``AnnDataCurator``: validate, standardize and extend whole datasets.

One object per dataset, one registry field per column (LaminDB's ``categoricals``). Every
step works on the distinct values of each column and their row counts
(``dataset.Dataset.column_counts``), which the curate matchers (exact, casing, synonyms,
fuzzy suggestions) process in one vectorised call per column; only ``standardize`` touches
rows, with one vectorised replace per column.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import FieldError, InvalidArgument, did_you_mean
from ..logging import logger
from ..model_map import REGISTRIES
from ..record import Record, save
from .dataset import Dataset, as_dataset, pandas_counts, pandas_replaced, require_anndata
from .report import FIXABLE, REPORT_SCHEMA, ColumnReport, build_table


# -- fields -------------------------------------------------------------------------------------
def resolve_field(spec) -> tuple[type[Record], str]:
    """``(Record class, field name)`` from ``bt.CellType.name``, ``"bt.CellType.name"``,
    ``"CellType.name"``, ``"CellType"`` (its name field) or a Record class."""
    if isinstance(spec, type) and issubclass(spec, Record):
        return spec, spec._schema.name_field
    model = getattr(spec, "model", None)
    name = getattr(spec, "name", None)
    if model is not None and isinstance(name, str) and not isinstance(spec, str):
        return model, name
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgument(f"expected a registry field such as bt.CellType.name or 'bt.CellType.name', got {spec!r}")
    parts = spec.strip().split(".")
    if parts[0] in ("ln", "bt", "registry", "bio") and len(parts) > 1:
        parts = parts[1:]
        if parts[0] == "bio" and len(parts) > 1:
            parts = parts[1:]
    if len(parts) > 2:
        raise InvalidArgument(f"cannot read {spec!r}: write REGISTRY.FIELD, e.g. bt.CellType.name or ULabel.name")
    reg = parts[0]
    usable = {k: v for k, v in REGISTRIES.items() if issubclass(v, Record) and not v.__dict__.get("_abstract")}
    model = usable.get(reg) or next((v for k, v in usable.items() if k.lower() == reg.lower()), None)
    if model is None:
        raise InvalidArgument(
            f"no registry {reg!r}" + (did_you_mean(reg, usable) or f"; registries are: {', '.join(sorted(usable))}")
        )
    fname = parts[1] if len(parts) == 2 else model._schema.name_field
    if fname not in model._schema.fields:
        choices = [n for n, f in model._schema.fields.items() if not f.is_relation]
        raise FieldError(
            f"{model.__name__} has no field {fname!r}"
            + (did_you_mean(fname, choices) or f"; fields: {', '.join(choices)}")
        )
    return model, fname


def field_label(model, fname: str) -> str:
    from ..curate.reporting import registry_label

    return f"{registry_label(model)}.{fname}"


# -- the engine shared by both curators ----------------------------------------------------------
class _Curator:
    """Per-column validation state over a Dataset; subclasses say how the dataset is held."""

    def __init__(self, dataset: Dataset, fields: dict[str, Any], *, organism=None, sources=None, progress=None):
        if not isinstance(fields, dict) or not fields:
            raise InvalidArgument("say which registry field each column holds, e.g. {'cell_type': bt.CellType.name}")
        self._dataset = dataset
        self._fields = {str(k): resolve_field(v) for k, v in fields.items()}
        self._organism = organism
        self._sources = dict(sources or {})
        self._progress = progress
        self._reports: dict[str, ColumnReport] = {}
        dataset.check_keys(list(self._fields))

    # -- introspection ------------------------------------------------------------------------
    @property
    def fields(self) -> dict[str, str]:
        """``{column: "bt.CellType.name", ...}``: what each column is validated against."""
        return {k: field_label(m, f) for k, (m, f) in self._fields.items()}

    @property
    def reports(self) -> dict[str, ColumnReport]:
        """One ``ColumnReport`` per column (validating first, if not done yet)."""
        self._ensure(list(self._fields))
        return dict(self._reports)

    def report(self) -> pl.DataFrame:
        """Every column's report as one polars DataFrame: one row per (column, distinct value)."""
        frames = [r.frame() for r in self.reports.values()]
        if not frames:
            return pl.DataFrame(schema={"column": pl.String, "field": pl.String, **REPORT_SCHEMA})
        return pl.concat(frames)

    @property
    def non_validated(self) -> dict[str, list]:
        """``{column: [values not validated]}`` for the columns that have any (LaminDB's property)."""
        return {k: r.non_validated for k, r in self.reports.items() if r.non_validated}

    # -- validate --------------------------------------------------------------------------------
    def validate(self) -> bool:
        """Validate every column; True when every value exists in its field as is.

        Logs one line per column; the per-value detail is in ``reports`` / ``report()``.
        """
        self._reports.clear()
        self._ensure(list(self._fields))
        ok = True
        for key, r in self._reports.items():
            if r.is_valid:
                logger.success(r.summary())
                continue
            ok = False
            logger.warning(r.summary())
            hints = []
            if r.count(*FIXABLE):
                pairs = ", ".join(f"{a!r} → {b!r}" for a, b in list(r.mapper.items())[:5])
                hints.append(f"fix {r.count(*FIXABLE)} via curator.standardize({key!r}) ({pairs})")
            fuzzy = r.table.filter(pl.col("tier") == "fuzzy").head(3)
            if fuzzy.height:
                pairs = ", ".join(
                    f"{v!r} ~ {s!r}"
                    for v, s in zip(fuzzy["value"].to_list(), fuzzy["suggestion"].to_list(), strict=True)
                )
                hints.append(f"typos? {pairs}")
            if r.new:
                hints.append(f"create {len(r.new)} via curator.add_new_from({key!r})")
            logger.important("   " + "; ".join(hints))
        return ok

    def _ensure(self, keys: list[str]) -> None:
        todo = [k for k in keys if k not in self._reports]
        if not todo:
            return
        counts = self._dataset.column_counts(todo, progress=self._progress)
        for k in todo:
            vc, n_missing = counts[k]
            self._reports[k] = self._report(k, vc, n_missing)

    def _report(self, key: str, counts: pl.DataFrame, n_missing: int) -> ColumnReport:
        from ..curate.scope import prepare
        from ..curate.validation import inspect_values

        model, fname = self._fields[key]
        organism = self._organism if "organism" in model._schema.fields else None
        source = self._sources.get(key)
        values = counts.get_column("value")
        sc, fname, index, vals = prepare(model, values, fname, organism=organism, source=source)
        res = inspect_values(
            index, vals, synonyms=index.synonyms_field is not None, uid_column="uid" if sc.has_field("uid") else None
        )
        table = build_table(counts.with_columns(pl.col("value").cast(pl.String)), res.table)
        return ColumnReport(key=key, field=field_label(model, fname), table=table, n_missing=n_missing)

    def _keys(self, key: str | Iterable[str] | None) -> list[str]:
        if key == "all" or key is None:
            return list(self._fields)
        keys = [key] if isinstance(key, str) else list(key)
        for k in keys:
            if k not in self._fields:
                raise InvalidArgument(
                    f"{k!r} is not a curated column"
                    + (did_you_mean(k, self._fields) or f"; they are: {list(self._fields)}")
                )
        return keys

    # -- standardize ------------------------------------------------------------------------------
    def standardize(
        self, key: str | Iterable[str] = "all", *, inplace: bool = False, output: str | os.PathLike | None = None
    ):
        """Replace values fixable by casing or synonyms with the registry's value.

        Args:
            key: a column, a list of columns or ``"all"``.
            inplace: update the held data (the caller's pandas DataFrame / AnnData object
                itself; for immutable inputs and files, what ``data`` and later calls see)
                and return None.
            output: also write the standardized dataset to this path (``.parquet``,
                ``.csv``, ``.tsv``; ``.h5ad`` for AnnData); files are streamed.

        Returns:
            The standardized data, of the input's type (a polars LazyFrame for files), unless
            ``inplace``. Unknown values are left as they are (see ``add_new_from``).
        """
        keys = self._keys(key)
        self._ensure(keys)
        mappers = {k: self._reports[k].mapper for k in keys}
        n_rows = sum(self._reports[k].rows(*FIXABLE) for k in keys)
        n_values = sum(len(m) for m in mappers.values())
        if output is not None:
            self._dataset.write(output, mappers)
        if n_values:
            logger.info(f"standardized {n_values:,} distinct values ({n_rows:,} rows) in {', '.join(keys)}")
        if not inplace:
            return self._dataset.replaced(mappers)
        self._dataset.replace_inplace(mappers)
        for k in keys:
            if mappers[k]:
                self._recount(k, mappers[k])
        return None

    def _recount(self, key: str, mapper: dict) -> None:
        """The report after ``mapper`` was applied to the column, from its counts alone."""
        old = self._reports[key]
        old_values = pl.Series(list(mapper), dtype=pl.String)
        new_values = pl.Series(list(mapper.values()), dtype=pl.String)
        counts = (
            old.table.select(pl.col("value").replace(old_values, new_values), "count")
            .group_by("value")
            .agg(pl.col("count").sum())
        )
        self._reports[key] = self._report(key, counts, old.n_missing)

    # -- add new records -------------------------------------------------------------------------
    def add_new_from(self, key: str | Iterable[str] = "all", **fields) -> list:
        """Save a record for every value of ``key`` that matches nothing (fuzzy and new), in one commit.

        Values fixable by casing or synonyms are not added (standardize them first; a warning
        names them). Extra keyword arguments are set on every new record. Returns the saved
        records.
        """
        keys = self._keys(key)
        self._ensure(keys)
        todo: dict[tuple, list] = {}
        for k in keys:
            r = self._reports[k]
            if r.count(*FIXABLE):
                logger.warning(
                    f"{k}: {r.count(*FIXABLE)} values are casing/synonym variants of existing records and are "
                    f"not added; run curator.standardize({k!r}) first"
                )
            fuzzy = r.table.filter(pl.col("tier") == "fuzzy")
            if fuzzy.height:
                shown = ", ".join(
                    f"{v!r} (close to {s!r})"
                    for v, s in zip(
                        fuzzy["value"].head(5).to_list(), fuzzy["suggestion"].head(5).to_list(), strict=True
                    )
                )
                logger.warning(f"{k}: adding {fuzzy.height} values that look like typos of existing ones: {shown}")
            model, fname = self._fields[k]
            bucket = todo.setdefault((model, fname), [])
            bucket.extend(v for v in r.new if v not in bucket)
        records: list = []
        for (model, fname), values in todo.items():
            if not values:
                continue
            organism = self._organism if "organism" in model._schema.fields else None
            extra = dict(fields)
            if organism is not None:
                found = model.from_values(values, field=fname, create=True, organism=organism, mute=True)
                new = list(found)
                for rec in new:
                    for f, v in extra.items():
                        setattr(rec, f, v)
            else:
                new = [model(**{fname: v}, **extra) for v in values]
            records.extend(new)
        if records:
            save(records)
            logger.success(
                f"saved {len(records):,} new records: "
                + ", ".join(f"{len(v):,} {field_label(m, f)}" for (m, f), v in todo.items() if v)
            )
        for k in keys:  # re-match the distinct values: the new records now validate them
            old = self._reports[k]
            self._reports[k] = self._report(k, old.table.select("value", "count"), old.n_missing)
        return records

    # -- data ------------------------------------------------------------------------------------
    @property
    def data(self):
        """The data as currently held (after any ``standardize(..., inplace=True)``)."""
        return self._dataset.result

    def __repr__(self) -> str:
        cols = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"{type(self).__name__}({self._dataset.kind}; {cols})"


class DataFrameCurator(_Curator):
    """Validate, standardize and extend the categorical columns of a table.

    ``df`` is a pandas or polars DataFrame, an Arrow table, or a path to a ``.parquet``,
    ``.csv`` or ``.tsv`` file (scanned in batches, never loaded whole). ``columns`` maps
    column names to registry fields.

    >>> curator = ln.curators.DataFrameCurator(df, columns={"cell_type": bt.CellType.name,
    ...                                                     "donor": ln.ULabel.name})  # doctest: +SKIP
    >>> curator.validate()  # doctest: +SKIP
    False
    >>> df = curator.standardize("all")  # doctest: +SKIP
    >>> curator.add_new_from("donor")  # doctest: +SKIP
    """

    def __init__(
        self, df, columns: dict[str, Any], *, organism=None, sources: dict | None = None, progress: bool | None = None
    ):
        super().__init__(as_dataset(df), columns, organism=organism, sources=sources, progress=progress)


# -- AnnData ---------------------------------------------------------------------------------------
VAR_INDEX = "var_index"


class AnnDataset(Dataset):
    """An AnnData object or ``.h5ad`` path: ``obs`` columns plus the variables (``var_index``).

    A path is opened in backed mode: ``obs`` and ``var`` are read, ``X`` stays on disk.
    """

    kind = "anndata"

    def __init__(self, adata):
        ad = require_anndata()
        self.path = None
        if isinstance(adata, (str, os.PathLike)):
            self.path = Path(adata)
            if not self.path.exists():
                raise FileNotFoundError(f"no such file: '{self.path}'")
            adata = ad.read_h5ad(self.path, backed="r")
        elif not isinstance(adata, ad.AnnData):
            raise InvalidArgument(f"expected an AnnData object or a path to a .h5ad file, got {type(adata).__name__}")
        self.adata = adata

    def columns(self) -> list[str]:
        return [str(c) for c in self.adata.obs.columns] + [VAR_INDEX]

    def column_counts(self, keys, progress=None):
        out = {}
        for k in keys:
            s = self.adata.var_names if k == VAR_INDEX else self.adata.obs[k]
            out[k] = pandas_counts(s)
        return out

    def _apply(self, adata, mappers) -> None:
        import pandas as pd

        for k, m in mappers.items():
            if not m:
                continue
            if k == VAR_INDEX:
                new = pandas_replaced(pd.Series(adata.var_names, dtype=object), m)
                adata.var_names = pd.Index(new.to_numpy(dtype=object).astype(str))
            else:
                adata.obs[k] = pandas_replaced(adata.obs[k], m)

    def replaced(self, mappers):
        adata = self.adata.to_memory() if self.adata.isbacked else self.adata.copy()
        self._apply(adata, mappers)
        return adata

    def replace_inplace(self, mappers) -> None:
        if self.adata.isbacked:
            self.adata = self.adata.to_memory()
        self._apply(self.adata, mappers)

    def write(self, out, mappers=None) -> Path:
        out = Path(out)
        if out.suffix.lower() != ".h5ad":
            raise InvalidArgument(f"write an AnnData to a .h5ad file, got '{out}'")
        if self.path is not None and self.adata.isbacked:
            if out.resolve() == self.path.resolve():
                raise InvalidArgument(
                    f"refusing to overwrite the input '{out}' while reading it; write to another file"
                )
            _rewrite_h5ad(self.path, out, self.adata, mappers or {})
        else:
            self.replaced(mappers or {}).write_h5ad(out)
        return out

    @property
    def result(self):
        return self.adata


def _rewrite_h5ad(src: Path, out: Path, adata, mappers: dict) -> None:
    """Copy ``src`` and rewrite only the curated ``obs`` columns and the var index (X is copied
    as bytes, never loaded)."""
    import shutil

    import h5py
    import numpy as np
    import pandas as pd

    ad = require_anndata()
    write_elem = getattr(getattr(ad, "io", None), "write_elem", None) or ad.experimental.write_elem
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out)
    with h5py.File(out, "r+") as f:
        for k, m in mappers.items():
            if not m:
                continue
            if k == VAR_INDEX:
                group = f["var"]
                name = group.attrs.get("_index", "_index")
                new = pandas_replaced(pd.Series(adata.var_names, dtype=object), m).to_numpy(dtype=object)
                del group[name]
                write_elem(group, name, np.asarray(new, dtype=object))
            else:
                group = f["obs"]
                new = pandas_replaced(adata.obs[k], m)
                values = new.array if isinstance(new.dtype, pd.CategoricalDtype) else new.to_numpy(dtype=object)
                del group[k]
                write_elem(group, k, values)


class AnnDataCurator(_Curator):
    """Validate, standardize and extend an AnnData's ``obs`` columns and its variables.

    ``adata`` is an AnnData object or a path to a ``.h5ad`` file (read backed: ``X`` stays on
    disk). ``obs`` maps obs columns to registry fields; ``var_index`` is the field of the
    variable names (e.g. ``bt.Gene.ensembl_gene_id``), reported and standardized under the
    key ``"var_index"``. Needs the optional dependency ``anndata``.

    >>> curator = ln.curators.AnnDataCurator(adata, obs={"cell_type": bt.CellType.name},
    ...                                      var_index=bt.Gene.ensembl_gene_id)  # doctest: +SKIP
    >>> curator.validate()  # doctest: +SKIP
    """

    def __init__(
        self,
        adata,
        obs: dict[str, Any] | None = None,
        var_index=None,
        *,
        organism=None,
        sources: dict | None = None,
        progress: bool | None = None,
    ):
        fields = dict(obs or {})
        if VAR_INDEX in fields:
            raise InvalidArgument(f"{VAR_INDEX!r} is reserved for the variables; pass var_index=... instead")
        if var_index is not None:
            fields[VAR_INDEX] = var_index
        super().__init__(AnnDataset(adata), fields, organism=organism, sources=sources, progress=progress)
