"""The one text vocabulary: how curation and search fold case, normalise punctuation and split words.

Two forms of a text are compared anywhere in the package:

* the **folded** form (``fold_case``): Unicode lower case. The case-insensitive tier of
  validate / inspect / standardize / from_values and every case-insensitive search compare it.
* the **word form** (``word_form``): folded, every run of characters that are neither letters
  nor digits is one space, trimmed, and a plural "s" closing a word of 4+ letters is dropped:
  ``"CD4-positive, T cells" -> "cd4 positive t cell"``. Fuzzy "did you mean" suggestions
  (``inspect``) and the word, phrase and typo tiers of ``search`` compare it, so the two agree
  on what a typo is close to.

Each form has a vectorised version over a polars Series (used on every hot path) and a scalar
version for one text (``..._str``: a search query). They agree value for value: the scalar
versions compute ASCII text in Python (the same rules, spelled for ASCII) and hand anything
else to the vectorised version, and a property test checks the two against each other and
against the plain regex definition (``WORD_SEPARATOR``, ``PLURAL``).

Pure: polars, pyarrow and numpy only; nothing here imports the rest of the package.
"""

from __future__ import annotations

import re
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "WORD_SEPARATOR",
    "PLURAL",
    "fold_case",
    "fold_case_str",
    "word_form",
    "word_form_str",
    "sorted_words",
    "sorted_words_str",
    "split_words",
]

# The definition the fast paths implement (polars / Rust regex syntax). Anything that is not a
# letter or a digit separates words: spaces, LaminDB's separators ``|.,;:``, ``-``, ``/``,
# brackets, ``+``, ``_``; so "T-cell" reads like "T cell" and "CD4+" like "cd4".
WORD_SEPARATOR = r"[^\p{L}\p{N}]+"
# A plural "s" closing a word of at least 4 letters ("T cells" ~ "T cell": users paste plural
# column labels; ontologies use the singular). Applied after WORD_SEPARATOR, before trimming.
PLURAL = r"(\p{L}{3})s\b"

_SPACE, _S = 32, ord("s")
SeriesOrExpr = TypeVar("SeriesOrExpr", pl.Series, pl.Expr)
_ASCII_SEPARATOR = re.compile(r"[^A-Za-z0-9]+")


def _arrow(s: pl.Series) -> pa.Array:
    arr = s.to_arrow()
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def fold_case(texts: pl.Series) -> pl.Series:
    """Unicode lower case, the one case folding on both sides of every case-insensitive match.

    Arrow's ``utf8_lower`` (one code point to one, so ``"ΟΔΟΣ"`` folds to ``"οδοσ"`` and
    ``"İ"`` to ``"i"``) is 3-5x faster than polars' ``str.to_lowercase``, and for ASCII-only text
    (most identifiers) Arrow's ASCII kernel, the same mapping there, another ~10x.

    >>> fold_case(pl.Series(["T Cell", None, "ΟΔΟΣ"])).to_list()
    ['t cell', None, 'οδοσ']
    """
    if len(texts) == 0:
        return texts.cast(pl.String)
    if texts.dtype == pl.Null:
        return texts.cast(pl.String)
    arr = _arrow(texts)
    data = arr.buffers()[2]
    ascii_only = data is None or len(data) == 0 or np.frombuffer(data, dtype=np.uint8).max() < 128
    return pl.Series(texts.name, pc.ascii_lower(arr) if ascii_only else pc.utf8_lower(arr), dtype=pl.String)


def fold_case_str(text: str) -> str:
    """``fold_case`` of one text.

    >>> fold_case_str("T Cell"), fold_case_str("ΟΔΟΣ")
    ('t cell', 'οδοσ')
    """
    if text.isascii():
        return text.lower()  # on ASCII: A-Z -> a-z, as Arrow's kernels
    return fold_case(pl.Series([text], dtype=pl.String))[0]


def word_form(texts: pl.Series, *, fold: bool = True) -> pl.Series:
    """The word form of every text (nulls stay null); ``fold=False`` keeps the case as it is.

    Works on the UTF-8 bytes: ASCII bytes other than letters and digits become spaces and plural
    "s" bytes are dropped in a few numpy passes; only texts that then need more (doubled,
    leading or trailing spaces, or non-ASCII characters, whose class a byte test cannot see) go
    through the regex definition.

    >>> word_form(pl.Series(["CD4-positive, T cells", "  B (cell) ", "Zellkörper–Typ", None])).to_list()
    ['cd4 positive t cell', 'b cell', 'zellkörper typ', None]
    """
    if len(texts) == 0 or texts.dtype == pl.Null:
        return texts.cast(pl.String)
    low = fold_case(texts) if fold else texts.cast(pl.String)
    arr = _arrow(low)
    validity, offsets, data = arr.buffers()
    if data is None or len(data) == 0:
        return low
    d = np.frombuffer(data, dtype=np.uint8)
    letter = ((d >= 97) & (d <= 122)) | ((d >= 65) & (d <= 90))
    word = letter | ((d >= 48) & (d <= 57)) | (d >= 128)  # letters, digits, non-ASCII
    mapped = np.where(word, d, np.uint8(_SPACE)).astype(np.uint8, copy=False)
    all_offs = np.frombuffer(offsets, dtype=np.int64)[: arr.offset + len(arr) + 1]
    offs = all_offs[arr.offset :]
    starts, ends = offs[:-1], offs[1:]
    filled = ends > starts
    space = ~word
    last = len(d) - 1
    # texts needing the regex, found on the bytes: separators at either end, doubled separators,
    # non-ASCII characters
    bad = filled & (space[np.minimum(starts, last)] | space[np.maximum(ends - 1, 0)])
    odd = np.flatnonzero((space[1:] & space[:-1]) | (d[1:] >= 128))
    if len(odd):
        bad[np.searchsorted(offs, odd, "right") - 1] = True
    # plural "s": an "s" ending a word (a space or the text's end follows) after three letters
    # of the same text; found among the few "s" bytes so marked
    s_at = np.flatnonzero(mapped == _S)
    if len(s_at):
        s_at = s_at[(s_at >= 3) & (s_at >= offs[0]) & (s_at < offs[-1])]
    if len(s_at):
        text_start = offs[np.searchsorted(offs, s_at, "right") - 1]
        text_end = offs[np.searchsorted(offs, s_at, "right")]
        final = (s_at + 1 == text_end) | (mapped[np.minimum(s_at + 1, last)] == _SPACE)
        plural = final & (s_at - 3 >= text_start) & letter[s_at - 1] & letter[s_at - 2] & letter[s_at - 3]
        s_at = s_at[plural]
    if len(s_at):
        keep = np.ones(len(mapped), dtype=bool)
        keep[s_at] = False
        kept = np.zeros(len(mapped) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        mapped = mapped[keep]
        offsets = pa.py_buffer(kept[all_offs])
    out = pl.Series(
        texts.name,
        pa.Array.from_buffers(arr.type, len(arr), [validity, offsets, pa.py_buffer(mapped)], offset=arr.offset),
        dtype=pl.String,
    )
    if bad.any():
        idx = pl.Series(np.flatnonzero(bad))
        fixed = (
            low.gather(idx)
            .str.replace_all(WORD_SEPARATOR, " ")
            .str.replace_all(PLURAL, "${1}")
            .str.strip_chars(" ")
        )
        out = out.scatter(idx, fixed)
    return out


def _singular(word: str) -> str:
    """PLURAL on one ASCII word (letters and digits only)."""
    if len(word) >= 4 and word[-1] == "s" and word[-4:-1].isalpha():
        return word[:-1]
    return word


def word_form_str(text: str, *, fold: bool = True) -> str:
    """``word_form`` of one text.

    >>> word_form_str("CD4-positive, T cells"), word_form_str("T Cells", fold=False)
    ('cd4 positive t cell', 'T Cell')
    """
    if not text.isascii():
        return word_form(pl.Series([text], dtype=pl.String), fold=fold)[0]
    if fold:
        text = text.lower()
    return " ".join(_singular(w) for w in _ASCII_SEPARATOR.split(text) if w)


def split_words(words: str) -> tuple[str, ...]:
    """The words of a word form (``()`` for the empty one)."""
    return tuple(words.split(" ")) if words else ()


def sorted_words(words: SeriesOrExpr) -> SeriesOrExpr:
    """Words of each word form in alphabetical order, for word-order-insensitive similarity.

    Takes a Series or an expression (to run inside a lazy query, e.g. on slices in parallel).

    >>> sorted_words(pl.Series(["t cell", "dendritic cell"])).to_list()
    ['cell t', 'cell dendritic']
    """
    # list.eval(sort) is ~10x faster than list.sort() on string lists in polars 2.1
    return words.str.split(" ").list.eval(pl.element().sort()).list.join(" ")


def sorted_words_str(words: str) -> str:
    """``sorted_words`` of one word form (Python orders str by code point, polars by UTF-8
    bytes: the same order)."""
    return " ".join(sorted(words.split(" ")))
