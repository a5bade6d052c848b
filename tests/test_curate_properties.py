"""Property tests for the pure matchers, against a plain-Python model of LaminDB's tiers."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.curate.attribute_lookup import lookup_keys
from registry.curate.inputs import as_values
from registry.curate.matching import ReferenceIndex
from registry.curate.standardization import standardize_values
from registry.curate.validation import validate_values

# a small alphabet so collisions (casing, shared synonyms) are frequent
word = st.text(alphabet="aAbB -|", min_size=0, max_size=4)
names = st.lists(st.text(alphabet="aAbB -", min_size=1, max_size=4), min_size=0, max_size=12)


@st.composite
def reference(draw):
    ns = draw(names)
    syns = [
        draw(
            st.one_of(st.none(), st.lists(st.text(alphabet="aAbB -", min_size=0, max_size=4), max_size=3).map("|".join))
        )
        for _ in ns
    ]
    return pl.DataFrame({"name": pl.Series(ns, dtype=pl.String), "synonyms": pl.Series(syns, dtype=pl.String)})


@st.composite
def values_for(draw, ref):
    pool = ref.get_column("name").to_list()
    pool += [s for x in ref.get_column("synonyms").drop_nulls().to_list() for s in x.split("|")]
    choice = st.sampled_from(pool) if pool else st.nothing()
    one = st.one_of(choice.map(lambda v: v), choice.map(str.upper), choice.map(str.lower), word, st.none())
    return draw(st.lists(one, max_size=15))


def naive(ref: pl.DataFrame, values, case_sensitive=False, keep="first"):
    """Three tiers, written the slow obvious way."""
    names = ref.get_column("name").to_list()
    syns = ref.get_column("synonyms").to_list()
    exact = set(names)
    lower = {}
    for n in names:
        lower.setdefault(n.lower(), n)
    syn = {}
    for n, s in zip(names, syns, strict=True):
        for x in (s or "").split("|"):
            if x and x != n:
                k = x if case_sensitive else x.lower()
                syn.setdefault(k, []).append(n)
    out = []
    for v in values:
        if v is None or v in exact:
            out.append(v)
        elif not case_sensitive and v.lower() in lower:
            out.append(lower[v.lower()])
        elif (v if case_sensitive else v.lower()) in syn:
            owners = list(dict.fromkeys(syn[v if case_sensitive else v.lower()]))
            if keep == "first":
                out.append(owners[0])
            elif keep == "last":
                out.append(syn[v if case_sensitive else v.lower()][-1])
            else:
                out.append(owners[0] if len(owners) == 1 else owners)
        else:
            out.append(v)
    return out


def _standardize_against_naive(data, *, background: bool) -> None:
    """Draw a reference, values and options; standardize must agree with ``naive``."""
    from registry.curate import matching

    ref = data.draw(reference())
    values = data.draw(values_for(ref))
    case_sensitive = data.draw(st.booleans())
    keep = data.draw(st.sampled_from(["first", "last", False]))
    index = ReferenceIndex(ref, "name", "synonyms")
    if background:  # every size prefetches (hypothesis forbids function-scoped fixtures)
        saved, matching.PREFETCH_ROWS = matching.PREFETCH_ROWS, 0
        try:
            index.prefetch(casing=not case_sensitive, synonyms=True, case_sensitive=case_sensitive)
        finally:
            matching.PREFETCH_ROWS = saved
    got = standardize_values(index, as_values(values), case_sensitive=case_sensitive, keep=keep).result
    assert got == naive(ref, values, case_sensitive, keep)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_standardize_matches_naive_model(data):
    _standardize_against_naive(data, background=False)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_standardize_with_background_builds_matches_naive_model(data):
    _standardize_against_naive(data, background=True)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_standardize_never_changes_validated_values(data):
    ref = data.draw(reference())
    values = data.draw(values_for(ref))
    index = ReferenceIndex(ref, "name", "synonyms")
    vals = as_values(values)
    ok = validate_values(index, vals)
    for kw in ({}, {"case_sensitive": True}, {"keep": "last"}, {"keep": False}):
        out = standardize_values(index, vals, **kw).result
        assert all(o == v for o, v, k in zip(out, values, ok, strict=True) if k)
        # and standardize is idempotent: a second pass changes nothing
        if kw.get("keep", "first") is not False:
            assert standardize_values(index, as_values(out), **kw).result == out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=20))
def test_lookup_keys_match_laminDB_rule(values):
    import keyword
    import re

    def rule(v):
        if not isinstance(v, str):
            return None
        k = re.sub("[^0-9a-zA-Z_]+", "_", v).lower()
        if k == "":
            return None
        if not k[0].isalpha() or not k[0].isascii():
            k = f"ln_{k}"
        if keyword.iskeyword(k):
            k += "_"
        return k

    got = lookup_keys(pl.Series(values, dtype=pl.String)).to_list()
    assert got == [rule(v) for v in values]
