"""Turn whatever a user passes as ``values`` into one polars Series the matchers can work on.

Curation takes lists, tuples, numpy arrays, pandas Series / Index / Categorical, polars
Series, Arrow arrays and a single string. Everything becomes a polars Series with nulls for
``None``/NaN, so the rest of the package never branches on the input type; a single string
is remembered so the caller can hand back a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ..errors import InvalidArgument, ValidationError, text_error

# polars dtypes that hold text the matchers understand as-is (after a cast to String)
_TEXT_DTYPES = (pl.String, pl.Categorical, pl.Enum)


@dataclass(frozen=True)
class Values:
    """User input as one polars Series.

    Attributes:
        series: every input value in input order; ``None``/NaN are nulls.
        scalar: the input was a single value (``"T cell"``), so results should be scalars.
        raw: the user's own list when it held only ``str``/``None`` (results can then reuse
            its string objects instead of creating new ones).
    """

    series: pl.Series
    scalar: bool = False
    raw: list | tuple | None = None

    def __len__(self) -> int:
        return len(self.series)


def as_values(values: Any, kind: str = "str", *, field_label: str = "the field") -> Values:
    """Normalise ``values`` for a field of value kind ``kind`` (``"str"``, ``"int"``, ...).

    Raises:
        InvalidArgument: when the values cannot be compared with the field, e.g. integers
            for a string field (LaminDB: ``TypeError: Type mismatch``); the message names the
            offending values and how to convert them.

    >>> as_values(["a", None, "b"]).series.to_list()
    ['a', None, 'b']
    >>> as_values("a").scalar
    True
    """
    if isinstance(values, str):
        bad = text_error(values, f"a value for {field_label}")
        if bad is not None:
            raise bad
        return Values(pl.Series("value", [values], dtype=pl.String), scalar=True)
    if values is None:
        raise InvalidArgument("values is None; pass a list, array or Series of values (or a single string)")
    if kind == "str" and isinstance(values, (list, tuple)):
        try:
            # fast path: a homogeneous list of str/None goes straight to Arrow-backed memory
            return Values(pl.Series("value", values, dtype=pl.String, strict=True), raw=values)
        except (TypeError, ValueError, pl.exceptions.PolarsError, OverflowError):
            pass  # NaN, numbers, mixed types: the careful path below explains what is wrong
    try:
        series = _to_series(values, kind)
        series = _check_kind(series, kind)
    except InvalidArgument as e:
        raise InvalidArgument(str(e).replace("the field", field_label)) from None
    except UnicodeEncodeError as e:  # a lone surrogate: Arrow and polars take only valid UTF-8
        bad = text_error(e.object, f"a value for {field_label}") if isinstance(e.object, str) else None
        raise bad or ValidationError(f"a value for {field_label} is not valid Unicode text") from None
    return Values(series.alias("value"))


def _to_series(values: Any, kind: str) -> pl.Series:
    if isinstance(values, pl.Series):
        return values
    if isinstance(values, (pl.DataFrame, pl.LazyFrame)):
        raise InvalidArgument("pass one column, e.g. df['cell_type'], not a whole DataFrame")
    module = type(values).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(values, kind)
    if module == "pyarrow":
        return pl.Series(values)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidArgument(f"expected a 1-dimensional array of values, got shape {values.shape}")
        if values.dtype.kind in "US":
            return pl.Series(values.astype(str), dtype=pl.String)
        if values.dtype.kind == "O":
            if kind == "str":
                try:
                    # fast path in C: str, None and NaN (-> null); anything else raises and
                    # takes the careful path that names the offending values
                    return pl.Series(pa.array(values, type=pa.string(), from_pandas=True))
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    pass
            return _from_objects(values, kind)
        if values.dtype.kind == "f":
            return pl.Series(values, nan_to_null=True)
        return pl.Series(values)
    if isinstance(values, (dict, bytes)):
        raise InvalidArgument(f"expected a list, array or Series of values, got {type(values).__name__}")
    if not isinstance(values, (list, tuple)):
        try:
            values = list(values)
        except TypeError:
            raise InvalidArgument(
                f"expected a list, array or Series of values, got {type(values).__name__} {values!r}"
            ) from None
    if kind == "str":
        try:
            # fast path: a homogeneous list of str/None goes straight to Arrow-backed memory
            return pl.Series(values, dtype=pl.String, strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError, OverflowError):
            pass
    else:
        try:
            return pl.Series(values, strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError, OverflowError):
            pass
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return _from_objects(arr, kind)


def _from_pandas(values: Any, kind: str) -> pl.Series:
    import pandas as pd

    if isinstance(values, pd.DataFrame):
        raise InvalidArgument("pass one column, e.g. df['cell_type'], not a whole DataFrame")
    if isinstance(values, pd.Categorical) or isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
        # categories + codes: the categories are already the unique values, no per-row work
        categories = _to_series(pd.Series(cat.categories), kind)
        codes = pl.Series(np.asarray(cat.codes, dtype=np.int64))
        codes = codes.set(codes < 0, None) if (codes < 0).any() else codes
        return categories.gather(codes)
    if isinstance(values, (pd.Index, pd.Series)):
        try:
            return pl.from_pandas(values if isinstance(values, pd.Series) else pd.Series(values), nan_to_null=True)
        except Exception:  # mixed object columns: fall back to the element-wise check below
            return _from_objects(np.asarray(values, dtype=object), kind)
    return pl.Series(np.asarray(values))


def _from_objects(arr: np.ndarray, kind: str) -> pl.Series:
    """Object arrays (mixed types, NaN among strings): nulls for None/NaN, then type-checked."""
    import pandas as pd

    null = np.asarray(pd.isna(arr), dtype=bool) if len(arr) else np.zeros(0, bool)
    if kind != "str":
        out = arr.copy()
        out[null] = None
        try:
            return pl.Series(out.tolist(), strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError, OverflowError):
            return pl.Series(out.tolist(), dtype=pl.Object)
    is_str = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(arr).astype(bool) if len(arr) else null
    bad = ~is_str & ~null
    if bad.any():
        _raise_type_mismatch(arr, bad, is_str, null)
    out = arr.copy()
    out[null] = None
    return pl.Series(out.tolist(), dtype=pl.String)


def _raise_type_mismatch(arr: np.ndarray, bad: np.ndarray, is_str: np.ndarray, null: np.ndarray) -> None:
    positions = np.flatnonzero(bad)
    examples = ", ".join(f"{arr[i]!r} ({type(arr[i]).__name__}) at position {i}" for i in positions[:3])
    more = f" and {len(positions) - 3} more" if len(positions) > 3 else ""
    if is_str.any():
        problem = f"values mix strings with non-strings: {examples}{more}"
    else:
        problem = f"values are not strings ({examples}{more}) but the field holds strings"
    raise InvalidArgument(
        f"Type mismatch: {problem}. Convert them first, e.g. [str(v) for v in values], "
        f"or pass a field of matching type via field=..."
    )


def _check_kind(series: pl.Series, kind: str) -> pl.Series:
    dtype = series.dtype
    if kind == "str":
        if dtype == pl.String:
            return series
        if isinstance(dtype, (pl.Categorical, pl.Enum)):
            return series.cast(pl.String)
        if dtype == pl.Null:
            return series.cast(pl.String)
        if dtype == pl.Object:
            return _from_objects(series.to_numpy(), kind)
        if len(series) == series.null_count():
            return series.cast(pl.String)
        sample = series.drop_nulls().head(3).to_list()
        raise InvalidArgument(
            f"Type mismatch: values are {dtype} (e.g. {', '.join(repr(v) for v in sample)}) but the field holds "
            f"strings. Convert them first, e.g. [str(v) for v in values], or pass a field of matching type via field=..."
        )
    if kind in ("int", "float"):
        if dtype.is_numeric() or dtype == pl.Null:
            return series
        raise InvalidArgument(
            f"Type mismatch: values are {dtype} but the field holds numbers ({kind}); "
            f"convert them first, e.g. [int(v) for v in values]"
        )
    return series
