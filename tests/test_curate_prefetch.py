"""Index builds started on background threads (``ReferenceIndex.prefetch``) change no result."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from lamindb_cells import OBSERVED_CELLS

import registry as ln
import registry.bio as bt
from registry.curate import matching
from registry.curate.matching import Background, ReferenceIndex
from registry.curate.scope import clear_cache

VALUES = ["T cell", "T-cell", "t cell", "T LYMPHOCYTE", "foo", "NK", "shared syn", "nk cell", None, "", "B cell"]


@pytest.fixture
def cells(instance):
    ln.save([bt.CellType(name=n, ontology_id=o, synonyms=s) for n, o, s in OBSERVED_CELLS])
    return instance


def _everything() -> dict:
    ct = bt.CellType
    out = {"validate": ct.validate(VALUES, mute=True).tolist()}
    res = ct.inspect(VALUES, mute=True)
    out["inspect"] = (res.validated, res.non_validated, res.synonyms_mapper, res.table.to_dicts())
    for keep in ("first", "last", False):
        for cs in (False, True):
            out[("standardize", keep, cs)] = ct.standardize(VALUES, keep=keep, case_sensitive=cs, mute=True)
    out["from_values"] = [r.uid for r in ct.from_values(VALUES, mute=True)]
    return out


def test_prefetched_builds_give_the_same_results(cells, monkeypatch):
    clear_cache()
    plain = _everything()
    clear_cache()
    monkeypatch.setattr(matching, "PREFETCH_ROWS", 0)
    started = []
    original = ReferenceIndex.prefetch

    def spy(self, **kw):
        original(self, **kw)
        started.extend(k for k, v in self._memo.items() if isinstance(v, Background))

    monkeypatch.setattr(ReferenceIndex, "prefetch", spy)
    assert _everything() == plain
    assert {"names", "exploded", "lower", ("synonyms", False)} <= set(started)  # the background path ran


def test_a_failing_background_build_raises_where_it_is_used(monkeypatch):
    monkeypatch.setattr(matching, "PREFETCH_ROWS", 0)
    index = ReferenceIndex(pl.DataFrame({"name": ["a", "B"], "synonyms": ["x", None]}), "name", "synonyms")

    def broken(_):
        raise RuntimeError("boom")

    monkeypatch.setattr(matching, "fold_case", broken)
    index.prefetch(casing=True)
    assert index.name_index().find(pl.Series(["a"])).tolist() == [0]
    with pytest.raises(RuntimeError, match="boom"):
        index.lower_index()


def test_extension_waits_for_background_builds(monkeypatch):
    monkeypatch.setattr(matching, "PREFETCH_ROWS", 0)
    ref = pl.DataFrame({"name": ["a", "b"], "synonyms": ["x|y", None]})
    index = ReferenceIndex(ref, "name", "synonyms")
    index.prefetch(casing=True, synonyms=True)
    full = pl.concat([ref, pl.DataFrame({"name": ["C"], "synonyms": ["z"]})])
    ext = index.extended(full)
    assert not any(isinstance(v, Background) for v in ext._memo.values())
    fresh = ReferenceIndex(full, "name", "synonyms")
    q = pl.Series(["c", "Z", "y", "a"])
    for name in ("lower_index", "name_index"):
        assert np.array_equal(getattr(ext, name)().find(q), getattr(fresh, name)().find(q))
    assert np.array_equal(ext.synonym_index(False).find(q), fresh.synonym_index(False).find(q))


def test_a_forked_child_builds_what_the_parent_was_building(monkeypatch):
    import multiprocessing as mp
    import threading

    monkeypatch.setattr(matching, "PREFETCH_ROWS", 0)
    release = threading.Event()
    index = ReferenceIndex(pl.DataFrame({"name": ["a", "B"]}), "name")

    def slow_lower(s):
        release.wait(10)  # the parent's background build is still running when we fork
        return s.str.to_lowercase()

    monkeypatch.setattr(matching, "fold_case", slow_lower)
    index.prefetch(casing=True)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def child():
        matching.fold_case = lambda s: s.str.to_lowercase()
        queue.put(index.lower_index().find(pl.Series(["b"])).tolist())

    proc = ctx.Process(target=child)
    proc.start()
    try:
        assert queue.get(timeout=20) == [1]
    finally:
        release.set()
        proc.join(20)
    assert proc.exitcode == 0
    assert index.lower_index().find(pl.Series(["b"])).tolist() == [1]


def test_validate_and_inspect_share_one_cached_index(cells):
    from registry.curate import scope

    clear_cache()
    bt.CellType.validate(VALUES, mute=True)
    assert len(scope.cached_indexes()) == 1
    (index,) = scope.cached_indexes().values()
    built = index._memo["names"]
    bt.CellType.inspect(VALUES, mute=True)
    bt.CellType.standardize(VALUES, mute=True)
    assert len(scope.cached_indexes()) == 1 and index._resolved("names") is built


def test_concurrent_calls_on_a_cold_cache_agree(cells, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    clear_cache()
    want = _everything()
    monkeypatch.setattr(matching, "PREFETCH_ROWS", 0)
    for _ in range(3):
        clear_cache()
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: _everything(), range(4)))
        assert all(r == want for r in results)
