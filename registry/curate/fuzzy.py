"""Typo-tolerant suggestions for values that matched nothing ("did you mean 'T cell'?").

LaminDB's ``inspect`` gives no suggestions at all. We score the unmatched values against
every name and synonym with rapidfuzz ``process.cdist`` (one vectorised, multi-threaded
call) on text normalised the same way on both sides (lower-case, runs of non-alphanumerics
collapsed to one space), then keep the best few distinct names per value.

A full cdist is ``queries x choices`` cells (~40 M cells/s on 2 cores), so ``inspect`` only
spends a bounded budget eagerly (``EAGER_CELLS``); ``InspectResult.suggest()`` computes the
rest on request.
"""

from __future__ import annotations

from itertools import compress

import numpy as np
import polars as pl

from .matching import ReferenceIndex, encode

# ~25 ms on 2 cores: at 10^6 choices that is 1 value, at 10^4 choices 100 values. This
# is what ``inspect`` spends for its "did you mean" hint; ``InspectResult.table`` spends
# ``TABLE_CELLS`` (on first access) and ``suggest()`` whatever it is asked for.
EAGER_CELLS = 1_000_000
TABLE_CELLS = 20_000_000
# registries up to this size get suggestions in the inspect log even on a cold cache
EAGER_RECORDS = 100_000
DEFAULT_CUTOFF = 80.0
DEFAULT_LIMIT = 3


def normalise(texts: pl.Series) -> pl.Series:
    """Lower-case, non-alphanumeric runs -> one space, trimmed (like rapidfuzz's default_process)."""
    return texts.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def choices(index: ReferenceIndex) -> pl.DataFrame:
    """Candidate texts (names and synonyms) with the name each stands for, cached per index.

    Columns: ``__text`` (normalised, distinct, non-empty) and ``__name`` (first saved record
    whose name or synonym normalises to that text; names win over synonyms).
    """

    def build():
        names = index.names.drop_nulls().to_frame("__name").with_columns(pl.col("__name").alias("__raw"))
        parts = [names.select("__raw", "__name")]
        if index.synonyms_field is not None:
            parts.append(index.exploded_synonyms().select(pl.col("__synonym").alias("__raw"), "__name"))
        df = pl.concat(parts, how="vertical")
        df = df.with_columns(__text=normalise(df.get_column("__raw")))
        n_names = int((df.get_column("__text").head(parts[0].height) != "").sum())
        df = df.filter(pl.col("__text") != "")
        # distinct texts, first occurrence wins (names come before synonyms)
        first = np.sort(encode(df.get_column("__text")).first)
        # how many choices come from names (a prefix): what ``extended_choices`` needs
        index._memo["fuzzy_name_choices"] = int(np.searchsorted(first, n_names))
        return df[first].select("__text", "__name")

    if not index.is_text:
        return pl.DataFrame(schema={"__text": pl.String, "__name": pl.String})
    return index._cached("fuzzy_choices", build)


def extended_choices(old: ReferenceIndex, new: ReferenceIndex) -> None:
    """Carry ``old``'s fuzzy choices over to ``new`` (``old``'s frame plus appended rows).

    Equal to building them for ``new``: a full build lists the distinct normalised texts of
    [old names, new names, old synonyms, new synonyms] by first occurrence, so the result is
    old name texts, then new name texts not seen yet, then old synonym texts not taken by a new
    name, then new synonym texts not seen yet. Costs one pass testing the old texts against
    the few new ones, not normalising every name and synonym again. The Python list rapidfuzz reads
    is carried over too when it was built (a list splice instead of re-creating every string).
    """
    memo = old._memo
    if "fuzzy_choices" not in memo or "fuzzy_name_choices" not in memo or not new.is_text:
        return
    ch, k = memo["fuzzy_choices"], memo["fuzzy_name_choices"]
    n_old = len(old)
    text = pl.col("__text")

    def fresh(raw: pl.Series, owner: pl.Series) -> pl.DataFrame:
        df = pl.DataFrame({"__text": normalise(raw), "__name": owner})
        return df.filter(text != "").unique(subset="__text", keep="first", maintain_order=True)

    names = new.names.slice(n_old).drop_nulls()
    cand2 = fresh(names, names)
    cand4 = ch.clear()
    if new.synonyms_field is not None:
        ex = new.exploded_synonyms()
        old_ex = memo.get("exploded")
        ex = ex.slice(old_ex.height) if old_ex is not None else ex.filter(pl.col("__row") >= n_old)
        cand4 = fresh(ex.get_column("__synonym"), ex.get_column("__name"))
    # One pass over the old texts against the (few) new ones; no hash set of all old texts.
    old_texts = ch.get_column("__text")
    new_texts = pl.concat([cand2.get_column("__text"), cand4.get_column("__text")])
    hit = old_texts.is_in(new_texts.implode()).to_numpy()
    hit_at = np.flatnonzero(hit)
    seen_names = old_texts.gather(hit_at[hit_at < k])
    part2 = cand2.filter(~text.is_in(seen_names.implode())) if len(seen_names) else cand2
    old_names, old_syns = ch.head(k), ch.slice(k)
    keep3 = None
    syn_hits = hit_at[hit_at >= k]
    if part2.height and len(syn_hits):
        taken = old_texts.gather(syn_hits).is_in(part2.get_column("__text").implode()).to_numpy()
        if taken.any():
            keep3 = np.ones(old_syns.height, dtype=bool)
            keep3[syn_hits[taken] - k] = False
    part3 = old_syns.filter(pl.Series(keep3)) if keep3 is not None else old_syns
    seen = pl.concat([old_texts.gather(hit_at), part2.get_column("__text")])
    part4 = cand4.filter(~text.is_in(seen.implode())) if len(seen) and cand4.height else cand4
    new._memo["fuzzy_choices"] = pl.concat([old_names, part2, part3, part4], rechunk=False)
    new._memo["fuzzy_name_choices"] = k + part2.height
    arrays = memo.get("fuzzy_arrays")
    if arrays is not None:
        texts, owners = arrays
        rest_t, rest_o = texts[k:], owners[k:]
        if keep3 is not None:
            rest_t, rest_o = list(compress(rest_t, keep3)), rest_o[keep3]
        new._memo["fuzzy_arrays"] = (
            texts[:k] + part2.get_column("__text").to_list() + rest_t + part4.get_column("__text").to_list(),
            np.concatenate(
                [owners[:k], part2.get_column("__name").to_numpy(), rest_o, part4.get_column("__name").to_numpy()]
            ),
        )


def eager_ok(index: ReferenceIndex) -> bool:
    """Whether ``inspect`` may compute suggestions right away (for its log line).

    Building the choices (normalising every name and synonym) is a one-off cost per
    snapshot, ~0.3 s per 10^5 records; above ``EAGER_RECORDS`` it is left to the first
    ``InspectResult.table`` / ``suggest()`` access unless already built.
    """
    return index.is_text and (len(index) <= EAGER_RECORDS or "fuzzy_choices" in index._memo)


def eager_count(n_queries: int, n_choices: int, budget: int = EAGER_CELLS) -> int:
    """How many queries fit in the eager budget (at least one, so logs can show a hint)."""
    if n_choices == 0:
        return 0
    return int(min(n_queries, max(1, budget // n_choices)))


def suggest(
    index: ReferenceIndex,
    queries: list[str] | pl.Series,
    *,
    limit: int = DEFAULT_LIMIT,
    score_cutoff: float = DEFAULT_CUTOFF,
) -> pl.DataFrame:
    """Best ``limit`` distinct names per query with score >= ``score_cutoff`` (0-100).

    Returns columns ``value``, ``suggestions`` (list of names, best first) and ``scores``
    (list of floats); a query with nothing close gets empty lists.

    >>> ref = pl.DataFrame({"name": ["T cell", "B cell", "neuron"]})
    >>> suggest(ReferenceIndex(ref, "name"), ["T cel"])["suggestions"].to_list()
    [['T cell']]
    """
    from rapidfuzz import fuzz, process

    q = pl.Series("value", queries, dtype=pl.String)
    schema = {"value": pl.String, "suggestions": pl.List(pl.String), "scores": pl.List(pl.Float64)}
    if len(q) == 0:
        return pl.DataFrame(schema=schema)
    ch = choices(index)
    if ch.height == 0 or limit <= 0:
        return pl.DataFrame(
            {"value": q, "suggestions": [[] for _ in range(len(q))], "scores": [[] for _ in range(len(q))]},
            schema=schema,
        )
    texts, names = _choice_arrays(index, ch)
    qn = normalise(q.fill_null("")).to_list()
    scores = process.cdist(
        qn, texts, scorer=fuzz.ratio, processor=None, score_cutoff=score_cutoff, workers=-1, dtype=np.float32
    )
    # scores below the cutoff are 0: the hits are a sparse set, ranked without touching the rest
    qi, ci = np.nonzero(scores)
    sc = scores[qi, ci]
    order = np.lexsort((-sc, qi))
    qi, ci, sc = qi[order], ci[order], sc[order]
    if len(qi):
        # keep the best few hits per query (short names can have thousands above the cutoff)
        starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        counts = np.diff(np.r_[starts, len(qi)])
        rank = np.arange(len(qi)) - np.repeat(starts, counts)
        best = rank < limit * 4
        qi, ci, sc = qi[best], ci[best], sc[best]
    out_names: list[list[str]] = [[] for _ in range(len(q))]
    out_scores: list[list[float]] = [[] for _ in range(len(q))]
    # one pass over the hits (few per query), de-duplicating names (a name and its synonyms)
    for i, j, v in zip(qi.tolist(), ci.tolist(), sc.tolist(), strict=True):
        lst = out_names[i]
        if len(lst) == limit:
            continue
        name = names[j]
        if name not in lst:
            lst.append(name)
            out_scores[i].append(round(v, 1))
    return pl.DataFrame({"value": q, "suggestions": out_names, "scores": out_scores}, schema=schema)


def _choice_arrays(index: ReferenceIndex, ch: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """Choices as a Python list (what rapidfuzz consumes) and names as an array, cached."""
    return index._cached(
        "fuzzy_arrays", lambda: (ch.get_column("__text").to_list(), ch.get_column("__name").to_numpy())
    )
