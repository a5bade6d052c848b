"""The forms of a search query that the tiers compare, in the vocabulary of ``registry.text``.

Stored values (``candidates``) and queries go through the same functions: ``fold_case`` for the
exact tier and ``word_form`` for the word, phrase and typo tiers; so a query and a record that
look alike to a user also look alike byte for byte here, and ``inspect``'s "did you mean" and
``search`` compare the same forms. One query takes the scalar forms (``..._str``, no DataFrame
per query), a batch the vectorised ones; the two agree (tests/test_text.py, test_search_rank.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from registry.text import (
    fold_case,
    fold_case_str,
    sorted_words,
    sorted_words_str,
    split_words,
    word_form,
    word_form_str,
)

# What polars' ``str.strip_chars()`` strips from stored values: Unicode White_Space (Rust's
# ``char::is_whitespace``), not Python's ``str.isspace`` (which adds U+001C..U+001F).
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class QueryForms:
    """One query in the forms the tiers compare.

    ``raw`` is the stripped, folded query (exact and literal substring tests); ``words`` its
    word form (word-boundary tests and fuzzy similarity); ``sorted`` its words in
    alphabetical order; ``tokens`` its words; ``original`` the stripped query before folding
    (uids are always compared case-sensitively).
    """

    original: str
    raw: str
    words: str
    sorted: str
    tokens: tuple[str, ...]


def query_frame(queries: list[str], case_sensitive: bool) -> pl.DataFrame:
    """Forms of many queries at once (one row per query, in order).

    Columns: ``qidx`` (position), ``original`` (stripped), ``raw`` (folded), ``words``,
    ``sorted`` (words in alphabetical order) and ``n_tokens``.
    """
    original = pl.Series("original", queries, dtype=pl.String).str.strip_chars()
    raw = (original if case_sensitive else fold_case(original)).alias("raw")
    words = word_form(raw, fold=False).alias("words")
    return (
        pl.DataFrame([original, raw, words])
        .with_row_index("qidx")
        .with_columns(
            sorted=sorted_words(pl.col("words")),
            n_tokens=pl.when(pl.col("words") == "")
            .then(0)
            .otherwise(pl.col("words").str.count_matches(" ", literal=True) + 1)
            .cast(pl.UInt32),
        )
    )


def query_forms(query: str, case_sensitive: bool) -> QueryForms:
    """Forms of one query (the scalar forms: equal to ``query_frame``'s row for it)."""
    original = query.strip(_WHITESPACE)
    raw = original if case_sensitive else fold_case_str(original)
    words = word_form_str(raw, fold=False)
    return QueryForms(
        original=original, raw=raw, words=words, sorted=sorted_words_str(words), tokens=split_words(words)
    )
