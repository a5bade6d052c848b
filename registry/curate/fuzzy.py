"""Typo-tolerant suggestions for values that matched nothing ("did you mean 'T cell'?").

LaminDB's ``inspect`` gives no suggestions at all. We score the unmatched values against
every name and synonym with rapidfuzz ``process.cdist`` (one vectorised, multi-threaded
``fuzz.ratio`` call) on the word forms of both sides (``registry.text.word_form``: folded,
punctuation as spaces, plural "s" dropped; the form search's typo tier compares too, so
``inspect`` and ``search`` agree on what a typo is close to), then keep the best few distinct
names per value.

What keeps it cheap:

* **The word form is byte-vectorised** (see ``registry.text``); choices are normalised once
  per index.
* **A lossless length window.** ``ratio >= c`` needs ``min(len) / max(len) >= c / (200 - c)``
  (2/3 at the default cutoff of 80). The normalised choices are kept as one Python list
  sorted by length (built once per index), so each band of query lengths scores only a
  slice of it.

A full cdist is ``queries x choices`` cells (~30 M cells/s on 2 cores), so ``inspect`` only
spends a bounded budget eagerly (``EAGER_CELLS``); ``InspectResult.suggest()`` computes the
rest on request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..text import word_form
from .matching import ReferenceIndex, _insert_sorted

# ~15 ms on 2 cores: at 10^6 choices that is 1 value, at 10^4 choices 50 values. This
# is what ``inspect`` spends for its "did you mean" hint; ``InspectResult.table`` spends
# ``TABLE_CELLS`` (on first access) and ``suggest()`` whatever it is asked for.
EAGER_CELLS = 500_000
# the inspect log shows this many "did you mean" hints; no more are computed eagerly
EAGER_VALUES = 5
TABLE_CELLS = 20_000_000
# registries up to this size get suggestions in the inspect log even on a cold cache
EAGER_RECORDS = 100_000
DEFAULT_CUTOFF = 80.0
DEFAULT_LIMIT = 3


@dataclass(frozen=True)
class Choices:
    """Every text a value may be close to, and the record each stands for.

    Attributes:
        texts: raw names (non-empty, save order), then raw synonyms (exploded, save order).
        rows: per text, the reference row of the record it names.
        n_names: how many texts are names (a prefix of ``texts``).
    """

    texts: pl.Series
    rows: np.ndarray
    n_names: int

    def __len__(self) -> int:
        return len(self.texts)

    def equals(self, other: Choices) -> bool:
        return (
            self.n_names == other.n_names and self.texts.equals(other.texts) and np.array_equal(self.rows, other.rows)
        )


_EMPTY = pl.Series("text", [], dtype=pl.String)


def _names_part(index: ReferenceIndex, start: int = 0) -> tuple[pl.Series, np.ndarray]:
    names = index.names.slice(start)
    keep = (names.is_not_null() & (names != "")).to_numpy()
    return names.filter(pl.Series(keep)), np.flatnonzero(keep) + start


def _synonyms_part(index: ReferenceIndex, ex: pl.DataFrame | None = None) -> tuple[pl.Series, np.ndarray]:
    if index.synonyms_field is None:
        return _EMPTY, np.zeros(0, np.int64)
    ex = index.exploded_synonyms() if ex is None else ex
    return ex.get_column("__synonym"), ex.get_column("__row").to_numpy()


def _choices(parts: list[tuple[pl.Series, np.ndarray]], n_names: int) -> Choices:
    return Choices(
        texts=pl.concat([t.alias("text") for t, _ in parts], rechunk=False),
        rows=np.concatenate([r for _, r in parts]).astype(np.int64, copy=False),
        n_names=n_names,
    )


def choices(index: ReferenceIndex) -> Choices:
    """The index's choices, cached per index (a concat of columns the matchers hold anyway)."""
    if not index.is_text:
        return _choices([(_EMPTY, np.zeros(0, np.int64))], 0)

    def build() -> Choices:
        names = _names_part(index)
        return _choices([names, _synonyms_part(index)], len(names[0]))

    return index._cached("fuzzy_choices", build)


def extended_choices(old: ReferenceIndex, new: ReferenceIndex) -> None:
    """Carry ``old``'s choices over to ``new`` (``old``'s frame plus appended rows).

    A fresh build lists [names, synonyms]; after an append that is [old names, new names,
    old synonyms, new synonyms], assembled from slices; the normalised, length-sorted list,
    if built, gets only the new texts merged in (``_insert_prepared``).
    """
    ch = old._memo.get("fuzzy_choices")
    if ch is None or not new.is_text:
        return
    n_old, k = len(old), ch.n_names
    names = _names_part(new, n_old)
    ex = None
    if new.synonyms_field is not None:
        ex = new.exploded_synonyms()
        old_ex = old._memo.get("exploded")
        ex = ex.slice(old_ex.height) if old_ex is not None else ex.filter(pl.col("__row") >= n_old)
    syns = _synonyms_part(new, ex)
    parts = [(ch.texts.head(k), ch.rows[:k]), names, (ch.texts.slice(k), ch.rows[k:]), syns]
    new_ch = _choices(parts, k + len(names[0]))
    new._memo["fuzzy_choices"] = new_ch
    prepared = old._memo.get("fuzzy_sorted")
    if prepared is not None:
        n_names, n_ch = len(names[0]), len(ch)
        # positions of the new texts in the new choices: new names after the old names,
        # new synonyms at the end; old synonyms move back by the number of new names
        at = np.concatenate([np.arange(k, k + n_names), np.arange(n_ch + n_names, len(new_ch))])
        added = pl.concat([names[0], syns[0]]) if len(syns[0]) else names[0]
        new._memo["fuzzy_sorted"] = _insert_prepared(prepared, k, n_names, added, at)


ReferenceIndex.appenders["fuzzy_choices"] = extended_choices


def _insert_prepared(prepared, k: int, n_names: int, added: pl.Series, at: np.ndarray):
    """``prepared`` (see ``_prepared``) with the texts ``added`` at choice positions ``at``.

    Equal to preparing the extended choices from scratch: entries stay ordered by (length,
    position), the new ones are merged in with one ``searchsorted`` and list slicing.
    """
    lengths, order, texts = prepared
    order = np.where(order >= k, order + n_names, order)
    if len(added) == 0:
        return lengths, order, texts
    norm = word_form(added)
    add_len = norm.str.len_chars().to_numpy().astype(np.int64, copy=False)
    add_order = np.lexsort((at, add_len))
    add_len, at, add_texts = add_len[add_order], at[add_order], norm.gather(pl.Series(add_order)).to_list()
    span = np.int64(max(int(order.max(initial=0)), int(at.max())) + 1)
    ins = np.searchsorted(lengths * span + order, add_len * span + at)
    out_texts = texts.copy()  # older InspectResults may still read the old list
    for j, (i, text) in enumerate(zip(ins.tolist(), add_texts, strict=True)):  # a handful per commit
        out_texts.insert(i + j, text)
    return _insert_sorted(lengths, ins, add_len), _insert_sorted(order, ins, at), out_texts


def eager_ok(index: ReferenceIndex) -> bool:
    """Whether ``inspect`` may compute suggestions right away (for its log line).

    Preparing the choices (normalising every name and synonym into one Python list) is a
    one-off cost per index, ~50 ms per 10^5 records; above ``EAGER_RECORDS`` it is left to
    the first ``InspectResult.table`` / ``suggest()`` access unless already done.
    """
    return index.is_text and (len(index) <= EAGER_RECORDS or "fuzzy_sorted" in index._memo)


def eager_count(n_queries: int, n_choices: int, budget: int = EAGER_CELLS) -> int:
    """How many queries fit in the eager budget (at least one, so logs can show a hint)."""
    if n_choices == 0:
        return 0
    return int(min(n_queries, max(1, budget // n_choices)))


def eager_values(n_queries: int, n_choices: int, budget: int = EAGER_CELLS) -> int:
    """How many values ``inspect`` scores for its log line: within budget, at most ``EAGER_VALUES``."""
    return min(EAGER_VALUES, eager_count(n_queries, n_choices, budget))


def _window(cutoff: float, q_lengths: np.ndarray) -> tuple[int, int]:
    """Choice lengths that can reach ``cutoff`` against queries of ``q_lengths`` characters."""
    if cutoff <= 0:
        return 1, 1 << 62
    r = cutoff / (200.0 - cutoff)  # min(len) / max(len) >= r
    lo = max(1, math.floor(int(q_lengths.min()) * r))
    hi = math.ceil(int(q_lengths.max()) / r) if r > 0 else 1 << 62
    return lo, hi


def _folded_texts(index: ReferenceIndex) -> pl.Series | None:
    """``choices(index).texts`` case-folded, from the casing/synonym indexes when both are built."""
    lower, syn = index._resolved("lower"), index._resolved(("synonyms", False))
    if lower is None or (index.synonyms_field is not None and syn is None):
        return None
    names = index.names
    lowered = lower.keys.filter(names.is_not_null() & (names != ""))
    return pl.concat([lowered, syn.keys]) if syn is not None else lowered


def _prepared(index: ReferenceIndex, ch: Choices) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Normalised choices sorted by length: (lengths ascending, positions into ``ch``, texts).

    Built once per index: the one pass that turns choices into Python strings rapidfuzz reads.
    """

    def build():
        folded = _folded_texts(index)
        norm = word_form(ch.texts) if folded is None else word_form(folded, fold=False)
        lengths = norm.str.len_chars().to_numpy().astype(np.int64, copy=False)
        order = np.argsort(lengths, kind="stable")
        return lengths[order], order, norm.gather(pl.Series(order)).to_list()

    return index._cached("fuzzy_sorted", build)


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
    schema: dict[str, Any] = {"value": pl.String, "suggestions": pl.List(pl.String), "scores": pl.List(pl.Float64)}
    out_names: list[list[str]] = [[] for _ in range(len(q))]
    out_scores: list[list[float]] = [[] for _ in range(len(q))]
    ch = choices(index) if len(q) and limit > 0 else None
    if ch is not None and len(ch):
        lengths, order, texts = _prepared(index, ch)
        q_forms = word_form(q).fill_null("")
        q_len = q_forms.str.len_chars().to_numpy().astype(np.int64)
        qn = q_forms.to_list()
        live = np.flatnonzero(q_len > 0)
        # queries grouped by length, each group scored against its own length window
        live = live[np.argsort(q_len[live], kind="stable")]
        for group in _length_groups(q_len[live]):
            qi_group = live[group]
            lo, hi = _window(score_cutoff, q_len[qi_group])
            a, b = np.searchsorted(lengths, lo, "left"), np.searchsorted(lengths, hi, "right")
            if a == b:
                continue
            scores = process.cdist(
                [qn[i] for i in qi_group.tolist()],
                texts[a:b],
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=score_cutoff,
                workers=-1,
                dtype=np.float32,
            )
            _collect(index, ch, scores, qi_group, order[a:b], limit, out_names, out_scores)
    return pl.DataFrame({"value": q, "suggestions": out_names, "scores": out_scores}, schema=schema)


def _length_groups(lengths: np.ndarray) -> list[np.ndarray]:
    """Positions of ascending query lengths, grouped into bands a factor 1.5 wide (log scale)."""
    if not len(lengths):
        return []
    band = np.floor(np.log(lengths) / np.log(1.5)).astype(np.int64)
    cuts = np.flatnonzero(band[1:] != band[:-1]) + 1
    return np.split(np.arange(len(lengths)), cuts)


def _collect(
    index, ch: Choices, scores: np.ndarray, qi_group: np.ndarray, pos: np.ndarray, limit: int, out_names, out_scores
):
    """The best ``limit`` distinct names per query from a (queries x candidates) score matrix."""
    # scores below the cutoff are 0: the hits are a sparse set, ranked without touching the rest
    qi, ci = np.nonzero(scores)
    if not len(qi):
        return
    sc = scores[qi, ci]
    # ties: names before synonyms, then save order (whichever way the candidates were picked)
    order = np.lexsort((pos[ci], -sc, qi))
    qi, ci, sc = qi[order], ci[order], sc[order]
    # keep the best few hits per query (short names can have thousands above the cutoff)
    starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
    counts = np.diff(np.r_[starts, len(qi)])
    rank = np.arange(len(qi)) - np.repeat(starts, counts)
    best = rank < limit * 4
    qi, ci, sc = qi[best], ci[best], sc[best]
    rows = ch.rows[pos[ci]]
    names = index.names.gather(pl.Series(rows)).to_list()
    # one pass over the hits (few per query), de-duplicating names (a name and its synonyms)
    for i, name, v in zip(qi_group[qi].tolist(), names, sc.tolist(), strict=True):
        lst = out_names[i]
        if len(lst) == limit or name in lst:
            continue
        lst.append(name)
        out_scores[i].append(round(v, 1))
