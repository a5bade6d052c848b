"""The matchers behind validate / inspect / standardize / from_values, as pure array functions.

Everything here works on a reference ``pl.DataFrame`` (one row per record, in save order,
i.e. sorted by id) and an input Series; no instance, no Record class. The three tiers are
LaminDB's (lamin-utils ``map_synonyms``):

1. exact, case-sensitive match on the field;
2. unless ``case_sensitive``: lower-cased match on the field; when several records differ
   only by case, the first one saved wins (regardless of ``keep``, as in LaminDB);
3. synonym match: the ``|``-joined synonyms column exploded, entries equal to the record's
   own name dropped; when one synonym belongs to several records ``keep`` picks the first or
   last saved, or (``keep=False``) all of them.

How it is fast: inputs are reduced to their distinct values with 64-bit hashes (one sort,
``sort_hashes``), and every lookup is a ``searchsorted`` of *sorted* query hashes into the
*sorted* hashes of the reference keys (cached per snapshot), which walks both arrays in
order instead of probing a hash table at random. A hit is confirmed by a second,
independently seeded 64-bit hash, so a wrong match needs two simultaneous 64-bit
collisions (~10^-27 for 10^6 values against 10^6 keys, far below the odds of a memory
error); two different reference keys never share the first hash (the index re-seeds).
Case folding is ``registry.text.fold_case`` (Arrow's; the one search uses too). On a large reference
the indexes a call needs are built on two background threads while the caller encodes its
input (``ReferenceIndex.prefetch``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from ..errors import InvalidArgument, RegistryError
from ..text import fold_case

Keep = Literal["first", "last", False]


class Tier(IntEnum):
    """How a value matched, best first: the codes of ``Matches.tier`` (one int8 per distinct value).

    The matchers assign EXACT, CASE, SYNONYM or NONE; FUZZY (no match, but a close suggestion)
    is decided later, by ``InspectResult.table``. ``label`` is the name users see in its ``tier``
    column.
    """

    EXACT = 0
    CASE = 1
    SYNONYM = 2
    FUZZY = 3
    NONE = 4

    @property
    def label(self) -> str:
        return _TIER_LABELS[self.value]

    @staticmethod
    def labels(codes: np.ndarray) -> pl.Series:
        """The label of every code of an array (vectorised)."""
        return pl.Series(_TIER_LABELS[codes], dtype=pl.String)


_TIER_LABELS = np.array(["exact", "case-insensitive", "synonym", "fuzzy", "none"], dtype=object)

_SEED = 0
_SEED2 = 1  # the confirming hash


def check_keep(keep) -> None:
    if not (keep is False or (isinstance(keep, str) and keep in ("first", "last"))):
        raise InvalidArgument(f"keep must be 'first', 'last' or False, got {keep!r}")


def hashes(s: pl.Series, seed: int = _SEED) -> np.ndarray:
    """64-bit hash per value (same seed on both sides, so input and reference hashes compare)."""
    return s.hash(seed=seed).to_numpy()


def sort_hashes(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(perm, h[perm])``: the permutation sorting ``h``, equal hashes in position order.

    A plain (non-arg) sort of 64-bit keys is ~3x faster than ``argsort`` (numpy sorts them
    with SIMD), so each hash has its position packed into its low bits and the packed keys
    are sorted. Hashes equal in their high bits but not in the bits the position replaced
    can come out of order; those few runs are re-sorted exactly.
    """
    n = len(h)
    bits = max(1, (n - 1).bit_length())
    if n < 2 or bits > 40:
        perm = np.argsort(h, kind="stable")
        return perm, h[perm]
    mask = np.uint64((1 << bits) - 1)
    packed = h & ~mask
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    packed_low = packed & mask
    perm = packed_low.view(np.int64)  # positions < 2^40: same bits as int64
    hs = h[perm]
    down = np.flatnonzero(hs[1:] < hs[:-1])
    if len(down):
        prefix = packed >> np.uint64(bits)
        idx = np.flatnonzero(np.isin(prefix, prefix[down]))  # whole runs of equal high bits
        sub = idx[np.lexsort((perm[idx], hs[idx]))]
        perm[idx] = perm[sub]
        hs[idx] = hs[sub]
    return perm, hs


# -- distinct input values -------------------------------------------------------------------
@dataclass
class Encoded:
    """The distinct non-null values of an input, and where each input position points.

    Attributes:
        values: distinct values, in hash order (``hashes`` ascending).
        hashes: their 64-bit hashes, ascending (so lookups can walk sorted arrays).
        first: input position of each value's first occurrence.
        codes: per input position, the index into ``values``; -1 for nulls.
    """

    values: pl.Series
    hashes: np.ndarray
    first: np.ndarray
    _codes: np.ndarray | None
    _hashes2: np.ndarray | None = None
    # how to compute ``codes`` when first asked (inspect and from_values never ask):
    # the sorting permutation, the group starts in sorted order, the non-null positions, n
    _lazy: tuple | None = None

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            assert self._lazy is not None  # set by encode() whenever _codes is not
            perm, boundary, positions, n = self._lazy
            inv = np.empty(len(perm), dtype=np.int64)
            inv[perm] = np.cumsum(boundary) - 1
            if positions is not None:
                codes = np.full(n, -1, dtype=np.int64)
                codes[positions] = inv
                inv = codes
            self._codes, self._lazy = inv, None
        return self._codes

    def hashes2(self) -> np.ndarray:
        """The confirming hash (seed ``_SEED2``) of each distinct value."""
        if self._hashes2 is None:
            self._hashes2 = hashes(self.values, _SEED2)
        return self._hashes2

    def __len__(self) -> int:
        return len(self.values)

    @property
    def has_nulls(self) -> bool:
        """Whether some input position is null (code -1)."""
        return bool((self.codes < 0).any())

    def input_order(self) -> np.ndarray:
        """Permutation listing ``values`` in order of first occurrence."""
        return np.argsort(self.first, kind="stable")

    def broadcast(self, per_value: pl.Series) -> pl.Series:
        """Spread one result per distinct value back to every input position (nulls stay null)."""
        idx = pl.Series(self.codes, dtype=pl.Int64)
        if (self.codes < 0).any():
            idx = idx.set(idx < 0, None)
        return per_value.gather(idx)


def first_in_input(enc: Encoded, idx: np.ndarray, n: int | None = None) -> np.ndarray:
    """``idx`` (positions into ``enc.values``) sorted by first occurrence; only the first ``n``."""
    if n is not None and len(idx) > n:
        part = np.argpartition(enc.first[idx], n - 1)[:n] if n > 0 else np.zeros(0, np.int64)
        idx = idx[part]
    return idx[np.argsort(enc.first[idx], kind="stable")]


def encode(s: pl.Series) -> Encoded:
    """Distinct values of ``s`` via one argsort of their hashes (verified, so exact).

    >>> e = encode(pl.Series(["b", "a", None, "b"]))
    >>> e.values.gather(e.input_order()).to_list(), e.codes.tolist()[2]
    (['b', 'a'], -1)
    """
    n = len(s)
    nulls = s.null_count()
    if nulls:
        mask = s.is_not_null().to_numpy()
        positions = np.flatnonzero(mask)
        sv = s.filter(pl.Series(mask))
    else:
        positions = None
        sv = s
    m = len(sv)
    if m == 0:
        return Encoded(sv.clear(), np.zeros(0, np.uint64), np.zeros(0, np.int64), np.full(n, -1, np.int64))
    h = hashes(sv)
    perm, hs = sort_hashes(h)
    boundary = np.empty(m, dtype=bool)
    boundary[0] = True
    np.not_equal(hs[1:], hs[:-1], out=boundary[1:])
    starts = np.flatnonzero(boundary)
    first = perm[starts]  # equal hashes are in position order
    values = sv.gather(first)
    if len(starts) < m:
        # Values merged by equal hashes must really be equal. Comparing every value with its
        # group's representative costs a string gather; an independent second hash that is
        # constant within every group is ~3x cheaper and only fooled by a double collision
        # (probability ~ n^2 / 2^129). Lookups into reference keys always compare strings.
        h2s = hashes(sv, _SEED2)[perm]
        if (h2s[1:] != h2s[:-1])[~boundary[1:]].any():
            return _encode_exact(s)  # two different values share a hash: do it the slow way
        h2_first = h2s[starts]
    else:
        h2_first = None
    if positions is not None:
        first = positions[first]
    return Encoded(values, hs[starts], first, None, h2_first, (perm, boundary, positions, n))


def _encode_exact(s: pl.Series) -> Encoded:
    """Join-based fallback for the (astronomically rare) hash collision among input values."""
    df = s.to_frame("v").with_row_index("pos")
    uniq = df.filter(pl.col("v").is_not_null()).unique(subset="v", keep="first", maintain_order=True)
    h = hashes(uniq.get_column("v"))
    order = np.argsort(h, kind="stable")
    uniq = uniq[order]
    uniq = uniq.with_columns(code=pl.Series(np.arange(uniq.height), dtype=pl.Int64))
    codes = df.join(uniq.select("v", "code"), on="v", how="left", maintain_order="left").get_column("code")
    return Encoded(
        uniq.get_column("v"),
        h[order],
        uniq.get_column("pos").to_numpy().astype(np.int64),
        codes.fill_null(-1).to_numpy(),
    )


# -- exact lookups into reference keys -------------------------------------------------------
class SortedHashIndex:
    """Reference keys (with duplicates) sorted by hash; equal hashes keep row (save) order.

    If two *different* keys share a hash, the index is rebuilt with another seed (a second
    collision is ~10^-8 likely even at 10^6 keys), so equal hashes always mean equal keys.
    Hits are confirmed with a second hash of each key (``h2``), compared as integers.
    """

    SEEDS = (_SEED, 7, 113, 7919)

    def __init__(self, keys: pl.Series, rows: np.ndarray | None = None):
        """``keys`` are looked up; ``rows`` (default: 0..n-1) is what a hit returns."""
        self.keys = keys
        keep_pos = np.flatnonzero(keys.is_not_null().to_numpy()) if keys.null_count() else None
        for seed in self.SEEDS:
            if self._build(keys, keep_pos, seed):
                break
        else:  # pragma: no cover - four independent 64-bit collisions
            raise RegistryError("could not build a collision-free hash index; please report this")
        if rows is None:
            self.rows = self.pos.astype(np.int64, copy=False)
        else:
            self.rows = np.asarray(rows, dtype=np.int64)[self.pos] if len(self.pos) else np.zeros(0, np.int64)

    def _build(self, keys: pl.Series, keep_pos: np.ndarray | None, seed: int) -> bool:
        h = hashes(keys, seed)
        if keep_pos is not None:
            h = h[keep_pos]
        perm, hs = sort_hashes(h)  # ties (duplicate keys) stay in save order
        pos = keep_pos[perm] if keep_pos is not None else perm
        dup = hs[1:] == hs[:-1] if len(hs) > 1 else np.zeros(0, bool)
        if dup.any() and not (keys.gather(pos[:-1][dup]) == keys.gather(pos[1:][dup])).all():
            return False
        self.seed = seed
        self.seed2 = _SEED2 if seed == _SEED else seed + 1
        self.h = hs
        self.pos = pos  # position in keys
        h2 = hashes(keys, self.seed2)
        self.h2 = h2[pos] if len(pos) else h2[:0]
        return True

    def __len__(self) -> int:
        return len(self.h)

    @property
    def has_duplicates(self) -> bool:
        """Whether some key occurs more than once (e.g. two records with one name)."""
        dup = self.__dict__.get("_has_duplicates")
        if dup is None:
            dup = self.__dict__["_has_duplicates"] = bool(len(self.h) > 1 and (self.h[1:] == self.h[:-1]).any())
        return dup

    def extended(self, new_keys: pl.Series, new_rows: np.ndarray | None = None) -> SortedHashIndex | None:
        """A new index over ``keys`` followed by ``new_keys`` (later in save order); self is unchanged.

        Only the new keys are hashed and sorted; they are then merged into the sorted arrays
        (one ``searchsorted`` and a copy, O(n) memory traffic instead of hashing and sorting
        every key again). A new key equal to old ones goes *after* them (``side="right"``), so
        ties stay in save order, exactly as a full build orders them. ``new_rows`` is what
        hits on the new keys return (default: their positions in the concatenated keys).
        Returns None when the new keys cannot be merged (dtype change, or a hash collision
        under this index's seed): the caller then builds from scratch, which re-seeds.
        """
        if new_keys.dtype != self.keys.dtype:
            return None
        n_old = len(self.keys)
        if len(new_keys) == 0:
            return self
        tail = SortedHashIndex.__new__(SortedHashIndex)
        keep_pos = np.flatnonzero(new_keys.is_not_null().to_numpy()) if new_keys.null_count() else None
        if not tail._build(new_keys, keep_pos, self.seed):
            return None
        if len(self.h) and len(tail.h):
            # a new key whose hash an old key has must be that very key (else: collision)
            at = np.minimum(np.searchsorted(self.h, tail.h, "left"), len(self.h) - 1)
            same = np.flatnonzero(self.h[at] == tail.h)
            if len(same):
                old_keys = self.keys.gather(self.pos[at[same]])
                if not (old_keys == new_keys.gather(tail.pos[same])).all():
                    return None
        if new_rows is None:
            tail_rows = tail.pos.astype(np.int64) + n_old
        else:
            tail_rows = np.asarray(new_rows, dtype=np.int64)[tail.pos] if len(tail.pos) else np.zeros(0, np.int64)
        ins = np.searchsorted(self.h, tail.h, "right")
        out = SortedHashIndex.__new__(SortedHashIndex)
        out.keys = pl.concat([self.keys, new_keys], rechunk=False)
        out.seed, out.seed2 = self.seed, self.seed2
        out.h = _insert_sorted(self.h, ins, tail.h)
        out.pos = _insert_sorted(self.pos, ins, tail.pos + n_old)
        out.h2 = _insert_sorted(self.h2, ins, tail.h2)
        if new_rows is None:
            out.rows = out.pos.astype(np.int64, copy=False)
        else:
            out.rows = _insert_sorted(self.rows, ins, tail_rows)
        return out

    def _query_hashes(
        self, queries: pl.Series, qh: np.ndarray | None, q2: np.ndarray | None, presorted: bool
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        if qh is None or self.seed != _SEED:
            return hashes(queries, self.seed), hashes(queries, self.seed2), False
        return qh, (q2 if q2 is not None else hashes(queries, self.seed2)), presorted

    def find(
        self,
        queries: pl.Series,
        qh: np.ndarray | None = None,
        q2: np.ndarray | None = None,
        *,
        last: bool = False,
        presorted: bool = False,
    ) -> np.ndarray:
        """Row per query (-1 if absent): the first (or ``last``) key equal to the query.

        ``qh``/``q2`` may pass precomputed hashes (seeds ``_SEED``/``_SEED2``), ``presorted``
        that ``qh`` ascends.
        """
        n = len(queries)
        if n == 0 or len(self.h) == 0:
            return np.full(n, -1, dtype=np.int64)
        qh, q2, presorted = self._query_hashes(queries, qh, q2, presorted)
        # one searchsorted: the left edge for "first", the right edge for "last"
        at = self._search(qh, "right" if last else "left", presorted)
        if last:
            at -= 1
            at_c = np.maximum(at, 0)
            hit = (at >= 0) & (self.h[at_c] == qh)
        else:
            at_c = np.minimum(at, len(self.h) - 1)
            hit = self.h[at_c] == qh
        hit &= self.h2[at_c] == q2  # confirm: a query colliding with a different key fails here
        return np.where(hit, self.rows[at_c], -1)

    def find_all(
        self, queries: pl.Series, qh: np.ndarray | None = None, q2: np.ndarray | None = None, *, presorted: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(left, right)`` per query: ``rows[left:right]`` are all keys equal to it, in save order."""
        n = len(queries)
        if n == 0 or len(self.h) == 0:
            z = np.zeros(n, dtype=np.int64)
            return z, z
        qh, q2, presorted = self._query_hashes(queries, qh, q2, presorted)
        left, right = self._search(qh, "left", presorted), self._search(qh, "right", presorted)
        found = right > left
        bad = found & (self.h2[np.minimum(left, len(self.h) - 1)] != q2)
        right[bad] = left[bad]
        return left, right

    def _search(self, qh: np.ndarray, side: Literal["left", "right"], presorted: bool) -> np.ndarray:
        if presorted:
            return np.searchsorted(self.h, qh, side)
        # sorted queries make searchsorted walk the array in order (10x faster than random probes)
        order, sorted_qh = sort_hashes(qh)
        out = np.empty(len(qh), dtype=np.int64)
        out[order] = np.searchsorted(self.h, sorted_qh, side)
        return out


def _insert_sorted(arr: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.insert(arr, at, values)`` for ascending ``at``, as segment copies when few values.

    ``np.insert`` with an index array goes through a boolean mask over the whole array
    (~15 ms per 10^6 entries); saving a handful of records needs only a handful of memcpys.
    """
    k = len(at)
    if k > 64:
        return np.insert(arr, at, values)
    out = np.empty(len(arr) + k, dtype=arr.dtype)
    prev = 0
    for j, a in enumerate(at.tolist()):
        out[prev + j : a + j] = arr[prev:a]
        out[a + j] = values[j]
        prev = a
    out[prev + k :] = arr[prev:]
    return out


# -- background builds ---------------------------------------------------------------------
# references at least this large get their indexes built on background threads (prefetch)
PREFETCH_ROWS = 50_000
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="registry-index")
        return _POOL


def _forget_pool() -> None:
    """In a forked child the parent's worker threads do not exist: start a new pool on demand."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


class Background:
    """A structure being built on the pool; ``result()`` waits for it.

    In a process forked while the build was running, the build never finishes there, so
    ``result()`` builds it on the calling thread instead.
    """

    __slots__ = ("future", "build", "pid")

    def __init__(self, build):
        self.build, self.pid = build, os.getpid()
        self.future = _pool().submit(build)

    def result(self):
        if self.pid != os.getpid() and not self.future.done():
            return self.build()
        return self.future.result()


# -- the reference --------------------------------------------------------------------------
class ReferenceIndex:
    """Lookup structures over one field (and optionally its synonyms) of a reference table.

    Args:
        frame: one row per record, in save order (sorted by id). Must hold ``field`` and, if
            given, ``synonyms_field``; other columns (``uid``, ``id``, a ``return_field``) are
            used by callers that need them.
        field: the column values are matched against (``"name"``, ``"symbol"``, ...).
        synonyms_field: the ``|``-joined synonyms column, or None to skip the synonym tier.

    >>> ref = pl.DataFrame({"name": ["T cell", "B cell"], "synonyms": ["T-cell|T lymphocyte", None]})
    >>> index = ReferenceIndex(ref, "name", "synonyms")
    >>> match(index, pl.Series(["t cell", "T-cell", "foo"]))["name"].to_list()
    ['T cell', 'T cell', None]
    """

    def __init__(self, frame: pl.DataFrame, field: str, synonyms_field: str | None = None):
        if field not in frame.columns:
            raise InvalidArgument(f"reference has no column '{field}'; columns are {frame.columns}")
        if synonyms_field is not None and synonyms_field not in frame.columns:
            raise InvalidArgument(f"reference has no synonyms column '{synonyms_field}'; columns are {frame.columns}")
        if synonyms_field == field:
            raise InvalidArgument("synonyms_field must differ from field")
        self.frame = frame
        self.field = field
        self.synonyms_field = synonyms_field
        self._memo: dict = {}

    # memo key -> carry(old, new): how a module built on this one carries its own cached structure
    # (e.g. fuzzy's choices) over to the index of an extended frame (see ``extended``)
    appenders: ClassVar[dict[Hashable, Callable[[ReferenceIndex, ReferenceIndex], None]]] = {}

    def __len__(self) -> int:
        return self.frame.height

    @property
    def names(self) -> pl.Series:
        """The field column as one contiguous chunk.

        After an append the snapshot's columns are two (or more) chunks, and gathering
        standardized names from a chunked string column is ~10x slower (125 ms vs 12 ms for
        10^6 positions); one copy per snapshot (~5 ms per 10^6 names) avoids that.
        """
        names = self._memo.get("names_series")
        if names is None:
            names = self.frame.get_column(self.field)
            if names.dtype == pl.Null:
                names = names.cast(pl.String)
            if names.n_chunks() > 1:
                names = names.rechunk()
            self._memo["names_series"] = names
        return names

    @property
    def is_text(self) -> bool:
        return self.names.dtype == pl.String

    def _cached(self, key, build):
        value = self._memo.get(key)
        if value is None:
            value = build()
            self._memo[key] = value
        elif isinstance(value, Background):  # built in the background (``prefetch``)
            value = self._memo[key] = value.result()
        return value

    def _resolved(self, key):
        """The memo entry ``key`` (None if absent), waiting for it if it is being built."""
        value = self._memo.get(key)
        if isinstance(value, Background):
            value = self._memo[key] = value.result()
        return value

    def _settled(self) -> dict:
        """The memo, with every background build finished (for code that reads it directly)."""
        for key, value in list(self._memo.items()):
            if isinstance(value, Background):
                self._memo[key] = value.result()
        return self._memo

    def prefetch(self, *, casing: bool = False, synonyms: bool = False, case_sensitive: bool = False) -> None:
        """Start building the structures a call will need on background threads.

        The caller meanwhile turns its input into distinct values (``encode``); the builds
        (numpy sorts, Arrow and polars kernels) release the GIL, so on a cold index of 10^6
        records they overlap with that work and with each other instead of running one after
        another. Two workers take the jobs in the order the matchers need them (a job may
        wait only for jobs queued before it). Only for large references; a structure
        already built or started is skipped. Errors surface where the structure is first
        used, as without prefetching.
        """
        if len(self) < PREFETCH_ROWS or not self.is_text:
            return
        syn = synonyms and self.synonyms_field is not None
        jobs: list[tuple[Any, Callable[[], Any]]] = [("names", lambda: SortedHashIndex(self.names))]
        if syn:
            jobs.append(("exploded", lambda: self._explode(self.frame, 0)))
        if casing:
            jobs.append(("lower", lambda: SortedHashIndex(fold_case(self.names))))
        if syn:
            jobs.append((("synonyms", case_sensitive), lambda: self._build_synonyms(case_sensitive)))
        for key, build in jobs:
            if key not in self._memo:
                self._memo[key] = Background(build)

    # -- derived structures ----------------------------------------------------------------
    def name_index(self) -> SortedHashIndex:
        """Field values -> row."""
        return self._cached("names", lambda: SortedHashIndex(self.names))

    def lower_index(self) -> SortedHashIndex:
        """Lower-cased field values -> row (first saved wins on ties)."""
        return self._cached("lower", lambda: SortedHashIndex(fold_case(self.names)))

    def exploded_synonyms(self) -> pl.DataFrame:
        """One row per (record, synonym): ``__row`` (position in frame), ``__name``, ``__synonym``.

        Empty entries and entries equal to the record's own name are dropped (LaminDB's
        ``explode_aggregated_column_to_map``). Rows keep save order.
        """

        return self._cached("exploded", lambda: self._explode(self.frame, 0))

    def _explode(self, frame: pl.DataFrame, offset: int) -> pl.DataFrame:
        """``exploded_synonyms`` of ``frame``, whose first row is row ``offset`` of the reference."""
        if self.synonyms_field is None:
            return pl.DataFrame(schema={"__row": pl.UInt32, "__name": pl.String, "__synonym": pl.String})
        return (
            frame.lazy()
            .select(pl.col(self.field).alias("__name"), pl.col(self.synonyms_field).alias("__synonym"))
            .with_row_index("__row", offset=offset)
            .filter(pl.col("__synonym").is_not_null() & (pl.col("__synonym") != "") & pl.col("__name").is_not_null())
            .with_columns(pl.col("__synonym").str.split("|"))
            .explode("__synonym")
            .filter((pl.col("__synonym") != "") & (pl.col("__synonym") != pl.col("__name")))
            .collect()
        )

    def synonym_index(self, case_sensitive: bool) -> SortedHashIndex:
        """Synonym (lower-cased unless ``case_sensitive``) -> owning record's row, save order."""
        return self._cached(("synonyms", case_sensitive), lambda: self._build_synonyms(case_sensitive))

    def _build_synonyms(self, case_sensitive: bool) -> SortedHashIndex:
        ex = self.exploded_synonyms()
        keys = ex.get_column("__synonym")
        if not case_sensitive:
            keys = fold_case(keys)
        return SortedHashIndex(keys, ex.get_column("__row").to_numpy().astype(np.int64))

    # -- following appends -------------------------------------------------------------------
    def extended(self, frame: pl.DataFrame) -> ReferenceIndex | None:
        """The index of ``frame``, which is this index's frame with rows appended at the end.

        The caller guarantees that ``frame[:len(self)]`` holds exactly this index's rows (the
        table changed by an append only). Every structure already built here is extended with
        the new rows (their hashes merged into the sorted arrays, their synonyms exploded and
        appended), so the result equals a fresh ``ReferenceIndex(frame, ...)`` lookup for
        lookup; structures of modules built on this one are carried over by the ``appenders``
        they registered (fuzzy choices); the rest (lookup keys, structures not built yet) build
        lazily. None: build from scratch.
        """
        n_old = len(self)
        if frame.height < n_old or frame.columns != self.frame.columns or frame.dtypes != self.frame.dtypes:
            return None
        self._settled()
        out = ReferenceIndex(frame, self.field, self.synonyms_field)
        tail = frame.slice(n_old)
        if tail.height == 0:
            out._memo.update(self._memo)
            return out
        tail_names = tail.get_column(self.field)
        if tail_names.dtype == pl.Null:
            tail_names = tail_names.cast(pl.String)
        memo = self._memo
        if "names" in memo:
            built = memo["names"].extended(tail_names)
            if built is None:
                return None
            out._memo["names"] = built
        if "lower" in memo:
            built = memo["lower"].extended(fold_case(tail_names))
            if built is None:
                return None
            out._memo["lower"] = built
        if "exploded" in memo:
            new_ex = self._explode(tail, n_old)
            out._memo["exploded"] = pl.concat([memo["exploded"], new_ex], rechunk=False)
            for cs in (True, False):
                old_syn = memo.get(("synonyms", cs))
                if old_syn is None:
                    continue
                keys = new_ex.get_column("__synonym")
                built = old_syn.extended(
                    keys if cs else fold_case(keys), new_ex.get_column("__row").to_numpy().astype(np.int64)
                )
                if built is None:
                    return None
                out._memo[("synonyms", cs)] = built
        if "names_objects" in memo and out.is_text:
            out._memo["names_objects"] = np.concatenate([memo["names_objects"], out.names.slice(n_old).to_numpy()])
        for key, carry in self.appenders.items():  # structures of modules built on this one
            if key in memo:
                carry(self, out)
        return out


# -- matching -------------------------------------------------------------------------------
@dataclass
class Matches:
    """Per distinct input value (in ``enc`` order): tier code, matched row, and candidates.

    ``row`` is the reference row of the standardized record (-1: no match); for ``keep=False``
    ``candidates`` maps the position of each *ambiguous* value to all its rows (save order,
    one per distinct name).
    """

    enc: Encoded
    tier: np.ndarray
    row: np.ndarray
    candidates: dict[int, np.ndarray]

    def names(self, index: ReferenceIndex) -> pl.Series:
        """Standardized name per distinct value (null where nothing matched)."""
        return gather_rows(index.names, self.row)

    def frame(self, index: ReferenceIndex) -> pl.DataFrame:
        """``value``, ``tier``, ``name`` (+ ``names`` lists with candidates) in input order."""
        order = self.enc.input_order()
        df = pl.DataFrame(
            {
                "value": self.enc.values,
                "tier": Tier.labels(self.tier),
                "name": self.names(index),
            }
        )
        return df[order]


def gather_rows(column: pl.Series, rows: np.ndarray) -> pl.Series:
    """``column[rows]`` with nulls where ``rows`` is -1."""
    idx = pl.Series(rows, dtype=pl.Int64)
    if (rows < 0).any():
        idx = idx.set(idx < 0, None)
    return column.gather(idx)


def match_encoded(
    index: ReferenceIndex,
    enc: Encoded,
    *,
    case_sensitive: bool = False,
    keep: Keep = "first",
    synonyms: bool = True,
) -> Matches:
    """Run the three tiers over the distinct values of an input."""
    check_keep(keep)
    n = len(enc)
    tier = np.full(n, Tier.NONE, dtype=np.int8)
    row = np.full(n, -1, dtype=np.int64)
    candidates: dict[int, np.ndarray] = {}
    values = enc.values
    if n == 0 or len(index) == 0:
        return Matches(enc, tier, row, candidates)
    if not index.is_text or values.dtype != pl.String:
        case_sensitive, synonyms = True, False
        if values.dtype != index.names.dtype:
            try:
                values = values.cast(index.names.dtype)
            except pl.exceptions.PolarsError:
                return Matches(enc, tier, row, candidates)
            enc_h = hashes(values)
            found = index.name_index().find(values, enc_h)
        else:
            found = index.name_index().find(values, enc.hashes, enc.hashes2(), presorted=True)
    else:
        found = index.name_index().find(values, enc.hashes, enc.hashes2(), presorted=True)
    hit = found >= 0
    tier = np.where(hit, np.int8(Tier.EXACT), np.int8(Tier.NONE))
    row = found  # -1 where absent
    rest = np.flatnonzero(~hit)

    lowered = lh = lh2 = None
    if not case_sensitive and len(rest):
        # lower-cased once, hashed once and sorted once for both the casing and the synonym tier
        lowered = fold_case(values.gather(rest))
        order, lh = sort_hashes(hashes(lowered))
        rest = rest[order]
        lowered = lowered.gather(order)
        lh2 = hashes(lowered, _SEED2)
        found = index.lower_index().find(lowered, lh, lh2, presorted=True)
        hit = found >= 0
        tier[rest[hit]] = Tier.CASE
        row[rest[hit]] = found[hit]
        miss = ~hit
        rest, lowered, lh, lh2 = rest[miss], lowered.filter(pl.Series(miss)), lh[miss], lh2[miss]

    syn = index.synonym_index(case_sensitive) if synonyms and index.synonyms_field is not None and len(rest) else None
    if syn is not None and len(syn):
        if lowered is not None:
            q, qh, q2 = lowered, lh, lh2
        else:
            q, qh, q2 = values.gather(rest), enc.hashes[rest], enc.hashes2()[rest]
        if keep is False:
            left, right = syn.find_all(q, qh, q2, presorted=True)
            hit = right > left
            tier[rest[hit]] = Tier.SYNONYM
            row[rest[hit]] = syn.rows[left[hit]]
            names = index.names
            for i in np.flatnonzero(right - left > 1):  # only ambiguous synonyms: a handful in practice
                distinct = _distinct_by_name(names, syn.rows[left[i] : right[i]])
                if len(distinct) > 1:
                    candidates[int(rest[i])] = distinct
        else:
            found = syn.find(q, qh, q2, last=keep == "last", presorted=True)
            hit = found >= 0
            tier[rest[hit]] = Tier.SYNONYM
            row[rest[hit]] = found[hit]
    return Matches(enc, tier, row, candidates)


def _distinct_by_name(names: pl.Series, rows: np.ndarray) -> np.ndarray:
    """First row per distinct name among ``rows`` (kept in save order)."""
    vals = names.gather(rows).to_list()
    seen: dict = {}
    for r, v in zip(rows.tolist(), vals, strict=True):
        seen.setdefault(v, r)
    return np.fromiter(seen.values(), dtype=np.int64, count=len(seen))


def match(
    index: ReferenceIndex,
    uniques: pl.Series,
    *,
    case_sensitive: bool = False,
    keep: Keep = "first",
    synonyms: bool = True,
) -> pl.DataFrame:
    """Tiers for a Series of values, as a DataFrame in input order of first occurrence.

    Columns ``value``, ``tier`` (``exact``, ``case-insensitive``, ``synonym`` or ``none``),
    ``name`` (standardized value, null when nothing matched) and, with ``keep=False``,
    ``names`` (every candidate name; one element unless the synonym is ambiguous).
    """
    m = match_encoded(index, encode(uniques), case_sensitive=case_sensitive, keep=keep, synonyms=synonyms)
    df = m.frame(index)
    if keep is False:
        names = index.names
        lists: list[list | None] = [None] * len(m.enc)
        single = m.names(index).to_list()
        for i, n in enumerate(single):
            if n is not None:
                lists[i] = [n]
        for i, rows in m.candidates.items():
            lists[i] = names.gather(rows).to_list()
        order = m.enc.input_order()
        df = df.with_columns(names=pl.Series([lists[i] for i in order], dtype=pl.List(names.dtype)))
    return df
