"""Rank candidates for many queries at once: the fast path for mapping a column of free-text labels.

Same scores as ``rank.rank`` for the exact, phrase, word-start, substring and fuzzy tiers, but
every tier runs once for all queries: exact hits are one join, substring hits one Aho-Corasick
pass (``str.extract_many``) over the candidates, fuzzy hits one multi-core ``process.cdist``
(SIMD over many short queries), in chunks that bound memory. Two tiers of the single search are
left out because they need one pass per query: "all words in any order" (the fuzzy tier's
word-sorted similarity still finds reordered words) and uid/id *prefixes* (exact ids are kept).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from registry.search import scoring
from registry.search.candidates import Candidates
from registry.search.normalize import query_frame
from registry.search.rank import _HITS_SCHEMA, decode_score, restrict, rule_score, similarity, sort_key

_PAIR_SCHEMA = {"qidx": pl.UInt32, **_HITS_SCHEMA}
# Cells of one cdist block (float32): 10^7 cells = 40 MB whatever the number of queries.
_BLOCK_CELLS = 10_000_000


def exact_hits(c: Candidates, qf: pl.DataFrame) -> pl.DataFrame:
    """Whole values (names, synonyms, ids; uids case-sensitively) equal to a query."""
    on_words = c.words.lazy().join(qf.lazy().select("qidx", "raw"), on="raw").select("qidx", "row", "fpri")
    ids = c.ids.lazy()
    on_ids = ids.filter(~pl.col("uid")).join(qf.lazy().select("qidx", "raw"), on="raw")
    on_uids = ids.filter(pl.col("uid")).join(qf.lazy().select("qidx", raw="original"), on="raw")
    return (
        pl.concat([on_words, on_ids.select("qidx", "row", "fpri"), on_uids.select("qidx", "row", "fpri")])
        .with_columns(score=pl.lit(scoring.EXACT))
        .collect()
    )


def substring_hits(c: Candidates, qf: pl.DataFrame) -> pl.DataFrame:
    """Phrase, word-start and substring hits for all queries in one Aho-Corasick pass."""
    patterns = qf.filter(pl.col("words") != "")["words"].unique().to_list()
    if not patterns or c.words.is_empty():
        return pl.DataFrame(schema=_PAIR_SCHEMA)
    matched = (
        c.words.lazy()
        .with_columns(words_q=pl.col("norm").str.extract_many(patterns, overlapping=True))
        .filter(pl.col("words_q").list.len() > 0)
        .explode("words_q")
        .unique(subset=["row", "fpri", "raw", "words_q"])
        .join(qf.lazy().select("qidx", raw_q="raw", words_q="words"), on="words_q")
    )
    return matched.select(
        "qidx",
        "row",
        "fpri",
        score=rule_score(pl.col("raw_q"), pl.col("words_q"), pl.col("words_q").str.len_chars()),
    ).collect()


def fuzzy_hits_many(c: Candidates, qf: pl.DataFrame) -> pl.DataFrame:
    """rapidfuzz hits above the cut-off for every query of ``qf`` (multi-core, in blocks).

    Queries go in length order, so each block of queries compares against one narrow slice of
    the length-sorted choices (see ``Candidates.window``).
    """
    qf = (
        qf.filter(pl.col("words") != "")
        .with_columns(qlen=pl.col("words").str.len_chars())
        .sort("qlen", maintain_order=True)
    )
    if qf.is_empty() or not c.choices:
        return pl.DataFrame(schema=_PAIR_SCHEMA)
    step = max(1, _BLOCK_CELLS // len(c.choices))
    qidx_all = qf["qidx"].to_numpy()
    qlen_all = qf["qlen"].to_numpy()
    words_all = qf["words"].to_list()
    sorted_all = qf["sorted"].to_list()
    multi_all = (qf["n_tokens"] >= 2).to_numpy()
    cut = scoring.FUZZY_CUTOFF
    parts = []
    for start in range(0, qf.height, step):  # one cdist per block of queries, not per query
        block = slice(start, start + step)
        win = c.window(
            scoring.length_window(int(qlen_all[block].min()))[0], scoring.length_window(int(qlen_all[block].max()))[1]
        )
        if win.stop <= win.start:
            continue
        best = similarity(words_all[block], c.choices[win], cut)
        multi = np.flatnonzero(multi_all[block])
        if len(multi):
            reordered = similarity(
                [sorted_all[block][i] for i in multi], c.sorted_choices[win], cut / scoring.SORTED_WEIGHT
            )
            best[multi] = np.maximum(best[multi], reordered * scoring.SORTED_WEIGHT)
        qi, ci = np.nonzero(best)
        pos = c.choice_pos[win.start + ci]
        parts.append(
            pl.DataFrame(
                {
                    "qidx": qidx_all[block][qi],
                    "row": c.words["row"].gather(pos),
                    "fpri": c.words["fpri"].gather(pos),
                    "score": np.minimum(scoring.fuzzy_score(best[qi, ci].astype(np.float64)), scoring.ALL_WORDS - 0.01),
                },
                schema=_PAIR_SCHEMA,
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=_PAIR_SCHEMA)


def best_per_query(hits: list[pl.DataFrame], limit: int | None) -> pl.DataFrame:
    """Each (query, record) once by its best hit; per query best first, at most ``limit``."""
    ranked = (
        pl.concat(hits, how="vertical_relaxed")
        .lazy()
        .group_by("qidx", "row")
        .agg(key=sort_key().max())
        .sort(["qidx", "key", "row"], descending=[False, True, False])
        .with_columns(rank=(pl.int_range(pl.len(), dtype=pl.UInt32).over("qidx") + 1))
    )
    if limit is not None:
        ranked = ranked.filter(pl.col("rank") <= limit)
    return ranked.select("qidx", "rank", "row", score=decode_score()).collect()


def rank_many(
    c: Candidates, queries: list[str], *, limit: int | None = 20, allowed: np.ndarray | None = None
) -> pl.DataFrame:
    """Best records for each query: columns ``qidx`` (query position), ``rank`` (1 = best), ``row``, ``score``.

    Queries that are empty after stripping match nothing here (unlike a single empty search).

    >>> import polars as pl
    >>> from registry.search.candidates import FieldRole, build
    >>> frame = pl.DataFrame({"name": ["T cell", "B cell"], "synonyms": ["T lymphocyte", None]})
    >>> c = build(frame, [FieldRole("name"), FieldRole("synonyms", split=True)], case_sensitive=False)
    >>> rank_many(c, ["t lymphocyte", "b-cell"], limit=1).select("qidx", "row", "score").rows()
    [(0, 0, 100.0), (1, 1, 99.99)]
    """
    empty = pl.DataFrame(schema={"qidx": pl.UInt32, "rank": pl.UInt32, "row": pl.UInt32, "score": pl.Float64})
    if limit is not None and limit <= 0:
        return empty
    qf = query_frame(list(queries), c.case_sensitive).filter(pl.col("raw") != "")
    if qf.is_empty():
        return empty
    hits = [restrict(exact_hits(c, qf), allowed), restrict(substring_hits(c, qf), allowed)]
    # Bands are disjoint: a query whose rule hits already fill the limit needs no fuzzy pass.
    need = qf
    if limit is not None:
        full = pl.concat(hits).group_by("qidx").agg(n=pl.col("row").n_unique()).filter(pl.col("n") >= limit)
        need = qf.join(full, on="qidx", how="anti")
    hits.append(restrict(fuzzy_hits_many(c, need), allowed))
    return best_per_query(hits, limit)
