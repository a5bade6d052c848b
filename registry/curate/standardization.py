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

from .inputs import Values, as_values  # noqa: F401 (the doctests use it)
from .matching import (
    Encoded,
    Keep,
    ReferenceIndex,
    Tier,
    check_keep,
    encode,
    first_in_input,
    gather_rows,
    match_encoded,
)
from .reporting import MAX_LITERAL, call_literal, logger, quoted
from .scope import prepare


@dataclass
class StandardizeOutcome:
    """What ``standardize_values`` produced, plus the counts the log line needs."""

    result: Any  # list, dict (return_mapper) or scalar (single-string input)
    n_values: int = 0  # non-null inputs
    n_changed: int = 0  # inputs whose output differs from the input
    unmapped: list = field(default_factory=list)  # the first unique non-empty inputs that matched nothing
    n_unmapped: int = 0  # how many there are
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
    enc = encode(s)
    m = match_encoded(index, enc, case_sensitive=case_sensitive, keep=keep, synonyms=synonyms)
    mapped = m.tier != Tier.NONE
    uvalues = enc.values
    lists: dict[int, list] = {i: index.names.gather(rows).to_list() for i, rows in m.candidates.items()}
    outcome = StandardizeOutcome(result=None, n_values=len(s) - s.null_count())
    converted = return_field is not None and return_field != index.field

    unmapped = np.flatnonzero(~mapped)
    if len(unmapped) and uvalues.dtype == pl.String:
        unmapped = unmapped[(uvalues.gather(unmapped) != "").to_numpy()]  # "" is not a term
    outcome.n_unmapped = len(unmapped)
    outcome.unmapped = uvalues.gather(first_in_input(enc, unmapped, MAX_LITERAL + 1)).to_list()
    outcome.n_ambiguous = len(lists)

    if not lists and not converted and values.raw is not None and not return_mapper:
        # the common case: a plain list in, only casing/synonym hits change
        _raw_path(outcome, enc, (m.tier == Tier.CASE) | (m.tier == Tier.SYNONYM), index, m.row, values.raw)
        return outcome
    target = m.names(index)  # standardized name per distinct value (null: unmatched)
    if converted:
        assert return_field is not None  # converted means a return field other than the matched one
        target, lists, outcome.n_unconverted = _convert(index, m, target, lists, return_field, keep)
        outcome.n_ambiguous = len(lists)
    if not lists and target.dtype == uvalues.dtype:
        changed = None if converted else (m.tier == Tier.CASE) | (m.tier == Tier.SYNONYM)
        _string_path(outcome, enc, mapped, target, return_mapper, values.scalar, changed)
    else:
        _object_path(outcome, enc, mapped, target, lists, return_mapper, values.scalar)
    return outcome


def _convert(index: ReferenceIndex, m, names: pl.Series, lists: dict, return_field: str, keep: Keep):
    """Matched names -> ``return_field`` values (LaminDB: duplicates of the field by ``keep``)."""
    ret_col = index.frame.get_column(return_field)
    mapped_idx = np.flatnonzero(m.tier != Tier.NONE)
    q = names.gather(mapped_idx)
    name_index = index.name_index()
    if keep is False:
        left, right = name_index.find_all(q)
        hit = right > left
        rows = np.full(len(q), -1, dtype=np.int64)
        rows[hit] = name_index.rows[left[hit]]
        multi = {int(mapped_idx[i]): name_index.rows[left[i] : right[i]] for i in np.flatnonzero(right - left > 1)}
    else:
        rows = name_index.find(q, last=keep == "last")
        multi = {}
    full_rows = np.full(len(m.enc), -1, dtype=np.int64)
    full_rows[mapped_idx] = rows
    target = gather_rows(ret_col, full_rows)
    new_lists: dict[int, list] = {}
    if keep is False:
        # every candidate name contributes all its records' values, flattened and de-duplicated
        # (a loop over the ambiguous values only)
        single_at, single_val = [], []
        for i in sorted(set(lists) | set(multi)):
            cand = pl.Series(lists.get(i) or [names[i]], dtype=names.dtype)
            l_, r_ = name_index.find_all(cand)
            vals: list = []
            for a, b in zip(l_.tolist(), r_.tolist(), strict=True):
                vals.extend(ret_col.gather(name_index.rows[a:b]).to_list())
            distinct = list(dict.fromkeys(v for v in vals if v is not None))
            if len(distinct) > 1:
                new_lists[i] = distinct
            elif distinct:
                single_at.append(i)
                single_val.append(distinct[0])
        if single_at:
            target = target.scatter(single_at, pl.Series(single_val, dtype=target.dtype))
    unconverted = int(((m.tier != Tier.NONE) & target.is_null().to_numpy()).sum()) - len(new_lists)
    return target, new_lists, max(unconverted, 0)


def _string_path(
    outcome,
    enc: Encoded,
    mapped: np.ndarray,
    target: pl.Series,
    return_mapper: bool,
    scalar: bool,
    changed: np.ndarray | None = None,
) -> None:
    """Outputs are plain values of the input dtype: stay in polars/numpy end to end.

    ``changed`` may say up front which distinct values change (without ``return_field`` it
    is exactly the casing/synonym tiers), saving a string comparison.
    """
    values = enc.values
    if not len(values):
        out_u = values
    elif outcome.n_unconverted == 0 and target.null_count() == int((~mapped).sum()):
        out_u = pl.select(pl.coalesce(target, values)).to_series()  # target is null exactly where unmatched
    else:
        out_u = target.zip_with(pl.Series(mapped), values)
    if changed is None:
        changed = mapped & out_u.ne_missing(values).to_numpy() if len(values) else mapped
    outcome.n_changed = _count_changed(enc, changed)
    if return_mapper:
        idx = np.flatnonzero(changed)
        idx = idx[np.argsort(enc.first[idx], kind="stable")]
        outcome.result = dict(zip(values.gather(idx).to_list(), out_u.gather(idx).to_list(), strict=True))
        return
    if scalar:
        outcome.result = enc.broadcast(out_u)[0]
    elif out_u.dtype == pl.String:
        # one Python str per *distinct* value, shared by every position holding it: 10^6
        # inputs with a few hundred distinct values cost a few hundred str objects, not 10^6
        objects = np.empty(len(out_u) + 1, dtype=object)
        objects[:-1] = out_u.to_numpy()
        objects[-1] = None  # code -1 (null input) picks the last slot
        outcome.result = objects[enc.codes].tolist()
    else:
        outcome.result = enc.broadcast(out_u).to_list()


def _raw_path(outcome, enc: Encoded, changed: np.ndarray, index: ReferenceIndex, row: np.ndarray, raw) -> None:
    """A plain list in, a list out: copy it and overwrite only the positions that change.

    Unchanged positions keep the caller's own string objects and only standardized ones
    point at the registry's (cached) name objects, so no string is created per position.
    """
    codes = enc.codes
    if not changed.any():
        outcome.result = list(raw)
        return
    changed_at = changed[codes]
    if enc.has_nulls:
        changed_at &= codes >= 0  # code -1 (null) read the last slot
    at = np.flatnonzero(changed_at)
    outcome.n_changed = len(at)
    names = index._cached("names_objects", lambda: index.names.to_numpy())
    out = np.empty(len(raw), dtype=object)
    out[:] = raw
    out[at] = names[row[codes[at]]]
    outcome.result = out.tolist()


def _object_path(
    outcome, enc: Encoded, mapped: np.ndarray, target: pl.Series, lists: dict, return_mapper: bool, scalar: bool
) -> None:
    """Outputs mix types (lists for ambiguous synonyms, non-string return fields): numpy objects."""
    n_u = len(enc)
    out_u = np.empty(n_u, dtype=object)
    out_u[:] = enc.values.to_list()
    idx = np.flatnonzero(mapped)
    if len(idx):
        tmp = np.empty(len(idx), dtype=object)
        tmp[:] = target.gather(idx).to_list()
        out_u[idx] = tmp
    changed = np.zeros(n_u, dtype=bool)
    if len(idx):
        same = np.fromiter(
            (a == b for a, b in zip(out_u[idx], enc.values.gather(idx).to_list(), strict=True)),
            dtype=bool,
            count=len(idx),
        )
        changed[idx] = ~same
    for i, lst in lists.items():  # only the ambiguous ones
        out_u[i] = lst
        changed[i] = True
    outcome.n_changed = _count_changed(enc, changed)
    if return_mapper:
        sel = np.flatnonzero(changed)
        sel = sel[np.argsort(enc.first[sel], kind="stable")]
        keys = enc.values.gather(sel).to_list()
        outcome.result = {k: out_u[i] for k, i in zip(keys, sel.tolist(), strict=True)}
        return
    codes = enc.codes
    full = np.empty(len(codes), dtype=object)
    present = codes >= 0
    full[present] = out_u[codes[present]]
    outcome.result = full[0] if scalar else full.tolist()


def _count_changed(enc: Encoded, changed: np.ndarray) -> int:
    if not changed.any():
        return 0
    counts = np.bincount(enc.codes[enc.codes >= 0], minlength=len(changed))
    return int(counts[changed].sum())


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
    check_keep(keep)
    sc, fname, index, vals = prepare(
        scope,
        values,
        field,
        organism=organism,
        source=source,
        synonyms_field=synonyms_field,
        case_sensitive=case_sensitive,
    )
    ret_name = sc.field(return_field) if return_field is not None else None
    use_syn = index.synonyms_field is not None
    if len(vals) == 0:
        return {} if return_mapper else []
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
    if o.n_unmapped:
        n = o.n_unmapped
        literal = call_literal(o.unmapped) if n <= MAX_LITERAL else None
        arg = literal if literal is not None else "values"
        logger.warning(
            f"{n} term{'s' if n != 1 else ''} not found in {sc.model.__name__}.{field} and returned unchanged: "
            f"{quoted(o.unmapped, total=n)}\n"
            f"→  inspect them: {sc.label}.inspect({arg}); create them: "
            f"{sc.label}.from_values({arg}, field={field!r}, create=True).save()"
        )
