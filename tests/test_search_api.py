"""Registry.search / QuerySet.search on a real instance: results, fields, errors, caching, batch."""

from __future__ import annotations

import pandas as pd
import pytest
from lamindb_cells import OBSERVED_CELLS

import registry as ln
import registry.bio as bt
from registry.errors import FieldError, InvalidArgument, ValidationError
from registry.search import search_positions
from registry.search.candidates import clear_cache

CELLS = [
    *OBSERVED_CELLS,
    ("CD4-positive, alpha-beta T cell", None, None),
    ("nodal myocyte", "CL:0002072", "cardiac pacemaker cell|myocytus nodalis|P cell"),
    ("PP cell", "CL:0000696", "type F enteroendocrine cell"),
    ("lymphocyte", "CL:0000542", None),
]


@pytest.fixture
def cells(instance):
    ln.save([bt.CellType(name=n, ontology_id=o, synonyms=s) for n, o, s in CELLS])
    return instance


def names(qs) -> list[str]:
    return [r.name for r in qs]


class TestSingle:
    def test_returns_ranked_queryset_with_score(self, cells):
        qs = bt.CellType.search("P cell")
        assert names(qs)[:2] == ["nodal myocyte", "PP cell"]
        df = qs.df()
        assert list(df["name"][:2]) == ["nodal myocyte", "PP cell"]
        assert df["score"].iloc[0] == 100.0
        assert df["score"].is_monotonic_decreasing
        assert ((df["score"] >= 0) & (df["score"] <= 100)).all()

    def test_observed_orderings(self, cells):
        assert set(names(bt.CellType.search("NK"))[:2]) == {"NKT cell", "NK cell"}
        assert names(bt.CellType.search("T cell"))[:2] == ["T cell", "CD4-positive, alpha-beta T cell"]
        assert names(bt.CellType.search("CL:0000236")) == ["B cell"]
        assert names(bt.CellType.search("b cell"))[0] == "B cell"

    def test_typo_tolerance(self, cells):
        assert names(bt.CellType.search("lymphocite"))[0] == "lymphocyte"
        assert names(bt.CellType.search("Tcell"))[0] == "T cell"

    def test_limit(self, cells):
        assert len(bt.CellType.search("cell", limit=2)) == 2
        everything = bt.CellType.search("cell", limit=None)
        assert len(everything) > 5
        assert len(bt.CellType.search("cell", limit=0)) == 0

    def test_field_as_string_object_and_list(self, cells):
        assert names(bt.CellType.search("NK", field="name"))[:2] in (["NK cell", "nk cell"], ["nk cell", "NK cell"])
        assert names(bt.CellType.search("P cell", field=bt.CellType.name))[0] == "PP cell"
        got = names(bt.CellType.search("P cell", field=[bt.CellType.name, "synonyms"]))
        assert got[:2] == ["nodal myocyte", "PP cell"]

    def test_case_sensitive(self, cells):
        qs = bt.CellType.search("b cell", case_sensitive=True)
        df = qs.df()
        # no rule hit: "B cell" only comes back as a typo-level hit
        assert (df["score"] < 60).all()

    def test_uid_exact(self, cells):
        rec = bt.CellType.get(name="PP cell")
        assert names(bt.CellType.search(rec.uid)) == ["PP cell"]

    def test_empty_query_returns_all(self, cells):
        assert len(bt.CellType.search("", limit=None)) == len(CELLS)

    def test_seed_example_ulabels(self, instance):
        ln.save([ln.ULabel(name=n) for n in ["ULabel1", "ULabel2", "ULabel3"]])
        df = ln.ULabel.search("ULabel2").df()
        assert df["name"].iloc[0] == "ULabel2"
        assert df["score"].iloc[0] == 100.0
        assert (df["score"].iloc[1:] < 100).all()

    def test_gene_searches_symbol(self, instance):
        ln.save([bt.Gene(symbol="CD4", synonyms="T4|LEU3"), bt.Gene(symbol="CD8A", synonyms="CD8")])
        assert [g.symbol for g in bt.Gene.search("leu3")] == ["CD4"]
        assert [g.symbol for g in bt.Gene.search("CD8")][0] == "CD8A"

    def test_search_positions(self, cells):
        ids, scores = search_positions(bt.CellType, "P cell", limit=2)
        assert ids.tolist() == [bt.CellType.get(name="nodal myocyte").id, bt.CellType.get(name="PP cell").id]
        assert scores[0] == 100.0


class TestQuerySetScope:
    def test_filtered_queryset(self, cells):
        qs = bt.CellType.filter(name__endswith="cell")
        got = names(qs.search("P cell"))
        assert "nodal myocyte" not in got
        assert got[0] == "PP cell"

    @pytest.mark.parametrize("query", ["T cell", "NK", "lymphocite", "cell", "CL:00006"])
    def test_subset_paths_agree(self, cells, monkeypatch, query):
        import registry.search as search_module

        qs = bt.CellType.exclude(name="lymphocyte").exclude(name="T cell")
        results = []
        # share 0: always the registry's cached candidates + a mask; share 1: candidates of the subset
        for share in (0.0, 1.0):
            monkeypatch.setattr(search_module, "_SUBSET_SHARE", share)
            df = qs.search(query, limit=None).df()
            results.append(list(zip(df["name"], df["score"], strict=True)))
        assert results[0] == results[1]
        assert not {"lymphocyte", "T cell"} & {n for n, _ in results[0]}

    def test_sliced_queryset(self, cells):
        first_two = bt.CellType.filter().order_by("id")[:2]
        assert set(names(first_two.search("cell"))) == {"T cell", "B cell"}

    def test_search_of_search(self, cells):
        hits = bt.CellType.search("cell", limit=None)
        again = hits.search("NK")
        assert set(names(again)[:2]) == {"NK cell", "NKT cell"}


class TestCache:
    """Candidates live in the table's derived data: built once per version, commits followed."""

    @pytest.fixture
    def builds(self, monkeypatch):
        import registry.search as search_mod
        import registry.search.candidates as cand

        made = []
        real = cand.build

        def counting(frame, roles, case_sensitive):
            made.append(frame.height)
            return real(frame, roles, case_sensitive)

        monkeypatch.setattr(cand, "build", counting)
        monkeypatch.setattr(search_mod, "build", counting)
        clear_cache(ln.settings.instance)
        return made

    def test_reused_and_followed_across_commits(self, cells, builds):
        bt.CellType.search("T cell")
        bt.CellType.search("B cell")
        assert len(builds) == 1
        assert "mast cell" not in names(bt.CellType.search("mast cell"))
        bt.CellType(name="mast cell").save()  # an append: followed, only the new record is built
        assert names(bt.CellType.search("mast cell"))[0] == "mast cell"
        record = bt.CellType.get(name="B cell")
        record.synonyms = "B lymphocyte|mast cell precursor"
        record.save()  # an update: followed too
        assert "B cell" in names(bt.CellType.search("mast cell precursor"))[:1]
        bt.CellType.get(name="mast cell").delete()
        assert "mast cell" not in names(bt.CellType.search("mast cell"))
        # one full build, then only the appended and the edited record were built
        assert builds == [len(CELLS), 1, 1]

    def test_case_modes_cached_separately(self, cells, builds):
        bt.CellType.search("T cell")
        bt.CellType.search("T cell", case_sensitive=True)
        bt.CellType.search("T cell", field="name")
        bt.CellType.search("B cell", field="name")
        assert len(builds) == 3


class TestBatch:
    def test_dataframe(self, cells):
        df = bt.CellType.search(["P cell", "lymphocite", "NK", "P cell", "zzzzqqqq"], limit=2)
        assert isinstance(df, pd.DataFrame)
        assert list(df.columns) == ["query", "rank", "uid", "name", "score"]
        assert list(df["query"].unique()) == ["P cell", "lymphocite", "NK"]  # deduplicated, input order
        first = df.groupby("query", sort=False).first()
        assert first.loc["P cell", "name"] == "nodal myocyte"
        assert first.loc["lymphocite", "name"] == "lymphocyte"
        assert (df.groupby("query")["rank"].max() <= 2).all()
        assert set(df.loc[df["query"] == "NK", "name"]) == {"NK cell", "NKT cell"}

    def test_series_input_and_limit_none(self, cells):
        df = bt.CellType.search(pd.Series(["cell"]), limit=None)
        assert len(df) == len(bt.CellType.search("cell", limit=None))

    def test_gene_name_column_is_symbol(self, instance):
        ln.save([bt.Gene(symbol="CD4")])
        df = bt.Gene.search(["cd4"])
        assert list(df.columns) == ["query", "rank", "uid", "symbol", "score"]
        assert df["symbol"].tolist() == ["CD4"]

    def test_queryset_batch(self, cells):
        df = bt.CellType.filter(name__endswith="cell").search(["P cell"], limit=None)
        assert "nodal myocyte" not in set(df["name"])

    def test_non_string_item(self, cells):
        with pytest.raises(InvalidArgument, match="item 1 is int"):
            bt.CellType.search(["a", 3])

    def test_missing_values_are_skipped(self, cells):
        df = bt.CellType.search(pd.Series(["T cell", None, float("nan")]), limit=1)
        assert df["query"].tolist() == ["T cell"]


class TestErrors:
    def test_none(self, cells):
        with pytest.raises(ValueError, match="Cannot search for None"):
            bt.CellType.search(None)
        with pytest.raises(ValidationError):
            bt.CellType.search(None)

    def test_non_string_query(self, cells):
        with pytest.raises(TypeError, match="string"):
            bt.CellType.search(42)

    @pytest.mark.parametrize("field", [3, object(), {"name": 1}])
    def test_field_of_wrong_type(self, cells, field):
        with pytest.raises(TypeError, match=r"string field, e.g. `CellType.name`"):
            bt.CellType.search("x", field=field)

    def test_unknown_field(self, cells):
        with pytest.raises(FieldError, match="did you mean 'name'"):
            bt.CellType.search("x", field="nme")
        with pytest.raises(AttributeError):
            bt.CellType.search("x", field="nme")

    def test_relation_field(self, cells):
        with pytest.raises(TypeError, match="not a string field"):
            bt.CellType.search("x", field="parents")

    def test_field_of_other_registry(self, cells):
        with pytest.raises(FieldError, match="not of CellType"):
            bt.CellType.search("x", field=bt.Gene.symbol)

    @pytest.mark.parametrize("limit", [-1, 2.5, "3", True])
    def test_bad_limit(self, cells, limit):
        with pytest.raises(TypeError, match="limit"):
            bt.CellType.search("x", limit=limit)

    def test_bad_scope(self):
        from registry.search import search

        with pytest.raises(TypeError, match="registry class"):
            search("CellType", "x")
