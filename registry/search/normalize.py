"""Text forms that search compares: case-folded raw values and word-normalised values.

Candidates and queries go through the *same* polars expressions, so a query and a record that
look alike to a user also look alike byte for byte here (Python's ``str.lower`` and polars'
``to_lowercase`` could in principle disagree on exotic characters; one code path rules that out).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# Anything that is not a letter or a digit separates words: spaces and LaminDB's separators
# ``|.,;:`` but also ``-``, ``/``, brackets and ``+``, so "CD4-positive" has the words "cd4" and
# "positive" and "T-cell" reads like "T cell". The pattern is ours, never built from a query.
_NON_WORD = r"[^\p{L}\p{N}]+"
# Same result as replacing _NON_WORD runs by one space, but a single space between two words
# (the common case) is not a match, so most values need no replacement at all (2.5x faster).
_SEPARATOR_RUN = r"[^\p{L}\p{N}]*[^\p{L}\p{N} ][^\p{L}\p{N}]*|  +"
# A plural "s" closing a word of at least 4 letters is dropped on both sides, so "T cells" finds
# "T cell" in the word tiers (users paste plural column labels; ontologies use the singular).
_PLURAL = r"(\p{L}{3})s\b"


def fold(expr: pl.Expr, case_sensitive: bool) -> pl.Expr:
    """The raw value as compared: lower-cased unless the search is case sensitive."""
    return expr if case_sensitive else expr.str.to_lowercase()


def words(folded: pl.Expr) -> pl.Expr:
    """Words of a folded value joined by single spaces, plural "s" dropped.

    "CD4-positive, T cells" -> "cd4 positive t cell" (case-insensitive search).
    """
    return folded.str.replace_all(_SEPARATOR_RUN, " ").str.replace_all(_PLURAL, "${1}").str.strip_chars(" ")


def padded(words_expr: pl.Expr) -> pl.Expr:
    """Words with a space on both sides, so " q" is a word start and " q " a whole phrase."""
    return pl.concat_str(pl.lit(" "), words_expr, pl.lit(" "))


def sorted_words(words_expr: pl.Expr) -> pl.Expr:
    """Words in alphabetical order, for word-order-insensitive similarity ("cell t" ~ "t cell")."""
    # list.eval(sort) is ~10x faster than list.sort() on string lists in polars 2.1
    return words_expr.str.split(" ").list.eval(pl.element().sort()).list.join(" ")


@dataclass(frozen=True)
class QueryForms:
    """One query in the forms the tiers compare.

    ``raw`` is the stripped, folded query (exact and literal substring tests); ``words`` its
    word-normalised form (word-boundary tests and fuzzy similarity); ``sorted`` its words in
    alphabetical order; ``tokens`` its words; ``original`` the stripped query before folding
    (uids are always compared case-sensitively).
    """

    original: str
    raw: str
    words: str
    sorted: str
    tokens: tuple[str, ...]


def query_frame(queries: list[str], case_sensitive: bool) -> pl.DataFrame:
    """Forms of many queries at once (one row per query, in order), through the candidates' expressions.

    Columns: ``qidx`` (position), ``original`` (stripped), ``raw`` (folded), ``words``,
    ``sorted`` (words in alphabetical order) and ``n_tokens``.
    """
    stripped = pl.Series("original", queries, dtype=pl.String).str.strip_chars()
    return (
        pl.DataFrame({"original": stripped})
        .with_row_index("qidx")
        .with_columns(raw=fold(pl.col("original"), case_sensitive))
        .with_columns(words=words(pl.col("raw")))
        .with_columns(
            sorted=sorted_words(pl.col("words")),
            n_tokens=pl.when(pl.col("words") == "")
            .then(0)
            .otherwise(pl.col("words").str.count_matches(" ", literal=True) + 1)
            .cast(pl.UInt32),
        )
    )


def query_forms(query: str, case_sensitive: bool) -> QueryForms:
    """Forms of one query."""
    row = query_frame([query], case_sensitive).row(0, named=True)
    w = row["words"]
    return QueryForms(
        original=row["original"],
        raw=row["raw"],
        words=w,
        sorted=row["sorted"],
        tokens=tuple(w.split(" ")) if w else (),
    )
