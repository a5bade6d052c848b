"""Cached curation indexes follow commits: an append extends them, anything else rebuilds.

Every assertion compares the incrementally maintained index (caches kept across commits)
with a freshly built one (``clear_cache()``), so an extension that drifts from a full build
in any tier, ``keep`` mode or ordering fails here.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import registry as ln
import registry.bio as bt
from registry.curate import fuzzy, matching
from registry.curate.matching import ReferenceIndex, SortedHashIndex, match
from registry.curate.scope import cached_indexes, clear_cache

# a tiny alphabet: names collide exactly, by case, and with other records' synonyms
ALPHABET = "aAbB -"
text = st.text(alphabet=ALPHABET, min_size=0, max_size=3)
syn_cell = st.one_of(st.none(), st.lists(text, max_size=3).map("|".join))


@st.composite
def frame(draw, min_size=0):
    n = draw(st.integers(min_size, 10))
    names = [draw(st.one_of(st.none(), text)) if draw(st.booleans()) else draw(text) for _ in range(n)]
    syns = [draw(syn_cell) for _ in range(n)]
    return pl.DataFrame({"name": pl.Series(names, dtype=pl.String), "synonyms": pl.Series(syns, dtype=pl.String)})


def _arrays(ix: SortedHashIndex) -> tuple:
    return (ix.seed, ix.h.tolist(), ix.h2.tolist(), ix.pos.tolist(), ix.rows.tolist(), ix.keys.to_list())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), text), max_size=12),
    st.lists(st.lists(st.one_of(st.none(), text), max_size=5), max_size=4),
)
def test_hash_index_extension_equals_full_build(old, appends):
    keys = pl.Series(old, dtype=pl.String)
    ix = SortedHashIndex(keys)
    for new in appends:
        new = pl.Series(new, dtype=pl.String)
        ix = ix.extended(new)
        keys = pl.concat([keys, new])
        assert ix is not None
        assert _arrays(ix) == _arrays(SortedHashIndex(keys))


def test_hash_index_extension_with_rows_keeps_save_order():
    ix = SortedHashIndex(pl.Series(["x", "y", "x"]), np.array([10, 11, 12]))
    ext = ix.extended(pl.Series(["x", "z"]), np.array([13, 14]))
    left, right = ext.find_all(pl.Series(["x", "z", "q"]))
    assert ext.rows[left[0] : right[0]].tolist() == [10, 12, 13]
    assert ext.rows[left[1] : right[1]].tolist() == [14]
    assert right[2] == left[2]
    assert ext.find(pl.Series(["x"]), last=True).tolist() == [13]
    assert ix.find(pl.Series(["x"]), last=True).tolist() == [12]  # the old index is untouched


def test_hash_index_extension_refuses_a_collision(monkeypatch):
    ix = SortedHashIndex(pl.Series(["a", "b"]))
    real = matching.hashes

    def colliding(s, seed=matching._SEED):  # "c" and "d" hash like "a" under the first seed
        h = real(s, seed)
        if seed == matching._SEED and s.dtype == pl.String:
            h = h.copy()
            h[s.is_in(["c", "d"]).fill_null(False).to_numpy()] = real(pl.Series(["a"]), seed)[0]
        return h

    monkeypatch.setattr(matching, "hashes", colliding)
    assert ix.extended(pl.Series(["c"])) is None  # collides with an old key
    assert ix.extended(pl.Series(["d", "e", "c"])) is None  # new keys collide among themselves
    ok = ix.extended(pl.Series(["a", "e"]))  # equal keys are no collision
    assert ok is not None and ok.find(pl.Series(["a", "e", "c"])).tolist() == [0, 3, -1]
    assert ix.extended(pl.Series([1])) is None  # another dtype: rebuild


def _all_matches(index: ReferenceIndex, values: pl.Series) -> list:
    out = []
    for cs in (False, True):
        for keep in ("first", "last", False):
            for syn in (True, False):
                out.append(match(index, values, case_sensitive=cs, keep=keep, synonyms=syn).to_dicts())
    return out


def _warm(index: ReferenceIndex) -> None:
    """Build every structure an extension carries over."""
    index.name_index()
    index.lower_index()
    index.synonym_index(True)
    index.synonym_index(False)
    index._cached("names_objects", lambda: index.names.to_numpy())
    fuzzy._prepared(index, fuzzy.choices(index))


@settings(max_examples=50, deadline=None)
@given(frame(), st.lists(frame(min_size=1), min_size=1, max_size=3), st.lists(st.one_of(text, st.none()), max_size=12))
def test_reference_index_extension_equals_full_build(ref, appends, queries):
    index = ReferenceIndex(ref, "name", "synonyms")
    for part in appends:
        _warm(index)
        full = pl.concat([index.frame, part])
        ext = index.extended(full)
        assert ext is not None
        fresh = ReferenceIndex(full, "name", "synonyms")
        pool = full.get_column("name").drop_nulls().to_list() + [
            s for x in full.get_column("synonyms").drop_nulls().to_list() for s in x.split("|")
        ]
        values = pl.Series(queries + pool + [p.upper() for p in pool], dtype=pl.String)
        assert ext.exploded_synonyms().equals(fresh.exploded_synonyms())
        assert _all_matches(ext, values) == _all_matches(fresh, values)
        assert ext._memo["names_objects"].tolist() == fresh.names.to_numpy().tolist()
        assert "fuzzy_choices" in ext._memo  # carried over, not rebuilt
        assert ext._memo["fuzzy_choices"].equals(fuzzy.choices(fresh))
        assert "fuzzy_sorted" in ext._memo  # merged, not rebuilt
        got_len, got_order, got_texts = ext._memo["fuzzy_sorted"]
        want_len, want_order, want_texts = fuzzy._prepared(fresh, fuzzy.choices(fresh))
        assert (got_len.tolist(), got_order.tolist(), got_texts) == (want_len.tolist(), want_order.tolist(), want_texts)
        queries_ok = [q for q in queries if q is not None]
        assert fuzzy.suggest(ext, queries_ok).equals(fuzzy.suggest(fresh, queries_ok))
        index = ext


# -- on a registry ---------------------------------------------------------------------------
NAMES = ["a", "A", "ab", "AB", "b", "B", "a b", "bb"]


def _curate(values: list, organism=None) -> dict:
    """Every entry point, on the cached (possibly extended) index."""
    ct = bt.CellType
    out = {"validate": ct.validate(values, mute=True).tolist()}
    res = ct.inspect(values, mute=True)
    out["inspect"] = (res.validated, res.non_validated, res.unmatched, res.synonyms_mapper, res.table.to_dicts())
    for cs in (False, True):
        for keep in ("first", "last", False):
            out[("standardize", cs, keep)] = ct.standardize(
                values, case_sensitive=cs, keep=keep, return_mapper=True, mute=True
            )
    out["standardize_list"] = ct.standardize(values, mute=True)
    out["standardize_ontology_id"] = ct.standardize(values, field="ontology_id", mute=True)
    out["from_values"] = [r.id for r in ct.from_values(values, mute=True)]
    lk = ct.lookup()
    out["lookup_keys"] = lk.keys()
    out["lookup"] = {k: _ids(lk[k]) for k in lk.keys()}
    out["lookup_last"] = {k: _ids(ct.lookup(keep="last")[k]) for k in lk.keys()}
    out["lookup_dict"] = {k: _ids(v) for k, v in lk.dict().items()}
    if organism is not None:
        g = bt.Gene
        out["gene_standardize"] = g.standardize(values, organism=organism, keep=False, mute=True)
        out["gene_inspect"] = g.inspect(values, organism=organism, mute=True).synonyms_mapper
        out["gene_from_values"] = [r.id for r in g.from_values(values, organism=organism, mute=True)]
    return out


def _ids(v):
    return [r.id for r in v] if isinstance(v, list) else v.id


def _values(rng) -> list:
    df = bt.CellType.df()
    pool = df["name"].dropna().tolist() + [s for x in df["synonyms"].dropna().tolist() for s in x.split("|") if s]
    pool += NAMES + ["zz", "A-B"]
    picked = rng.choice(np.array(pool, dtype=object), size=14).tolist()
    return picked + [p.upper() for p in picked[:4]] + [None]


def _random_cell(rng, i):
    name = str(rng.choice(NAMES))
    syns = "|".join(str(s) for s in rng.choice(NAMES + ["x", "a-b", ""], size=rng.integers(0, 3)))
    return bt.CellType(name=name, ontology_id=f"CL:{i}", synonyms=syns or None)


def _step(rng, i, organisms):
    """One random commit: mostly appends (the extended path), some updates and deletes."""
    live = bt.CellType.filter().all()
    kind = rng.choice(["append1", "append_many", "append_many", "update", "delete", "gene"])
    if kind == "update" and len(live):
        rec = live[int(rng.integers(len(live)))]
        rec.name = str(rng.choice(NAMES))
        rec.synonyms = str(rng.choice(["a|b", "B", "ab|x", ""])) or None
        rec.save()
    elif kind == "delete" and len(live) > 1:
        live[int(rng.integers(len(live)))].delete()
    elif kind == "gene":
        ln.save(
            [
                bt.Gene(
                    symbol=str(rng.choice(NAMES)),
                    synonyms=str(rng.choice(["a|B", "b", "x"])),
                    organism=organisms[j % 2],
                )
                for j in range(int(rng.integers(1, 4)))
            ]
        )
    elif kind == "append1":
        _random_cell(rng, i).save()
    else:
        ln.save([_random_cell(rng, i * 100 + j) for j in range(int(rng.integers(1, 5)))])
    return kind


@pytest.mark.parametrize("seed", range(6))
def test_registry_follows_commits_like_a_full_rebuild(instance, seed, monkeypatch):
    rng = np.random.default_rng(seed)
    organisms = [bt.Organism(name="human"), bt.Organism(name="mouse")]
    ln.save(organisms)
    ln.save([_random_cell(rng, i) for i in range(6)])
    bt.Gene(symbol="a", synonyms="b|A", organism=organisms[0]).save()
    extended = []
    real = ReferenceIndex.extended

    def spy(self, frame):
        out = real(self, frame)
        extended.append(out is not None)
        return out

    monkeypatch.setattr(ReferenceIndex, "extended", spy)
    clear_cache()
    for i in range(10):
        values = _values(rng)
        _curate(values, organism="human")  # warm every cached structure
        _step(rng, 1000 + i, organisms)
        values = _values(rng)
        got = _curate(values, organism="human")
        clear_cache()
        want = _curate(values, organism="human")
        assert got == want, f"step {i}"
    assert any(extended), "no commit took the incremental path"


def test_append_extends_update_and_delete_rebuild(instance, monkeypatch):
    ln.save([bt.CellType(name=n, synonyms=f"{n}-syn") for n in ("T cell", "B cell")])
    clear_cache()
    calls = []
    real = ReferenceIndex.extended
    monkeypatch.setattr(ReferenceIndex, "extended", lambda self, f: calls.append(1) or real(self, f))
    assert bt.CellType.standardize(["t cell-syn", "NK"], mute=True) == ["T cell", "NK"]
    bt.CellType(name="NK cell", synonyms="NK").save()
    assert bt.CellType.standardize(["t cell-syn", "NK"], mute=True) == ["T cell", "NK cell"]
    assert len(calls) == 1  # the append was followed, not rebuilt
    (index,) = [i for k, i in cached_indexes().items() if k[0] == "celltype" and k[-1] is not None]
    assert len(index) == 3 and "lower" in index._memo and ("synonyms", False) in index._memo

    nk = bt.CellType.get(name="NK cell")
    nk.synonyms = "natural killer"
    nk.save()  # an update: the cached index must not be extended
    assert bt.CellType.standardize(["NK", "natural killer"], mute=True) == ["NK", "NK cell"]
    assert len(calls) == 1
    nk.delete()
    assert bt.CellType.standardize(["natural killer"], mute=True) == ["natural killer"]
    assert len(calls) == 1

    # two appends between calls: the table's cache follows them one by one (Table.derived)
    bt.CellType(name="a").save()
    bt.CellType(name="b").save()
    assert bt.CellType.validate(["a", "b", "c"], mute=True).tolist() == [True, True, False]
    assert len(calls) == 3
    bt.CellType(name="c").save()
    assert bt.CellType.validate(["a", "b", "c"], mute=True).tolist() == [True, True, True]
    assert len(calls) == 4


def test_case_insensitive_first_saved_wins_after_append(instance):
    bt.CellType(name="Abc").save()
    assert bt.CellType.standardize(["ABC"], mute=True) == ["Abc"]
    bt.CellType(name="abc").save()  # later, differs only by case: the first saved still wins
    assert bt.CellType.standardize(["ABC", "abc"], mute=True) == ["Abc", "abc"]
    bt.CellType(name="Xyz", synonyms="shared").save()
    assert bt.CellType.standardize(["shared"], mute=True) == ["Xyz"]
    bt.CellType(name="Uvw", synonyms="shared").save()
    assert bt.CellType.standardize(["shared"], keep="last", mute=True) == ["Uvw"]
    assert bt.CellType.standardize(["shared"], mute=True) == ["Xyz"]
    assert bt.CellType.standardize(["shared"], keep=False, mute=True) == [["Xyz", "Uvw"]]


def test_a_new_instance_never_extends_an_old_instances_index(tmp_path):
    """Same id() and version numbers, different rows: the weak table reference tells them apart."""
    ln.init(tmp_path / "one")
    bt.CellType(name="old").save()
    bt.CellType.validate(["old"], mute=True)
    ln.init(tmp_path / "two")
    bt.CellType(name="new").save()
    bt.CellType(name="newer").save()
    assert bt.CellType.validate(["old", "new", "newer"], mute=True).tolist() == [False, True, True]
