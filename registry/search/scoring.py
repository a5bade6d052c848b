"""Score bands: every tier owns a disjoint range of 0-100, so a better tier always ranks first.

=====================  ==============  =====================================================
tier                   score           a record's value (or one whole synonym) ...
=====================  ==============  =====================================================
exact                  100             equals the query (case-folded unless case_sensitive)
phrase                 [90, 100)       contains the query as whole words ("t cell" in
                                       "CD4-positive, alpha-beta T cell"; "t cell" ~ "T-cell")
word start             [80, 90)        has a word starting with the query ("kidne" ->
                                       "kidney cell"), or starts with it
substring              [70, 80)        contains the query anywhere; also any hit inside long
                                       free text (description) and prefixes of ids
all words              [60, 70)        contains every query word, in any order ("cell T")
fuzzy                  [45, 60)        is similar by rapidfuzz (``0.6 x`` similarity, which is
                                       at least the cut-off 75): typos, missing spaces
=====================  ==============  =====================================================

Word tiers compare word forms (``registry.text.word_form``, as inspect's suggestions): case-folded unless
case_sensitive, every run of non-letters/digits is one space ("T-cell" ~ "t cell",
"CD4+" ~ "cd4") and a plural "s" closing a word of 4+ letters is dropped ("T cells" ~ "T cell").
The exact tier compares the folded raw values, so only a value typed exactly (up to case) is 100.

Inside a band, candidates closer in length to the query rank higher: the offset is
``9.99 x coverage`` with ``coverage = 2 len(q) / (len(q) + len(value))`` measured on the
word-normalised forms (for a substring hit this equals rapidfuzz's normalised Indel similarity).
So "kidney cell" ranks above "kidney loop of Henle epithelial cell" for "kidney".

LaminDB (since Nov 2024) sums regex weights over fields (exact 200, whole synonym 200, phrase 10,
synonym prefix 8, word start 2, word end 2, substring 1) and has no typo tolerance; these bands
keep its order (exact and whole synonym first, then phrase, then word starts, then substrings)
and add the fuzzy tier under it. A record scores by its best value, not the sum, so a record
with many weak hits cannot outrank a record with one exact hit.
"""

from __future__ import annotations

import numpy as np
import polars as pl

EXACT = 100.0
PHRASE = 90.0
WORD_START = 80.0
SUBSTRING = 70.0
ALL_WORDS = 60.0
FUZZY_WEIGHT = 0.6
# rapidfuzz ``ratio`` (normalised Indel similarity, 0-100) a fuzzy hit needs: one typo in a
# 10-letter word gives 90, "Tcell" vs "t cell" 91, "ULabel7" vs "ulabel5" 86.
FUZZY_CUTOFF = 75.0
# Word-order-insensitive similarity (sorted words) counts a little less than the plain one,
# as in rapidfuzz's WRatio, so the order the user typed wins ties.
SORTED_WEIGHT = 0.95
_SPREAD = 9.99


def length_window(query_len: int, cutoff: float = FUZZY_CUTOFF) -> tuple[int, int]:
    """Lengths a value can have and still reach ``cutoff`` in rapidfuzz ``ratio`` against the query.

    ``ratio = 200 * LCS / (len(q) + len(v))`` and ``LCS <= min(len(q), len(v))``, so
    ``len(v)`` must lie in ``[len(q) * c / (200 - c), len(q) * (200 - c) / c]``.
    """
    return int(query_len * cutoff / (200.0 - cutoff)), int(np.ceil(query_len * (200.0 - cutoff) / cutoff))


def coverage(query_len: pl.Expr | int, value_len: pl.Expr) -> pl.Expr:
    """Share of the value the query covers, in [0, 1]."""
    q = query_len if isinstance(query_len, pl.Expr) else pl.lit(query_len)
    total = q + value_len
    return pl.when(total > 0).then((2.0 * q / total).clip(0.0, 1.0)).otherwise(1.0)


def in_band(low: float, cover: pl.Expr) -> pl.Expr:
    """A score inside the band starting at ``low``: better coverage, higher score, never the next band."""
    return pl.lit(low) + _SPREAD * cover


def fuzzy_score(similarity):
    """Map a rapidfuzz similarity (>= FUZZY_CUTOFF) into the fuzzy band."""
    return FUZZY_WEIGHT * similarity
