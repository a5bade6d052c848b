"""``validate`` (exact membership) and ``inspect`` (what matched, how, and what to do next).

``validate`` is LaminDB's strict check: exact, case-sensitive, no synonyms. It is one hash
join of the input against the distinct field values, aligned with the input, so its cost is
that of a plain polars ``is_in`` (the floor it is benchmarked against).

``inspect`` matches each *unique* value through the tiers of ``matching.match`` (exact,
case-insensitive, synonym), then scores the still-unmatched ones with rapidfuzz for
"did you mean" suggestions, and logs the next call to make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import fuzzy
from .inputs import Values, as_values
from .inspect_result import InspectResult
from .matching import CASE, EXACT, NONE, SYNONYM, ReferenceIndex, match
from .reporting import call_literal, logger, pct, quoted, terms
from .scope import resolve


@dataclass(frozen=True)
class ValidationStats:
    """Counts behind the validate log line (over unique, non-empty values, as LaminDB)."""

    n_values: int
    n_unique: int
    n_validated: int
    non_validated: list  # first examples, input order
    n_ignored: int  # empty + duplicated inputs


# -- pure layer ---------------------------------------------------------------------------
def validate_values(index: ReferenceIndex, values: Values) -> np.ndarray:
    """Bool per input value: is it exactly (case-sensitively) a value of the field?

    ``None``/NaN are never valid; ``""`` is valid only if a record has an empty value.

    >>> ref = pl.DataFrame({"name": ["T cell", "B cell"]})
    >>> validate_values(ReferenceIndex(ref, "name"), as_values(["T cell", "t cell", None])).tolist()
    [True, False, False]
    """
    s = _aligned(index, values.series)
    if len(s) == 0:
        return np.zeros(0, dtype=bool)
    hit = s.to_frame("value").join(
        index.exact_keys(), left_on="value", right_on="__key", how="left", maintain_order="left"
    )
    return hit.get_column("__hit").is_not_null().to_numpy()


def validation_stats(values: Values, flags: np.ndarray, n_examples: int = 10) -> ValidationStats:
    """Unique/validated counts and the first non-validated examples (input order)."""
    s = values.series
    df = pl.DataFrame({"value": s, "ok": flags})
    if s.dtype == pl.String:
        df = df.filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    else:
        df = df.filter(pl.col("value").is_not_null())
    uniq = df.unique(subset="value", keep="first", maintain_order=True)
    ok = uniq.get_column("ok")
    bad = uniq.filter(~ok).get_column("value")
    return ValidationStats(
        n_values=len(s),
        n_unique=uniq.height,
        n_validated=int(ok.sum()),
        non_validated=bad.head(n_examples).to_list(),
        n_ignored=len(s) - uniq.height,
    )


def inspect_values(
    index: ReferenceIndex,
    values: Values,
    *,
    synonyms: bool = True,
    eager_cells: int = fuzzy.EAGER_CELLS,
    uid_column: str | None = "uid",
) -> InspectResult:
    """Per-unique-value matching and suggestions, as an InspectResult (no logging)."""
    uniques = _aligned(index, values.uniques())
    matched = match(index, uniques, case_sensitive=False, keep="first", synonyms=synonyms)
    unmatched = matched.filter(pl.col("tier") == NONE).get_column("value")
    suggestions = None
    if len(unmatched) and index.is_text and len(index):
        n_choices = fuzzy.choices(index).height
        k = fuzzy.eager_count(len(unmatched), n_choices, eager_cells)
        if k:
            suggestions = fuzzy.suggest(index, unmatched.head(k))
    return InspectResult(
        values=values.series,
        matched=matched,
        index=index,
        suggestions=suggestions,
        n_empty=len(values) - matched.height,
        uid_column=uid_column,
    )


def _aligned(index: ReferenceIndex, s: pl.Series) -> pl.Series:
    """Cast the input to the reference dtype (e.g. Int32 ids vs Int64 input) when they differ."""
    ref = index.names.dtype
    if s.dtype == ref:
        return s
    try:
        return s.cast(ref)
    except pl.exceptions.PolarsError:
        return s


# -- entry points ---------------------------------------------------------------------------
def validate(scope, values, field=None, *, mute: bool = False, organism=None, source=None) -> np.ndarray | np.bool_:
    """Bool array: which values exactly (case-sensitively) exist in ``field`` of the registry.

    A single string gives a scalar ``np.bool_``. ``None``/NaN are never valid. Logs one
    summary line (unless ``mute``) naming the first values that failed.

    >>> ln.ULabel.validate(["benchmark", "Benchmark", None])  # doctest: +SKIP
    ! 1 of 2 unique terms (50.0%) are not validated for name: 'Benchmark'
    array([ True, False, False])
    """
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    index = sc.index(fname)
    if len(vals) == 0:
        if not mute:
            logger.warning("input has zero length")
        return np.zeros(0, dtype=bool)
    if len(index) == 0:
        if not mute:
            logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
        flags = np.zeros(len(vals), dtype=bool)
    else:
        flags = validate_values(index, vals)
    if not mute and len(index):
        _log_validation(validation_stats(vals, flags), fname, sc)
    return flags[0] if vals.scalar else flags


def _log_validation(st: ValidationStats, field: str, sc) -> None:
    ignored = f" ({st.n_ignored} empty/duplicated values ignored)" if st.n_ignored else ""
    n_bad = st.n_unique - st.n_validated
    if n_bad == 0:
        logger.success(f"{terms(st.n_unique)} ({pct(st.n_validated, st.n_unique)}%) are validated for {field}{ignored}")
        return
    examples = quoted(st.non_validated, total=n_bad)
    logger.warning(
        f"{n_bad} of {terms(st.n_unique)} ({pct(n_bad, st.n_unique)}%) are not validated for {field}: "
        f"{examples}{ignored}; see {sc.label}.inspect(values) for fixes"
    )


def inspect(scope, values, field=None, *, mute: bool = False, organism=None, source=None) -> InspectResult:
    """Which values validate, which map via casing/synonyms, and suggestions for the rest.

    Synonyms are only consulted for the registry's name field when it has a ``synonyms``
    field (as in LaminDB); casing is always consulted. Logs the exact next call to make.

    >>> result = bt.Gene.inspect(["A1CF", "A1BG", "FANCD1", "FANCD20"], field=bt.Gene.symbol)  # doctest: +SKIP
    >>> result.validated, result.non_validated  # doctest: +SKIP
    (['A1CF', 'A1BG'], ['FANCD1', 'FANCD20'])
    """
    sc = resolve(scope, organism=organism, source=source)
    fname = sc.field(field)
    vals = as_values(values, sc.kind(fname), field_label=f"{sc.model.__name__}.{fname}")
    use_syn = fname == sc.schema.name_field and sc.has_field("synonyms")
    index = sc.index(fname, "synonyms" if use_syn else None)
    if len(vals) == 0 and not mute:
        logger.warning("input has zero length")
    elif len(index) == 0 and not mute:
        logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
    result = inspect_values(index, vals, synonyms=use_syn, uid_column="uid" if sc.has_field("uid") else None)
    if not mute and result.n_unique:
        _log_inspect(result, fname, sc)
    return result


def _log_inspect(r: InspectResult, field: str, sc) -> None:
    n_bad = len(r.non_validated)
    ignored = f" ({r.n_empty} empty/duplicated values ignored)" if r.n_empty else ""
    if n_bad == 0:
        logger.success(f"{terms(r.n_unique)} (100.0%) are validated for {field}{ignored}")
        return
    logger.warning(
        f"{n_bad} of {terms(r.n_unique)} ({pct(n_bad, r.n_unique)}%) are not validated for {field}: "
        f"{quoted(r.non_validated, total=n_bad)}{ignored}"
    )
    tiers = r._matched.get_column("tier")
    if r.synonyms_mapper:
        kinds = []
        if (tiers == CASE).any():
            kinds.append("inconsistent casing")
        if (tiers == SYNONYM).any():
            kinds.append("synonyms")
        keys = list(r.synonyms_mapper)
        pairs = ", ".join(f"{k!r} → {v!r}" for k, v in list(r.synonyms_mapper.items())[:10])
        more = ", ..." if len(keys) > 10 else ""
        field_arg = "" if field == sc.schema.name_field else f", field={field!r}"
        logger.print(
            f"   detected {terms(len(keys))} with {'/'.join(kinds)}: {pairs}{more}\n"
            f"→  standardize them: values = {sc.label}.standardize(values{field_arg})"
        )
    if r.unmatched:
        sugg = _suggestion_text(r)
        literal = call_literal(r.unmatched)
        arg = literal if literal is not None else "result.unmatched"
        logger.print(
            f"   couldn't validate {terms(len(r.unmatched))}: {quoted(r.unmatched, total=len(r.unmatched))}{sugg}\n"
            f"→  if you are sure, create records: {sc.label}.from_values({arg}, field={field!r}, create=True).save()"
        )


def _suggestion_text(r: InspectResult) -> str:
    """`` (did you mean: 'T cel' → 'T cell', ...)`` for the unmatched values that have suggestions."""
    s = r._suggestions
    if s is None or s.height == 0:
        return ""
    s = s.filter(pl.col("suggestions").list.len() > 0).head(5)
    if s.height == 0:
        return ""
    pairs = ", ".join(f"{v!r} → {sug[0]!r}" for v, sug in zip(s.get_column("value").to_list(), s.get_column("suggestions").to_list()))
    return f" (did you mean: {pairs}?)"
