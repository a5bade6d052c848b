"""Rank the candidates of one registry for one query: rule tiers, then rapidfuzz (see ``scoring``).

Pure: candidates in, record positions and scores out. Every step is a vectorised polars
expression or one rapidfuzz ``cdist`` call over the whole candidate column; the query is only
ever used as a literal (``literal=True`` / equality), never compiled into a regex, so regex
metacharacters in it ("cat[", "*_*") mean themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from registry.search import scoring
from registry.search.candidates import ID_PREFIX_MIN, UID_PREFIX_MIN, Candidates
from registry.search.normalize import QueryForms, query_forms

_HITS_SCHEMA = {"row": pl.UInt32, "fpri": pl.UInt16, "score": pl.Float64}
# Scores are kept to 1e-4 inside a sort key (score, then field priority) packed into an Int64.
_SCALE = 10_000
_FPRI_BITS = 16


def _space(p, left: bool, right: bool):
    """`` p `` around a pattern given as a string or as a string expression (batch)."""
    if isinstance(p, str):
        return (" " if left else "") + p + (" " if right else "")
    parts = ([pl.lit(" ")] if left else []) + [p] + ([pl.lit(" ")] if right else [])
    return pl.concat_str(parts)


def rule_score(raw_q, words_q, words_len) -> pl.Expr:
    """Score of a candidate row that contains the query's words (exact, phrase, word start, substring).

    ``raw_q``/``words_q`` are the folded and word forms of the query, as strings (one query) or
    expressions (one query per row, batch); ``words_len`` the length of ``words_q``.
    """
    cover = scoring.coverage(words_len, pl.col("nlen"))
    norm = pl.col("norm").str
    return (
        pl.when(pl.col("raw") == raw_q)
        .then(pl.lit(scoring.EXACT))
        .when(pl.col("text"))
        .then(scoring.in_band(scoring.SUBSTRING, cover))
        .when(norm.contains(_space(words_q, True, True), literal=True))
        .then(scoring.in_band(scoring.PHRASE, cover))
        .when(norm.contains(_space(words_q, True, False), literal=True))
        .then(scoring.in_band(scoring.WORD_START, cover))
        .otherwise(scoring.in_band(scoring.SUBSTRING, cover))
    )


# Above this many substring hits, try the exact and phrase tiers alone first (see rule_hits).
_MANY_HITS = 20_000


def rule_hits(c: Candidates, q: QueryForms, limit: int | None = None) -> pl.DataFrame:
    """Exact, phrase, word-start and substring hits on name-like and text values.

    One pass finds every value containing the query's words; the finer tiers are then scored on
    those hits only. A very common query ("cell") hits most values, and scoring them all would
    cost several passes plus the strings' copy; then, when the exact and phrase tiers alone
    (numeric columns, one more pass) already give ``limit`` records, the lower tiers cannot
    reach the result and are skipped.
    """
    if not q.words:
        # Only separators ("*_*", "%%%"): no words to compare, so compare the raw text.
        cover = scoring.coverage(len(q.raw), pl.col("raw").str.len_chars())
        score = (
            pl.when(pl.col("raw") == q.raw)
            .then(pl.lit(scoring.EXACT))
            .when(pl.col("raw").str.starts_with(q.raw) & ~pl.col("text"))
            .then(scoring.in_band(scoring.WORD_START, cover))
            .otherwise(scoring.in_band(scoring.SUBSTRING, cover))
        )
        return c.scan(
            lambda lf: lf.filter(pl.col("raw").str.contains(q.raw, literal=True)).select("row", "fpri", score=score)
        )
    hit = c.scan(lambda lf: lf.select(hit=pl.col("norm").str.contains(q.words, literal=True)))["hit"]
    if limit is not None and hit.sum() > _MANY_HITS:
        cover = scoring.coverage(len(q.words), pl.col("nlen"))
        top = c.scan(
            lambda lf: lf.filter(
                (pl.col("raw") == q.raw) | (~pl.col("text") & pl.col("norm").str.contains(f" {q.words} ", literal=True))
            ).select(
                "row",
                "fpri",
                score=pl.when(pl.col("raw") == q.raw)
                .then(pl.lit(scoring.EXACT))
                .otherwise(scoring.in_band(scoring.PHRASE, cover)),
            )
        )
        if top.height >= limit and top["row"].n_unique() >= limit:
            return top
    return c.words.filter(hit).lazy().select("row", "fpri", score=rule_score(q.raw, q.words, len(q.words))).collect()


def id_hits(c: Candidates, q: QueryForms) -> pl.DataFrame:
    """Exact ids and uids (100) and id prefixes (substring band): binary searches, no scan.

    Ids never contain whitespace, so a query with a space skips this tier.
    """
    if c.ids.is_empty() or any(ch.isspace() for ch in q.original):
        return pl.DataFrame(schema=_HITS_SCHEMA)
    found = [c.id_range(True, q.original).with_columns(exact=pl.lit(True))]
    if len(q.original) >= UID_PREFIX_MIN and q.original.isalnum():
        found.append(c.id_range(True, q.original, prefix=True).with_columns(exact=pl.col("raw") == q.original))
    found.append(c.id_range(False, q.raw).with_columns(exact=pl.lit(True)))
    if len(q.raw) >= ID_PREFIX_MIN:
        found.append(c.id_range(False, q.raw, prefix=True).with_columns(exact=pl.col("raw") == q.raw))
    hits = pl.concat(found)
    cover = scoring.coverage(len(q.raw), pl.col("raw").str.len_chars())
    score = pl.when(pl.col("exact")).then(pl.lit(scoring.EXACT)).otherwise(scoring.in_band(scoring.SUBSTRING, cover))
    return hits.select("row", "fpri", score=score)


def all_words_hits(c: Candidates, q: QueryForms) -> pl.DataFrame:
    """Values containing every query word, in any order ("cell T" -> "T cell").

    The last word typed may be incomplete, so it only has to start a word; the others must be
    whole words (otherwise "t" in "t-cel" would match every word starting with "t"). One pass
    over all values tests the longest pattern (usually the most selective); the others are
    tested on its hits only.
    """
    if len(q.tokens) < 2:
        return pl.DataFrame(schema=_HITS_SCHEMA)
    *complete, last = q.tokens
    patterns = sorted({f" {t} " for t in complete} | {f" {last}"}, key=len, reverse=True)
    first = c.scan(lambda lf: lf.filter(pl.col("fuzzy") & pl.col("norm").str.contains(patterns[0], literal=True)))
    rest = pl.all_horizontal([pl.col("norm").str.contains(p, literal=True) for p in patterns[1:]])
    cover = scoring.coverage(len(q.words), pl.col("nlen"))
    return first.lazy().filter(rest).select("row", "fpri", score=scoring.in_band(scoring.ALL_WORDS, cover)).collect()


def similarity(queries: list[str], choices: list[str], cutoff: float) -> np.ndarray:
    """rapidfuzz ``ratio`` of every query against every choice, 0 below ``cutoff`` (all cores)."""
    return process.cdist(queries, choices, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float32, workers=-1)


def _max_ratio(query_len: int, value_len: int) -> float:
    """The highest rapidfuzz ``ratio`` two strings of these lengths can have."""
    return 200.0 * min(query_len, value_len) / (query_len + value_len) if query_len + value_len else 100.0


def fuzzy_hits(
    c: Candidates, q: QueryForms, *, reordered: bool = True, need: int | None = None, taken: np.ndarray | None = None
) -> pl.DataFrame:
    """Values similar to the query (typos, missing spaces, word order) above the cut-off.

    Only values whose length can reach the cut-off are compared (a slice of the length-sorted
    choices). ``reordered`` adds the word-sorted comparison for multi-word queries ("cell
    dendritc" ~ "dendritic cell"). With ``need`` (the records still missing from the limit),
    values are compared in rings of growing length difference from the query, and the search
    stops once ``need`` records (other than the ``taken`` ones, already hit by better tiers)
    are found that no remaining value can beat: a value whose
    length differs by ``d`` scores at most ``200 min(lq, lv) / (lq + lv)``. Exact, and much
    cheaper for long queries with many near-duplicates ("T cell 17" among "T cell 1..10^6").
    """
    empty = pl.DataFrame(schema=_HITS_SCHEMA)
    if not q.words or not c.choices:
        return empty
    lq = len(q.words)
    shortest, longest = scoring.length_window(lq)
    multi = reordered and len(q.tokens) >= 2

    def score(sl: slice) -> np.ndarray:
        best = similarity([q.words], c.choices[sl], scoring.FUZZY_CUTOFF)[0]
        if multi:
            cut = scoring.FUZZY_CUTOFF / scoring.SORTED_WEIGHT
            best = np.maximum(best, similarity([q.sorted], c.sorted_choices[sl], cut)[0] * scoring.SORTED_WEIGHT)
        return best

    rings: list[Any]
    if need is None:
        rings = [c.window(shortest, longest)]
    else:
        rings, d, prev = [], 0, -1
        while lq - prev > shortest or lq + prev < longest:
            rings.append((prev, d))
            prev, d = d, max(d + 1, int(d * 1.5))
    pos_parts, score_parts = [], []
    for ring in rings:
        if isinstance(ring, slice):
            slices = [ring]
        else:
            inner, outer = ring  # lengths with inner < |len - lq| <= outer
            slices = [
                c.window(max(shortest, lq - outer), min(longest, lq - inner - 1)),
                c.window(max(shortest, lq + inner + 1), min(longest, lq + outer)),
            ]
            if inner < 0:
                slices = [c.window(max(shortest, lq - outer), min(longest, lq + outer))]
        for sl in slices:
            if sl.stop <= sl.start:
                continue
            best = score(sl)
            found = np.flatnonzero(best)
            pos_parts.append(sl.start + found)
            score_parts.append(best[found])
        if need is not None and not isinstance(ring, slice) and pos_parts:
            outer = ring[1]
            bound = max(_max_ratio(lq, lq - outer - 1), _max_ratio(lq, lq + outer + 1))
            found_scores = np.concatenate(score_parts)
            if len(found_scores) >= need:
                rows = c.words["row"].gather(c.choice_pos[np.concatenate(pos_parts)]).to_numpy()
                new = ~np.isin(rows, taken) if taken is not None and len(taken) else np.ones(len(rows), bool)
                rows, new_scores = rows[new], found_scores[new]
                order = np.argsort(-new_scores, kind="stable")
                _, first = np.unique(rows[order], return_index=True)
                per_record = np.sort(new_scores[order][first])[::-1]
                if len(per_record) >= need and bound < per_record[need - 1] - 0.01:
                    break
    if not pos_parts:
        return empty
    found_pos = np.concatenate(pos_parts)
    found_scores = np.concatenate(score_parts).astype(np.float64)
    pos = c.choice_pos[found_pos]
    return pl.DataFrame(
        {
            "row": c.words["row"].gather(pos),
            "fpri": c.words["fpri"].gather(pos),
            "score": np.minimum(scoring.fuzzy_score(found_scores), scoring.ALL_WORDS - 0.01),
        },
        schema=_HITS_SCHEMA,
    )


def sort_key() -> pl.Expr:
    """One Int64 per hit ordering by score (desc) then field priority (asc)."""
    return ((pl.col("score") * _SCALE).round().cast(pl.Int64) * (1 << _FPRI_BITS)) + (
        (1 << _FPRI_BITS) - 1 - pl.col("fpri").cast(pl.Int64)
    )


def decode_score() -> pl.Expr:
    """The score (2 decimals) back from a ``sort_key`` column named ``key``."""
    return ((pl.col("key") // (1 << _FPRI_BITS)).cast(pl.Float64) / _SCALE).round(2)


def best_per_row(hits: list[pl.DataFrame], limit: int | None) -> pl.DataFrame:
    """Each record once, by its best hit; best first, ties by field priority then position.

    With a limit, the best ``4 x limit`` hits (one O(n) ``top_k``) usually hold ``limit``
    distinct records, and then they are the answer: every other hit sorts after them. Only
    when records repeat so much that they do not, all hits are grouped per record.
    """
    every = pl.concat(hits, how="vertical_relaxed").lazy().select("row", key=sort_key())
    if limit is not None:
        head = every.top_k(4 * limit, by=["key", "row"], reverse=[False, True]).collect()
        if head.height < 4 * limit or head["row"].n_unique() >= limit:
            every = head.lazy()
    best = every.group_by("row").agg(pl.col("key").max())
    if limit is not None:
        best = best.top_k(limit, by=["key", "row"], reverse=[False, True])
    return best.sort(["key", "row"], descending=[True, False]).select("row", score=decode_score()).collect()


def _distinct_rows(hits: list[pl.DataFrame], enough: int) -> int:
    """Number of distinct records hit (exact only when it matters: below ``enough``)."""
    total = sum(h.height for h in hits)
    if total < enough:
        return total
    return pl.concat([h["row"] for h in hits if h.height]).n_unique()


def restrict(hits: pl.DataFrame, allowed: np.ndarray | None) -> pl.DataFrame:
    """Keep hits on allowed record positions (``allowed``: one bool per record, or None for all)."""
    if allowed is None or hits.is_empty():
        return hits
    return hits.filter(pl.Series(allowed[hits["row"].to_numpy()]))


def rank(
    c: Candidates, query: str, *, limit: int | None = 20, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the best-matching records (best first) and their scores (0-100).

    ``allowed`` (one bool per record) restricts the search to a subset, e.g. a filtered query
    set searched through the whole registry's cached candidates. An empty query matches every
    record with score 0 (as LaminDB's ``search("")``), in stored order.

    >>> import polars as pl
    >>> from registry.search.candidates import FieldRole, build
    >>> frame = pl.DataFrame({"name": ["PP cell", "nodal myocyte"], "synonyms": [None, "P cell"]})
    >>> c = build(frame, [FieldRole("name"), FieldRole("synonyms", split=True)], case_sensitive=False)
    >>> rows, scores = rank(c, "P cell")
    >>> rows.tolist(), scores.tolist()[0]
    ([1, 0], 100.0)
    """
    if limit is not None and limit <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    q = query_forms(query, c.case_sensitive)
    if not q.raw:
        rows = np.arange(c.n_rows, dtype=np.int64) if allowed is None else np.flatnonzero(allowed)
        rows = rows if limit is None else rows[:limit]
        return rows, np.zeros(len(rows))
    # With a subset, tier shortcuts that count hits would count records outside it.
    hits = [restrict(rule_hits(c, q, limit if allowed is None else None), allowed), restrict(id_hits(c, q), allowed)]
    # Bands are disjoint: once the better tiers fill the limit, no lower tier can enter it.
    if limit is None or _distinct_rows(hits, limit) < limit:
        words_hits = restrict(all_words_hits(c, q), allowed)
        hits.append(words_hits)
        if limit is None or _distinct_rows(hits, limit) < limit:
            # Reordered words were found by the all-words tier already; the word-sorted
            # similarity pass is only needed for reordered words *with* a typo.
            # (with a subset, records outside it must not count towards ``need``)
            need, taken = None, None
            if limit is not None and allowed is None:
                taken = pl.concat([h["row"] for h in hits]).unique().to_numpy()
                need = limit - len(taken)
            hits.append(restrict(fuzzy_hits(c, q, reordered=words_hits.is_empty(), need=need, taken=taken), allowed))
    ranked = best_per_row(hits, limit)
    return ranked["row"].to_numpy().astype(np.int64), ranked["score"].to_numpy()
