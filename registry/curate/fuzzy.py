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

import numpy as np
import polars as pl

from .matching import ReferenceIndex

# ~0.1 s on 2 cores: at 10^6 choices that is 5 values, at 10^4 choices 500 values.
EAGER_CELLS = 5_000_000
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
        return (
            df.with_columns(__text=normalise(df.get_column("__raw")))
            .filter(pl.col("__text") != "")
            .unique(subset="__text", keep="first", maintain_order=True)
            .select("__text", "__name")
        )

    if not index.is_text:
        return pl.DataFrame(schema={"__text": pl.String, "__name": pl.String})
    return index._cached("fuzzy_choices", build)


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
    texts = ch.get_column("__text").to_list()
    names = ch.get_column("__name").to_numpy()
    qn = normalise(q.fill_null("")).to_list()
    scores = process.cdist(
        qn, texts, scorer=fuzz.ratio, processor=None, score_cutoff=score_cutoff, workers=-1, dtype=np.float32
    )
    # a few extra candidates per query, because several texts (synonyms) can name one record
    k = min(scores.shape[1], limit * 4)
    if k < scores.shape[1]:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(scores.shape[1]), (scores.shape[0], scores.shape[1]))
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)
    out_names, out_scores = [], []
    # one pass per query row (bounded by the caller's budget), de-duplicating names
    for row_idx, row_scores in zip(top, top_scores):
        seen: dict[str, float] = {}
        for j, sc in zip(row_idx, row_scores):
            if sc < score_cutoff or sc <= 0:
                break
            name = names[j]
            if name not in seen:
                seen[name] = round(float(sc), 1)
                if len(seen) == limit:
                    break
        out_names.append(list(seen))
        out_scores.append(list(seen.values()))
    return pl.DataFrame({"value": q, "suggestions": out_names, "scores": out_scores}, schema=schema)
