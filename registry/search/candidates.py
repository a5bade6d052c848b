"""Search candidates: every searchable value of a registry as one long, pre-normalised table.

Built once per (instance, table, version, fields, case mode) and cached, so a query only runs
vectorised comparisons: synonyms are split on ``|`` and exploded once, values are folded and
turned into their word form once (``registry.text``, the forms ``inspect`` compares too), and
the fuzzy tier's choice list is materialised once for rapidfuzz.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Literal

import numpy as np
import polars as pl

from registry.storage.table import frame_of
from registry.text import fold_case, sorted_words, word_form

# How a field takes part in search:
# - "word": names, synonyms, abbreviations: every tier, including fuzzy.
# - "text": long free text (description): exact, otherwise a hit counts as a substring only;
#   no fuzzy (a short query is never "similar" to a paragraph) — LaminDB ranks a word in a
#   description like a word in a name, which floods the top with loosely related records.
# - "id": identifiers (ontology_id, ensembl_gene_id): exact, or a prefix (>= 3 characters) in
#   the substring band; no fuzzy, since a one-digit typo in an id names a *different* term.
# - "uid": record uids: exact, or a prefix of >= 5 characters, always case-sensitive (uids
#   are base62). LaminDB searches uids like names, so a short query such as "NK" hits random
#   uids; a 5-character prefix hits a random uid with probability ~1e-9 per record.
FieldKind = Literal["word", "text", "id", "uid"]
ID_PREFIX_MIN = 3
UID_PREFIX_MIN = 5


@dataclass(frozen=True)
class FieldRole:
    """A searched field, how it is searched, and whether it holds ``|``-joined values."""

    name: str
    kind: FieldKind = "word"
    split: bool = False


def kind_of(name: str) -> FieldKind:
    """The default role of a string field, from its name (see ``FieldKind``)."""
    if name == "uid":
        return "uid"
    if name.endswith("_id") or name.endswith("_ids") or name == "hash":
        return "id"
    if "description" in name or name in ("comment", "note", "notes", "text"):
        return "text"
    return "word"


def default_roles(fields: Sequence[str], name_field: str | None = None) -> list[FieldRole]:
    """Roles for ``fields``, in priority order: name field, synonyms, abbr, other names, ids, uid, text.

    The order breaks ties between equal scores (an exact name beats an exact synonym).
    """
    fields = list(fields)

    def priority(f: str) -> tuple[int, int]:
        kind = kind_of(f)
        if f == name_field:
            group = 0
        elif kind == "word":
            group = {"synonyms": 1, "abbr": 2}.get(f, 3)
        else:
            group = {"id": 4, "uid": 5, "text": 6}[kind]
        return (group, fields.index(f))

    return [
        FieldRole(f, kind_of(f), split=f == "synonyms" or f.endswith("_synonyms")) for f in sorted(fields, key=priority)
    ]


@dataclass
class Candidates:
    """The searchable values of ``n_rows`` records.

    ``words``: one row per (record, name-like or text value): ``row`` (record position in the
    source frame), ``fpri`` (field priority, lower wins ties), ``text`` (free text field),
    ``fuzzy`` (takes part in the fuzzy tier), ``raw`` (folded value), ``norm`` (padded words)
    and ``nlen`` (length of the words form).
    ``ids``: one row per (record, id or uid value): ``row``, ``fpri``, ``uid``, ``raw``, sorted
    by (``uid``, ``raw``) so exact and prefix look-ups are binary searches (``id_range``);
    the first ``n_other_ids`` rows are the non-uid ids.
    ``choices``/``choice_pos``/``choice_len``: the words form of the fuzzy rows as a Python list
    for rapidfuzz, their positions in ``words`` and their lengths, **sorted by length**: a
    similarity above the cut-off needs a length within a window around the query's, so a query
    hands rapidfuzz one contiguous slice (``window``) instead of every value.
    """

    n_rows: int
    case_sensitive: bool
    words: pl.DataFrame
    ids: pl.DataFrame
    choices: list[str]
    choice_pos: np.ndarray
    choice_len: np.ndarray
    n_other_ids: int = 0
    roles: tuple[FieldRole, ...] = ()
    row_ids: np.ndarray | None = field(default=None, repr=False)
    _sorted_choices: list[str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def parts(self) -> list[pl.DataFrame]:
        """``words`` cut into one zero-copy slice per polars thread.

        A string scan over one column runs on one core; ``pl.collect_all`` over the slices
        runs them side by side (2 cores: ~2x for the substring pass over 10^6 values).
        """
        n = max(1, min(pl.thread_pool_size(), self.words.height // 50_000 or 1))
        size = -(-self.words.height // n)
        return [self.words.slice(i * size, size) for i in range(n)]

    def scan(self, query) -> pl.DataFrame:
        """Run ``query(LazyFrame) -> LazyFrame`` over every slice of ``words`` in parallel; concatenated."""
        parts = self.parts
        if len(parts) == 1:
            return query(parts[0].lazy()).collect()
        return pl.concat(pl.collect_all([query(p.lazy()) for p in parts]))

    def id_range(self, uid: bool, value: str, *, prefix: bool = False) -> pl.DataFrame:
        """Rows of ``ids`` (uids or the other ids) whose ``raw`` equals, or starts with, ``value``."""
        start, stop = (self.n_other_ids, self.ids.height) if uid else (0, self.n_other_ids)
        col = self.ids["raw"].slice(start, stop - start)
        lo = int(col.search_sorted(value, side="left"))
        hi = int(
            col.search_sorted(value + "\U0010ffff", side="left") if prefix else col.search_sorted(value, side="right")
        )
        return self.ids.slice(start + lo, max(hi - lo, 0))

    @property
    def sorted_choices(self) -> list[str]:
        """Choices with their words sorted alphabetically, built on first multi-word query."""
        if self._sorted_choices is None:
            with self._lock:
                if self._sorted_choices is None:
                    choices = pl.Series("w", self.choices, dtype=pl.String).to_frame()
                    n = max(1, min(pl.thread_pool_size(), choices.height // 50_000))
                    size = -(-choices.height // n) if choices.height else 1
                    slices = [choices.slice(i * size, size).lazy().select(sorted_words(pl.col("w"))) for i in range(n)]
                    self._sorted_choices = pl.concat(pl.collect_all(slices))["w"].to_list()
        return self._sorted_choices

    def window(self, shortest: int, longest: int) -> slice:
        """The slice of ``choices`` whose length is within [shortest, longest]."""
        lo = int(np.searchsorted(self.choice_len, shortest, side="left"))
        hi = int(np.searchsorted(self.choice_len, longest, side="right"))
        return slice(lo, hi)


def _values(frame: pl.DataFrame, pri: int, role: FieldRole) -> pl.LazyFrame:
    values = frame.lazy().select(row=pl.int_range(pl.len(), dtype=pl.UInt32), value=pl.col(role.name).cast(pl.String))
    if role.split:
        values = values.with_columns(pl.col("value").str.split("|")).explode("value")
    return values.with_columns(
        pl.col("value").str.strip_chars(),
        fpri=pl.lit(pri, dtype=pl.UInt16),
        kind=pl.lit(role.kind),
    ).filter(pl.col("value").is_not_null() & (pl.col("value") != ""))


def build(frame: pl.DataFrame, roles: Sequence[FieldRole], case_sensitive: bool) -> Candidates:
    """Explode, fold and normalise the searched columns of ``frame`` (one row per record)."""
    missing = [r.name for r in roles if r.name not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the frame (columns: {frame.columns})")
    parts = [_values(frame, pri, role) for pri, role in enumerate(roles)]
    empty = pl.LazyFrame(schema={"row": pl.UInt32, "value": pl.String, "fpri": pl.UInt16, "kind": pl.String})
    long = pl.concat([empty, *parts]).collect()
    is_id = long["kind"].is_in(["id", "uid"])
    values = long.filter(~is_id)
    raw = values["value"] if case_sensitive else fold_case(values["value"])
    w = word_form(raw, fold=False)
    words = pl.DataFrame(
        {
            "row": values["row"],
            "fpri": values["fpri"],
            "text": values["kind"] == "text",
            "fuzzy": (values["kind"] == "word") & (w != ""),
            "raw": raw,
            "norm": w,
            "nlen": w.str.len_chars().cast(pl.UInt32),
            "w": w,
        }
    ).with_columns(norm=pl.concat_str(pl.lit(" "), pl.col("norm"), pl.lit(" ")))  # " q" starts a word
    id_values = long.filter(is_id)
    id_raw = id_values["value"] if case_sensitive else fold_case(id_values["value"])
    ids = (
        id_values.lazy()
        .select(
            "row",
            "fpri",
            uid=pl.col("kind") == "uid",
            raw=pl.when(pl.col("kind") == "uid").then(pl.col("value")).otherwise(id_raw),
        )
        .sort(["uid", "raw"])
        .collect()
    )
    fuzzy = (
        words.lazy()
        .with_row_index("pos")
        .filter(pl.col("fuzzy"))
        .select("pos", "w", "nlen")
        .sort("nlen", maintain_order=True)
        .collect()
    )
    return Candidates(
        n_rows=frame.height,
        case_sensitive=case_sensitive,
        words=words.drop("w"),
        ids=ids,
        choices=fuzzy["w"].to_list(),
        choice_pos=fuzzy["pos"].to_numpy().astype(np.int64),
        choice_len=fuzzy["nlen"].to_numpy().astype(np.int64),
        n_other_ids=int((~ids["uid"]).sum()),
        roles=tuple(roles),
        row_ids=frame["id"].to_numpy().astype(np.int64) if "id" in frame.columns else None,
    )


# A change touching more than this share of the records is rebuilt rather than followed (the
# merge costs ~ a copy of every value, a build ~ normalising every value).
_FOLLOW_MAX_SHARE = 0.5


def follow(old: Candidates, change) -> Candidates | None:
    """``old`` carried over one commit (``storage.table.Change``): the candidates of the new snapshot.

    A commit typically adds, edits or deletes a few records. The snapshot holds the live rows
    sorted by id, so the new one is ``old``'s records minus ``change.removed_ids`` plus
    ``change.inserted`` (new records and new versions of edited ones), in id order. Only the
    inserted records are normalised; the rest of ``old`` is remapped to its new positions
    (vectorised) and the length-sorted fuzzy choices are merged. Equal, tier for tier, to a
    full ``build`` of the new snapshot. None when a full build is the better deal (or the
    change does not line up with ``old``).
    """
    if old.row_ids is None:
        return None
    inserted = change.inserted
    tail: pl.DataFrame | None = None
    if inserted is not None and inserted.num_rows:
        tail = frame_of(inserted)
        if "id" not in tail.columns or any(r.name not in tail.columns for r in old.roles):
            return None
        tail = tail.sort("id")
    removed = np.asarray(change.removed_ids, dtype=np.int64)
    n_tail = 0 if tail is None else tail.height
    if n_tail == 0 and not len(removed):
        return old
    if n_tail + len(removed) > _FOLLOW_MAX_SHARE * max(old.n_rows, 1):
        return None
    keep = ~np.isin(old.row_ids, removed) if len(removed) else np.ones(old.n_rows, dtype=bool)
    kept_ids = old.row_ids[keep]
    tail_ids = np.zeros(0, np.int64) if tail is None else tail["id"].to_numpy().astype(np.int64)
    new_ids = np.concatenate([kept_ids, tail_ids])
    new_ids.sort()
    if len(new_ids) > 1 and bool((new_ids[1:] == new_ids[:-1]).any()):
        return None  # an inserted id that was not removed: not the snapshot we think
    old_to_new = np.full(old.n_rows, -1, dtype=np.int64)
    old_to_new[keep] = np.searchsorted(new_ids, kept_ids)
    fresh_rows = np.searchsorted(new_ids, tail_ids)
    columns = list(dict.fromkeys([r.name for r in old.roles] + ["id"]))
    fresh = build(tail.select(columns), old.roles, old.case_sensitive) if tail is not None and n_tail else None
    return _merged(old, old_to_new, keep, fresh, fresh_rows, new_ids)


def _merged(
    old: Candidates,
    old_to_new: np.ndarray,
    keep: np.ndarray,
    fresh: Candidates | None,
    fresh_rows: np.ndarray,
    new_ids: np.ndarray,
) -> Candidates:
    """``old``'s kept records at their new positions (``old_to_new``, -1: gone) plus ``fresh``'s
    records at positions ``fresh_rows``."""

    def remap(table: pl.DataFrame, mapping: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
        rows = mapping[table["row"].to_numpy()]
        kept = rows >= 0
        return table.filter(pl.Series(kept)).with_columns(row=pl.Series(rows[kept], dtype=pl.UInt32)), kept

    def placed(table: pl.DataFrame) -> pl.DataFrame:
        return table.with_columns(row=pl.Series(fresh_rows[table["row"].to_numpy()], dtype=pl.UInt32))

    kept_words, kept_word = remap(old.words, old_to_new)
    kept_ids, _ = remap(old.ids, old_to_new)
    if fresh is None:
        words, ids = kept_words.rechunk(), kept_ids
        fresh_len, fresh_pos, fresh_choices = np.zeros(0, np.int64), np.zeros(0, np.int64), []
    else:
        new_ids_t = placed(fresh.ids)
        words = pl.concat([kept_words, placed(fresh.words)]).rechunk()
        ids = pl.concat(
            [
                kept_ids.filter(~pl.col("uid")).merge_sorted(new_ids_t.filter(~pl.col("uid")), key="raw"),
                kept_ids.filter(pl.col("uid")).merge_sorted(new_ids_t.filter(pl.col("uid")), key="raw"),
            ]
        )
        fresh_len, fresh_pos, fresh_choices = fresh.choice_len, fresh.choice_pos, fresh.choices

    # Fuzzy choices: drop those of changed/deleted records, insert the fresh ones by length.
    keep_choice = kept_word[old.choice_pos]
    all_kept = bool(keep_choice.all())
    new_pos_of_kept = np.cumsum(kept_word) - 1
    kept_pos = new_pos_of_kept[old.choice_pos if all_kept else old.choice_pos[keep_choice]]
    kept_len = old.choice_len if all_kept else old.choice_len[keep_choice]
    # where each fresh choice goes among the kept ones (fresh ones are sorted by length too)
    at_kept = np.searchsorted(kept_len, fresh_len, side="right")
    positions = np.insert(kept_pos, at_kept, kept_word.sum() + fresh_pos)
    lengths = np.insert(kept_len, at_kept, fresh_len)

    def merged(old_list: list[str], new_list: list[str]) -> list[str]:
        kept_list = old_list if all_kept else list(compress(old_list, keep_choice))
        if not new_list:
            return kept_list if kept_list is not old_list else list(old_list)
        out, prev = [], 0
        for at, value in zip(at_kept.tolist(), new_list, strict=True):  # one slice copy per fresh value
            out.extend(kept_list[prev:at])
            out.append(value)
            prev = at
        out.extend(kept_list[prev:])
        return out

    out = Candidates(
        n_rows=len(new_ids),
        case_sensitive=old.case_sensitive,
        words=words,
        ids=ids,
        choices=merged(old.choices, fresh_choices),
        choice_pos=positions,
        choice_len=lengths,
        n_other_ids=int((~ids["uid"]).sum()),
        roles=old.roles,
        row_ids=new_ids,
    )
    if old._sorted_choices is not None:
        out._sorted_choices = merged(old._sorted_choices, fresh.sorted_choices if fresh is not None else [])
    return out


# -- the cache: the storage table's derived data ----------------------------------------------
CANDIDATES = "candidates"  # first item of this module's keys in the tables' derived-data cache


def cached(table, version: int, frame: pl.DataFrame, roles: Sequence[FieldRole], case_sensitive: bool) -> Candidates:
    """The candidates of ``frame``, the snapshot of ``table`` (a ``storage.table.Table``) at
    ``version``: built once per version and shared by every search of the table (in this
    process); a commit is followed (``follow``), not rebuilt."""
    return table.derived_at(
        version,
        (CANDIDATES, tuple(roles), case_sensitive),
        lambda: build(frame, roles, case_sensitive),
        follow=follow,
    )


def clear_cache(instance) -> None:
    """Forget the candidates cached for ``instance``'s tables (tests and benchmarks: cold runs)."""
    for name in instance.table_names():
        instance.table(name).forget_derived((CANDIDATES,))
