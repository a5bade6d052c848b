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
# byte -> byte of the word form: ASCII other than letters and digits -> space (non-ASCII bytes
# are kept; their texts take the regex path)
_TO_SPACE = np.array(
    [b if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b >= 128) else _SPACE for b in range(256)],
    dtype=np.uint8,
)
_LETTER = np.array([65 <= b <= 90 or 97 <= b <= 122 for b in range(256)], dtype=bool)
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

    Works on the UTF-8 bytes of all texts at once: ASCII bytes other than letters and digits
    become spaces (a 256-entry table), then the bytes the definition removes are dropped in
    one compaction: spaces at either end of a text or after another space, and plural "s"
    bytes. Only texts with non-ASCII characters (whose class a byte test cannot see) go
    through the regex definition.

    >>> word_form(pl.Series(["CD4-positive, T cells", "  B (cell) ", "Zellkörper–Typ", None])).to_list()
    ['cd4 positive t cell', 'b cell', 'zellkörper typ', None]
    """
    if len(texts) == 0 or texts.dtype == pl.Null:
        return texts.cast(pl.String)
    low = fold_case(texts) if fold else texts.cast(pl.String)
    arr = _arrow(low)
    validity, offsets, data = arr.buffers()
    all_offs = np.frombuffer(offsets, dtype=np.int64)[: arr.offset + len(arr) + 1]
    first, stop = int(all_offs[arr.offset]), int(all_offs[-1])
    if data is None or stop == first:
        return low
    raw = np.frombuffer(data, dtype=np.uint8)[first:stop]
    mapped = _TO_SPACE[raw]
    offs = all_offs[arr.offset :] - first
    starts, ends = offs[:-1], offs[1:]
    filled = ends > starts
    space = mapped == _SPACE
    drop = np.empty(len(mapped), dtype=bool)
    drop[0] = space[0]
    np.logical_and(space[1:], space[:-1], out=drop[1:])  # a space after a space
    lead = starts[filled]
    drop[lead[space[lead]]] = True  # a space opening a text
    # a text ending in spaces loses its last run of spaces (its first space; the rest are
    # dropped above): walk back over the run, a loop over the run's length, not over texts
    tail = np.flatnonzero(filled & space[np.maximum(ends - 1, 0)])
    if len(tail):
        pos, opening = ends[tail] - 1, starts[tail]
        while True:
            back = (pos > opening) & space[pos - 1]
            if not back.any():
                break
            pos[back] -= 1
        drop[pos] = True
    # plural "s": an "s" ending a word (a space or the text's end follows) after three letters
    # of the same text
    s_at = np.flatnonzero(mapped == _S)
    s_at = s_at[s_at >= 3]
    if len(s_at):
        text = np.searchsorted(ends, s_at, "right")
        final = (s_at + 1 == ends[text]) | space[np.minimum(s_at + 1, len(mapped) - 1)]
        plural = final & (s_at - 3 >= starts[text])
        plural &= _LETTER[mapped[s_at - 1]] & _LETTER[mapped[s_at - 2]] & _LETTER[mapped[s_at - 3]]
        drop[s_at[plural]] = True
    dropped = np.flatnonzero(drop)
    if len(dropped):
        mapped = np.delete(mapped, dropped)
        offs = offs - np.searchsorted(dropped, offs)
    new_offs = np.zeros(arr.offset + len(arr) + 1, dtype=np.int64)  # entries before the slice: unused
    new_offs[arr.offset :] = offs
    out = pl.Series(
        texts.name,
        pa.Array.from_buffers(
            pa.large_string(), len(arr), [validity, pa.py_buffer(new_offs), pa.py_buffer(mapped)], offset=arr.offset
        ),
        dtype=pl.String,
    )
    non_ascii = np.flatnonzero(raw >= 128)
    if len(non_ascii):
        idx = pl.Series(np.unique(np.searchsorted(ends, non_ascii, "right")))
        fixed = (
            low.gather(idx).str.replace_all(WORD_SEPARATOR, " ").str.replace_all(PLURAL, "${1}").str.strip_chars(" ")
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
