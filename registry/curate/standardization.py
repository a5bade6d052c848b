"""``standardize``: map values to the registry's canonical names (casing, synonyms), vectorised.

The unique input values go through ``matching.match`` once; the result is broadcast back to
every input position with one join. Values that map to nothing are returned unchanged (as
in LaminDB) *and* counted in the log with examples, because silent pass-through is what
LaminDB users complain about (lamindb#2286).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .inputs import Values, as_values
from .matching import NONE, Keep, ReferenceIndex, check_keep, convert, match
from .reporting import call_literal, logger, quoted
from .scope import resolve


@dataclass
class StandardizeOutcome:
    """What ``standardize_values`` produced, plus the counts the log line needs."""

    result: Any  # list, dict (return_mapper) or scalar (single-string input)
    n_values: int = 0  # non-null inputs
    n_changed: int = 0  # inputs whose output differs from the input
    unmapped: list = field(default_factory=list)  # unique non-empty inputs that matched nothing
    n_ambiguous: int = 0  # unique inputs mapped to several names (keep=False)
    n_unconverted: int = 0  # matched, but the record has no return_field value


def standardize_values(
    index: ReferenceIndex,
    values: Values,
    *,
    return_field: str | None = None,
    return_mapper: bool = False,
    case_sensitive: bool = False,
    keep: Keep = "first",
    synonyms: bool = True,
) -> StandardizeOutcome:
    """The algorithm of ``standardize`` on a reference index (no instance, no logging).

    ``return_field`` is a column of ``index.frame``; matched values are converted to it
    (duplicates of the field resolved by ``keep``), unmatched ones stay as they were.

    >>> ref = pl.DataFrame({"symbol": ["GCLC", "UGCG"], "synonyms": ["GCS", "GCS"]})
    >>> index = ReferenceIndex(ref, "symbol", "synonyms")
    >>> standardize_values(index, as_values(["GCS", "gcs", "x"])).result
    ['GCLC', 'GCLC', 'x']
    >>> standardize_values(index, as_values(["GCS"]), keep=False).result
    [['GCLC', 'UGCG']]
    """
    check_keep(keep)
    s = values.series
    if s.dtype != index.names.dtype:
        try:
            s = s.cast(index.names.dtype)
        except pl.exceptions.PolarsError:
            pass
    uniques = s.drop_nulls().unique(maintain_order=True)
    m = match(index, uniques, case_sensitive=case_sensitive, keep=keep, synonyms=synonyms)
    if return_field is not None and return_field != index.field:
        m = convert(index, m, return_field, keep)
        matched = pl.col("tier") != NONE
        unconverted = int(m.filter(matched & pl.col("ret").is_null()).height)
        out_col, list_col = "ret", "rets"
    else:
        unconverted = 0
        out_col, list_col = "name", "names"

    tier = m.get_column("tier")
    value = m.get_column("value")
    unmapped = value.filter((tier == NONE) & (value != "") if value.dtype == pl.String else tier == NONE)
    outcome = StandardizeOutcome(result=None, n_values=len(s) - s.null_count(), unmapped=unmapped.to_list())
    outcome.n_unconverted = unconverted

    out_dtype = m.schema[out_col]
    if keep is False:
        lists = m.get_column(list_col)
        ambiguous = (lists.list.len().fill_null(0) > 1).to_numpy()
        outcome.n_ambiguous = int(ambiguous.sum())
    else:
        ambiguous = None

    if (ambiguous is None or not ambiguous.any()) and (out_dtype == value.dtype or m.height == 0):
        _string_path(outcome, s, m, out_col, return_mapper, values.scalar)
    else:
        _object_path(outcome, s, m, out_col, list_col if ambiguous is not None else None, ambiguous, return_mapper, values.scalar)
    return outcome


def _string_path(outcome, s, m, out_col, return_mapper, scalar) -> None:
    """Outputs are plain values of the input dtype: stay in polars end to end."""
    per_unique = m.select(
        "value",
        out=pl.when(pl.col("tier") != NONE).then(pl.col(out_col)).otherwise(pl.col("value")),
    )
    changed = per_unique.filter(pl.col("out").ne_missing(pl.col("value")))
    if return_mapper:
        outcome.result = dict(zip(changed.get_column("value").to_list(), changed.get_column("out").to_list()))
    full = s.to_frame("value").join(per_unique, on="value", how="left", maintain_order="left").get_column("out")
    outcome.n_changed = int((full.ne_missing(s) & s.is_not_null()).sum())
    if not return_mapper:
        outcome.result = full[0] if scalar else full.to_list()


def _object_path(outcome, s, m, out_col, list_col, ambiguous, return_mapper, scalar) -> None:
    """Outputs mix types (lists for ambiguous synonyms, non-string return fields): numpy objects."""
    n_u = m.height
    value_list = m.get_column("value").to_list()
    is_mapped = (m.get_column("tier") != NONE).to_numpy()
    out_u = np.empty(n_u, dtype=object)
    out_u[:] = value_list
    mapped_vals = m.get_column(out_col).to_list()
    mapped_idx = np.flatnonzero(is_mapped)
    if len(mapped_idx):
        tmp = np.empty(n_u, dtype=object)
        tmp[:] = mapped_vals
        out_u[mapped_idx] = tmp[mapped_idx]
    if ambiguous is not None and ambiguous.any():
        amb_idx = np.flatnonzero(ambiguous & is_mapped)
        lists = m.get_column(list_col).gather(amb_idx).to_list()
        for i, lst in zip(amb_idx, lists):  # only the ambiguous ones
            out_u[i] = lst
    changed_u = np.fromiter(
        (not _same(o, v) for o, v in zip(out_u, value_list)), dtype=bool, count=n_u
    ) if n_u else np.zeros(0, bool)
    codes = (
        s.to_frame("value")
        .join(m.select("value").with_row_index("__code"), on="value", how="left", maintain_order="left")
        .get_column("__code")
    )
    present = codes.is_not_null().to_numpy()
    code_arr = codes.fill_null(0).to_numpy().astype(np.int64)
    outcome.n_changed = int((changed_u[code_arr] & present).sum()) if n_u else 0
    if return_mapper:
        idx = np.flatnonzero(changed_u)
        outcome.result = {value_list[i]: out_u[i] for i in idx}
        return
    full = np.empty(len(s), dtype=object)
    if n_u:
        full[present] = out_u[code_arr[present]]
    outcome.result = full[0] if scalar else full.tolist()


def _same(a, b) -> bool:
    return not isinstance(a, list) and a == b


# -- entry point ------------------------------------------------------------------------------
def standardize(
    scope,
    values,
    field=None,
    *,
    return_field=None,
    return_mapper: bool = False,
    case_sensitive: bool = False,
    mute: bool = False,
    public_aware: bool = True,
    keep: Keep = "first",
    synonyms_field: str = "synonyms",
    organism=None,
    source=None,
):
    """Map values to the registry's standardized names: exact, then casing, then synonyms.

    Args:
        values: list, array, pandas/polars Series or a single string (then a single value
            is returned).
        field: the field of the values (default: the registry's name field).
        return_field: return this field of the matched record instead (e.g. ``ontology_id``).
        return_mapper: return ``{input: output}`` for the inputs whose output differs.
        case_sensitive: skip the lower-case tier and match synonyms case-sensitively.
        keep: which record wins when a synonym belongs to several (``"first"``/``"last"``
            saved), or ``False`` for a list of all of them.
        synonyms_field: the ``|``-joined synonyms field; only used for the name field.
        public_aware: accepted for LaminDB compatibility; public reference sources are not
            available yet, so nothing beyond the registry is consulted.

    Values that match nothing are returned unchanged and reported in the log (count and
    examples), unlike LaminDB, which passes them through silently.

    >>> bt.Gene.standardize(["A1CF", "A1BG", "FANCD1", "FANCD20"])  # doctest: +SKIP
    ['A1CF', 'A1BG', 'BRCA2', 'FANCD20']
    """
    from ..fields import field_name

    check_keep(keep)
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    ret_name = sc.field(return_field) if return_field is not None else None
    syn_name = field_name(synonyms_field) if synonyms_field else None
    if syn_name is not None and syn_name != "synonyms" and not sc.has_field(syn_name):
        sc.field(syn_name)  # raises FieldError with a did-you-mean
    use_syn = bool(syn_name) and fname == sc.schema.name_field and sc.has_field(syn_name) and syn_name != fname
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    if len(vals) == 0:
        return {} if return_mapper else []
    index = sc.index(fname, syn_name if use_syn else None)
    outcome = standardize_values(
        index,
        vals,
        return_field=sc.column(ret_name) if ret_name else None,
        return_mapper=return_mapper,
        case_sensitive=case_sensitive,
        keep=keep,
        synonyms=use_syn,
    )
    if not mute:
        _log(outcome, sc, fname, ret_name, keep, len(index))
    return outcome.result


def _log(o: StandardizeOutcome, sc, field: str, ret_name: str | None, keep, n_ref: int) -> None:
    if n_ref == 0:
        logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
        return
    if o.n_changed:
        logger.info(f"standardized {o.n_changed}/{o.n_values} terms")
    if keep is False and o.n_ambiguous:
        logger.warning(
            f"returning lists for {o.n_ambiguous} ambiguous term{'s' if o.n_ambiguous != 1 else ''} because keep=False"
        )
    if o.n_unconverted and ret_name:
        logger.warning(f"{o.n_unconverted} matched records have no {ret_name}; returned None for them")
    if o.unmapped:
        n = len(o.unmapped)
        literal = call_literal(o.unmapped)
        arg = literal if literal is not None else "values"
        logger.warning(
            f"{n} term{'s' if n != 1 else ''} not found in {sc.model.__name__}.{field} and returned unchanged: "
            f"{quoted(o.unmapped, total=n)}\n"
            f"→  inspect them: {sc.label}.inspect({arg}); create them: "
            f"{sc.label}.from_values({arg}, field={field!r}, create=True).save()"
        )
