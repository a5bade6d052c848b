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

from ..errors import shorten
from . import fuzzy
from .inputs import Values, as_values  # noqa: F401 (the doctests use it)
from .inspect_result import InspectResult
from .matching import Encoded, ReferenceIndex, Tier, encode, first_in_input, match_encoded
from .reporting import call_literal, logger, pct, quoted, terms
from .scope import prepare


@dataclass(frozen=True)
class ValidationStats:
    """Counts behind the validate log line (over unique, non-empty values, as LaminDB)."""

    n_values: int
    n_unique: int
    n_validated: int
    non_validated: list  # first examples, input order
    n_ignored: int  # empty + duplicated inputs


# -- pure layer ---------------------------------------------------------------------------
def exact_matches(index: ReferenceIndex, values: Values) -> tuple[Encoded, np.ndarray]:
    """Distinct input values and, per distinct value, whether it exists exactly."""
    enc = encode(values.series)
    m = match_encoded(index, enc, case_sensitive=True, synonyms=False)
    return enc, m.tier == Tier.EXACT


def validate_values(index: ReferenceIndex, values: Values) -> np.ndarray:
    """Bool per input value: is it exactly (case-sensitively) a value of the field?

    ``None``/NaN are never valid; ``""`` is valid only if a record has an empty value.

    >>> ref = pl.DataFrame({"name": ["T cell", "B cell"]})
    >>> validate_values(ReferenceIndex(ref, "name"), as_values(["T cell", "t cell", None])).tolist()
    [True, False, False]
    """
    enc, ok = exact_matches(index, values)
    return _broadcast_flags(enc, ok)


def _broadcast_flags(enc: Encoded, ok: np.ndarray) -> np.ndarray:
    if len(ok) == 0:
        return np.zeros(len(enc.codes), dtype=bool)
    codes = enc.codes
    flags = ok[np.maximum(codes, 0)]
    if (codes < 0).any():
        flags &= codes >= 0
    return flags


def _empty_mask(enc: Encoded) -> np.ndarray:
    if enc.values.dtype == pl.String and len(enc):
        return (enc.values == "").to_numpy()
    return np.zeros(len(enc), dtype=bool)


def validation_stats(values: Values, enc: Encoded, ok: np.ndarray, n_examples: int = 10) -> ValidationStats:
    """Unique/validated counts and the first non-validated examples (input order)."""
    present = ~_empty_mask(enc)
    bad = first_in_input(enc, np.flatnonzero(present & ~ok), n_examples)
    n_unique = int(present.sum())
    return ValidationStats(
        n_values=len(values),
        n_unique=n_unique,
        n_validated=int((present & ok).sum()),
        non_validated=enc.values.gather(bad).to_list(),
        n_ignored=len(values) - n_unique,
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
    enc = encode(values.series)
    m = match_encoded(index, enc, case_sensitive=False, keep="first", synonyms=synonyms)
    result = InspectResult(values=values.series, matches=m, index=index, uid_column=uid_column)
    result._eager_cells = eager_cells
    if result._n_unmatched and len(index) and fuzzy.eager_ok(index):
        result._compute_suggestions()
    return result


# -- entry points ---------------------------------------------------------------------------
def validate(scope, values, field=None, *, mute: bool = False, organism=None, source=None) -> np.ndarray | np.bool_:
    """Bool array: which values exactly (case-sensitively) exist in ``field`` of the registry.

    A single string gives a scalar ``np.bool_``. ``None``/NaN are never valid. Logs one
    summary line (unless ``mute``) naming the first values that failed.

    >>> ln.ULabel.validate(["benchmark", "Benchmark", None])  # doctest: +SKIP
    ! 1 of 2 unique terms (50.0%) are not validated for name: 'Benchmark'
    array([ True, False, False])
    """
    # the same cached index inspect/standardize/from_values use (validate reads only its
    # exact-name part), so whichever call comes first builds it for all of them
    sc, fname, index, vals = prepare(scope, values, field, organism=organism, source=source, tiers=False)
    if len(vals) == 0:
        if not mute:
            logger.warning("input has zero length")
        return np.zeros(0, dtype=bool)
    if len(index) == 0:
        if not mute:
            logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
        flags = np.zeros(len(vals), dtype=bool)
    else:
        enc, ok = exact_matches(index, vals)
        flags = _broadcast_flags(enc, ok)
        if not mute:
            _log_validation(validation_stats(vals, enc, ok), fname, sc)
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
    sc, fname, index, vals = prepare(scope, values, field, organism=organism, source=source)
    use_syn = index.synonyms_field is not None
    if len(vals) == 0 and not mute:
        logger.warning("input has zero length")
    elif len(index) == 0 and not mute:
        logger.warning(f"Your {sc.model.__name__} registry is empty, consider populating it first!")
    result = inspect_values(index, vals, synonyms=use_syn, uid_column="uid" if sc.has_field("uid") else None)
    if not mute and result.n_unique:
        _log_inspect(result, fname, sc)
        public = getattr(sc.model, "_inspect_public", None)
        if public is not None:
            public(result, fname, sc)  # bio registries: which of the rest the public source has
    return result


def _log_inspect(r: InspectResult, field: str, sc) -> None:
    n_bad = r._n_non_validated
    ignored = f" ({r.n_empty} empty/duplicated values ignored)" if r.n_empty else ""
    if n_bad == 0:
        logger.success(f"{terms(r.n_unique)} (100.0%) are validated for {field}{ignored}")
        return
    logger.warning(
        f"{n_bad} of {terms(r.n_unique)} ({pct(n_bad, r.n_unique)}%) are not validated for {field}: "
        f"{quoted(r._examples('non_validated'), total=n_bad)}{ignored}"
    )
    n_mapped = r._n_mapped
    if n_mapped:
        kinds = []
        if r._count(Tier.CASE):
            kinds.append("inconsistent casing")
        if r._count(Tier.SYNONYM):
            kinds.append("synonyms")
        pairs = ", ".join(f"{shorten(k, 80)} → {shorten(v, 80)}" for k, v in r._mapped_examples())
        more = ", ..." if n_mapped > 10 else ""
        field_arg = "" if field == sc.schema.name_field else f", field={field!r}"
        logger.print(
            f"   detected {terms(n_mapped)} with {'/'.join(kinds)}: {pairs}{more}\n"
            f"→  standardize them: values = {sc.label}.standardize(values{field_arg})"
        )
    n_unmatched = r._n_unmatched
    if n_unmatched:
        sugg = _suggestion_text(r)
        examples = r._examples("unmatched", n=21)
        literal = call_literal(examples) if n_unmatched <= 20 else None
        arg = literal if literal is not None else "result.unmatched"
        logger.print(
            f"   couldn't validate {terms(n_unmatched)}: {quoted(examples, total=n_unmatched)}{sugg}\n"
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
    pairs = ", ".join(
        f"{shorten(v, 80)} → {shorten(sug[0], 80)}"
        for v, sug in zip(s.get_column("value").to_list(), s.get_column("suggestions").to_list(), strict=True)
    )
    return f" (did you mean: {pairs}?)"
