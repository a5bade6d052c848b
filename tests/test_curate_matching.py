"""Pure curation algorithms (no instance): LaminDB's published oracles, ported as-is.

The 10-gene table and its expectations come from lamin-utils / lamindb
``tests/.../test_standardize.py``; the CellType examples from LaminDB 2.12's observed
behaviour (standardize / inspect / validate on a hand-made CellType registry).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from registry.curate.inputs import as_values
from registry.curate.matching import ReferenceIndex, match
from registry.curate.standardization import standardize_values
from registry.curate.validation import exact_matches, inspect_values, validate_values, validation_stats
from registry.errors import InvalidArgument

GENES = pl.DataFrame(
    {
        "symbol": ["BRCA1", "A1BG", "BRCA2", "A1CF", "GCLC", "UGCG", "BRCA1-1", "BRCA1-1", "BRCA1-2", "Brca1"],
        "synonyms": [
            "PPP1R53|RNF53|FANCS|BRCC1",
            "",
            "FAD|FAD1|BRCC2|FANCD1|FACD|FANCD|XRCC11",
            "ACF|ACF64|APOBEC1CF|ACF65|ASP",
            "GCS|BRCA1",
            "GCS",
            "BRCA1-1-synonym",
            "BRCA1-1-synonym",
            "BRCA1-1-synonym",
            "BRCC1",
        ],
        "ensembl_gene_id": [
            "ENSG00000012048",
            "ENSG00000121410",
            "ENSG00000139618",
            "ENSG00000148584",
            "ENSG00000164889",
            "ENSG00000164889",
            "ENSG00000012048-1",
            "ENSG00000012048-1-1",
            "ENSG00000012048-2",
            "ENSMUSG00000017146",
        ],
    }
)
GENE_SYMBOLS = ["A1CF", "A1BG", "FANCD1", "FANCD20", "GCS"]


@pytest.fixture(scope="module")
def genes():
    return ReferenceIndex(GENES, "symbol", "synonyms")


def std(index, values, **kw):
    return standardize_values(index, as_values(values), **kw).result


# -- the 10-gene table -------------------------------------------------------------------
def test_map_synonyms(genes):
    assert std(genes, GENE_SYMBOLS) == ["A1CF", "A1BG", "BRCA2", "FANCD20", "GCLC"]
    # a synonym equal to another record's symbol: the exact match wins
    assert std(genes, ["BRCA1", "A1BG"]) == ["BRCA1", "A1BG"]


def test_field_synonym(genes):
    assert std(genes, ["BRCA1", "BRCC1"]) == ["BRCA1", "BRCA1"]


def test_return_mapper(genes):
    assert std(genes, GENE_SYMBOLS, return_mapper=True) == {"FANCD1": "BRCA2", "GCS": "GCLC"}


def test_case_sensitive(genes):
    values = ["A1CF", "FANCD1", "a1CF", "fancd1"]
    assert std(genes, values) == ["A1CF", "BRCA2", "A1CF", "BRCA2"]
    assert std(genes, values, case_sensitive=True) == ["A1CF", "BRCA2", "a1CF", "fancd1"]


def test_empty_values(genes):
    values = ["", " ", None, "CD3", "FANCD1"]
    assert std(genes, values) == ["", " ", None, "CD3", "BRCA2"]
    assert std(genes, values, return_mapper=True) == {"FANCD1": "BRCA2"}


def test_keep_false(genes):
    assert std(genes, ["GCS", "A1CF"], keep=False) == [["GCLC", "UGCG"], "A1CF"]
    assert std(genes, ["GCS", "A1CF"], keep=False, return_mapper=True) == {"GCS": ["GCLC", "UGCG"]}


def test_keep_last(genes):
    assert std(genes, ["GCS"], keep="last") == ["UGCG"]


def test_standardize_return_field(genes):
    assert std(genes, GENE_SYMBOLS, return_field="ensembl_gene_id") == [
        "ENSG00000148584",
        "ENSG00000121410",
        "ENSG00000139618",
        "FANCD20",
        "ENSG00000164889",
    ]
    assert std(genes, GENE_SYMBOLS, return_field="ensembl_gene_id", return_mapper=True) == {
        "FANCD1": "ENSG00000139618",
        "GCS": "ENSG00000164889",
        "A1BG": "ENSG00000121410",
        "A1CF": "ENSG00000148584",
    }


def test_standardize_keep_return_field(genes):
    values = ["A1CF", "FANCD1", "BRCA1-1"]
    assert std(genes, values, return_field="ensembl_gene_id", return_mapper=True) == {
        "FANCD1": "ENSG00000139618",
        "A1CF": "ENSG00000148584",
        "BRCA1-1": "ENSG00000012048-1",
    }
    assert std(genes, values, return_field="ensembl_gene_id", return_mapper=True, keep="last") == {
        "FANCD1": "ENSG00000139618",
        "A1CF": "ENSG00000148584",
        "BRCA1-1": "ENSG00000012048-1-1",
    }
    assert std(
        genes, ["A1CF", "FANCD1", "BRCA1-1-synonym"], return_field="ensembl_gene_id", keep=False, return_mapper=True
    ) == {
        "FANCD1": "ENSG00000139618",
        "BRCA1-1-synonym": ["ENSG00000012048-1", "ENSG00000012048-1-1", "ENSG00000012048-2"],
        "A1CF": "ENSG00000148584",
    }
    assert std(genes, values, return_field="ensembl_gene_id", keep=False) == [
        "ENSG00000148584",
        "ENSG00000139618",
        ["ENSG00000012048-1", "ENSG00000012048-1-1"],
    ]


def test_exact_match_before_case_insensitive(genes):
    assert std(genes, ["Brca1"]) == ["Brca1"]


def test_exact_match_priority():
    index = ReferenceIndex(
        pl.DataFrame({"symbol": ["Abca1", "ABCA1"], "synonyms": ["", "ABC1|TGD|HDLDT1"]}), "symbol", "synonyms"
    )
    assert std(index, ["Abca1"]) == ["Abca1"]
    assert std(index, ["ABC1"]) == ["ABCA1"]


def test_case_insensitive_field_before_synonym():
    index = ReferenceIndex(
        pl.DataFrame({"symbol": ["BRCA1", "GCLC"], "synonyms": ["", "BRCA1|GCS"]}), "symbol", "synonyms"
    )
    assert std(index, ["brca1"]) == ["BRCA1"]


def test_priority_chain():
    index = ReferenceIndex(
        pl.DataFrame({"symbol": ["Gene1", "GENE1", "GENE2"], "synonyms": ["", "", "Gene1|G1"]}), "symbol", "synonyms"
    )
    assert std(index, ["Gene1", "gene1", "G1"]) == ["Gene1", "Gene1", "GENE2"]


def test_early_mismatch():
    index = ReferenceIndex(
        pl.DataFrame(
            {
                "name": ["Plasmablast", "conventional dendritic cell", "plasmablast"],
                "synonyms": [
                    "",
                    "cDC|dendritic reticular cell|DC1|type 1 DC",
                    "CD27-positive|CD38-positive|CD20-negative B cell",
                ],
            }
        ),
        "name",
        "synonyms",
    )
    assert std(index, ["Plasmablast", "cDC"]) == ["Plasmablast", "conventional dendritic cell"]


# -- CellType (LaminDB 2.12 observed) ---------------------------------------------------------
CELLS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6, 7],
        "uid": ["u1", "u2", "u3", "u4", "u5", "u6", "u7"],
        "name": ["T cell", "B cell", "ADGB-DT", "1st cell", "NK cell", "nk cell", "NKT cell"],
        "ontology_id": [
            "CL:0000084",
            "CL:0000236",
            "CL:9999999",
            "CL:9999998",
            "CL:0000623",
            "CL:0000624",
            "CL:0000814",
        ],
        "synonyms": [
            "T-cell|T lymphocyte|T-lymphocyte",
            "B lymphocyte|B-cell",
            None,
            None,
            "natural killer cell|NK|shared syn",
            "shared syn",
            "NK",
        ],
    }
)
V = ["T cell", "T-cell", "t cell", "T LYMPHOCYTE", "foo", "NK", "shared syn", "nk cell", "NK CELL", "B cell", "B cell"]


@pytest.fixture(scope="module")
def cells():
    return ReferenceIndex(CELLS, "name", "synonyms")


def test_celltype_standardize(cells):
    out = standardize_values(cells, as_values(V))
    assert out.result == [
        "T cell",
        "T cell",
        "T cell",
        "T cell",
        "foo",
        "NK cell",
        "NK cell",
        "nk cell",
        "NK cell",
        "B cell",
        "B cell",
    ]
    assert out.n_changed == 6 and out.n_values == 11
    assert out.unmapped == ["foo"]


def test_celltype_return_mapper(cells):
    assert std(cells, V, return_mapper=True) == {
        "T-cell": "T cell",
        "t cell": "T cell",
        "T LYMPHOCYTE": "T cell",
        "NK": "NK cell",
        "shared syn": "NK cell",
        "NK CELL": "NK cell",
    }


def test_celltype_case_sensitive(cells):
    assert std(cells, V, case_sensitive=True) == [
        "T cell",
        "T cell",
        "t cell",
        "T LYMPHOCYTE",
        "foo",
        "NK cell",
        "NK cell",
        "nk cell",
        "NK CELL",
        "B cell",
        "B cell",
    ]


def test_celltype_keep_last(cells):
    assert std(cells, V, keep="last")[4:9] == ["foo", "NKT cell", "nk cell", "nk cell", "NK cell"]


def test_celltype_keep_false(cells):
    out = std(cells, V, keep=False)
    assert out[4:9] == ["foo", ["NK cell", "NKT cell"], ["NK cell", "nk cell"], "nk cell", "NK cell"]
    mapper = std(cells, V, keep=False, return_mapper=True)
    assert mapper["NK"] == ["NK cell", "NKT cell"] and mapper["shared syn"] == ["NK cell", "nk cell"]
    assert mapper["T-cell"] == "T cell"


def test_celltype_return_field(cells):
    out = std(cells, V, return_field="ontology_id")
    assert out[:6] == ["CL:0000084"] * 4 + ["foo", "CL:0000623"]
    mapper = std(cells, V, return_field="ontology_id", return_mapper=True)
    assert mapper["B cell"] == "CL:0000236" and mapper["nk cell"] == "CL:0000624"
    assert "foo" not in mapper


def test_celltype_scalar_and_empty(cells):
    assert std(cells, "t cell") == "T cell"
    assert std(cells, "foo") == "foo"
    assert std(cells, []) == []
    assert std(cells, [], return_mapper=True) == {}


def test_celltype_pandas_inputs(cells):
    assert std(cells, pd.Series(["t cell", "B cell"])) == ["T cell", "B cell"]
    assert std(cells, pd.Categorical(["t cell", None, "t cell"])) == ["T cell", None, "T cell"]
    assert std(cells, np.array(["NK"], dtype=object)) == ["NK cell"]
    assert std(cells, pl.Series(["NK"]).cast(pl.Categorical)) == ["NK cell"]


def test_celltype_validate(cells):
    values = ["T cell", "T-cell", "t cell", "B cell", "B cell", "foo", "", None, "ADGB-DT"]
    vals = as_values(values)
    flags = validate_values(cells, vals)
    assert flags.tolist() == [True, False, False, True, True, False, False, False, True]
    enc, ok = exact_matches(cells, vals)
    st = validation_stats(vals, enc, ok)
    assert (st.n_unique, st.n_validated, st.n_ignored) == (6, 3, 3)
    assert st.non_validated == ["T-cell", "t cell", "foo"]


def test_celltype_inspect(cells):
    values = ["T cell", "T-cell", "t cell", "B cell", "B cell", "foo", "", None, "ADGB-DT"]
    r = inspect_values(cells, as_values(values))
    assert r.validated == ["T cell", "B cell", "ADGB-DT"]
    assert r.non_validated == ["T-cell", "t cell", "foo"]
    assert r.synonyms_mapper == {"T-cell": "T cell", "t cell": "T cell"}
    assert r.frac_validated == 50.0 and r.n_empty == 3 and r.n_unique == 6
    assert r["validated"] == r["mapped"] == r.validated
    assert r["non_validated"] == r["not_mapped"] == r.non_validated
    assert r.unmatched == ["foo"]
    assert r.df["__validated__"].tolist() == [True, False, False, True, True, False, False, False, True]
    t = r.table
    assert t.get_column("tier").to_list() == ["exact", "synonym", "case-insensitive", "exact", "none", "exact"]
    assert t.filter(pl.col("value") == "T-cell").get_column("uid").to_list() == ["u1"]


def test_inspect_fuzzy_suggestions(cells):
    r = inspect_values(cells, as_values(["T cel", "B cells", "zzzzzz"]))
    t = r.table
    assert t.get_column("tier").to_list() == ["fuzzy", "fuzzy", "none"]
    assert t.get_column("suggestions").to_list()[0][0] == "T cell"
    assert t.get_column("suggestions").to_list()[1][0] == "B cell"
    assert t.get_column("suggestions").to_list()[2] == []
    assert all(0 < s <= 100 for s in t.get_column("scores").to_list()[0])


def test_inspect_fuzzy_budget(cells, monkeypatch):
    from registry.curate import fuzzy

    r = inspect_values(cells, as_values(["T cel", "B cels"]), eager_cells=1)
    # the eager budget (for the log) covers one query only
    assert r._suggestions.get_column("value").to_list() == ["T cel"]
    monkeypatch.setattr(fuzzy, "TABLE_CELLS", 1)
    sugg = r.table.get_column("suggestions").to_list()
    assert sugg[0][0] == "T cell" and sugg[1] is None  # not computed: over the table budget
    more = r.suggest()
    assert more.get_column("suggestions").to_list()[1][0] == "B cell"
    r2 = inspect_values(cells, as_values(["T cel", "B cels"]), eager_cells=1)
    monkeypatch.setattr(fuzzy, "TABLE_CELLS", 10**6)
    assert [s[0] for s in r2.table.get_column("suggestions").to_list()] == ["T cell", "B cell"]


def test_inspect_no_synonyms(cells):
    r = inspect_values(ReferenceIndex(CELLS, "name"), as_values(["T-cell", "t cell"]), synonyms=False)
    assert r.synonyms_mapper == {"t cell": "T cell"}


def test_match_tiers_and_keep_false_names(cells):
    m = match(cells, pl.Series(["NK", "T-cell", "zz"]), keep=False)
    assert m.get_column("tier").to_list() == ["synonym", "synonym", "none"]
    assert m.get_column("names").to_list() == [["NK cell", "NKT cell"], ["T cell"], None]


def test_match_invalid_keep(cells):
    with pytest.raises(InvalidArgument):
        match(cells, pl.Series(["a"]), keep="middle")
    with pytest.raises(InvalidArgument):
        match(cells, pl.Series(["a"]), keep=True)


def test_type_mismatch_messages(cells):
    with pytest.raises(TypeError, match="Type mismatch"):
        as_values([1, 2])
    with pytest.raises(InvalidArgument, match="mix strings"):
        as_values(["a", 1])
    with pytest.raises(InvalidArgument, match="CellType.name"):
        as_values(np.array([1.5]), field_label="CellType.name")


def test_nan_and_none_are_null(cells):
    vals = as_values(["T cell", float("nan"), None, pd.NA])
    assert vals.series.to_list() == ["T cell", None, None, None]
    assert validate_values(cells, vals).tolist() == [True, False, False, False]
    assert std(cells, ["t cell", float("nan")]) == ["T cell", None]


def test_empty_reference():
    index = ReferenceIndex(
        pl.DataFrame({"name": pl.Series([], dtype=pl.String), "synonyms": pl.Series([], dtype=pl.String)}),
        "name",
        "synonyms",
    )
    assert validate_values(index, as_values(["a"])).tolist() == [False]
    assert std(index, ["a", None]) == ["a", None]
    r = inspect_values(index, as_values(["a"]))
    assert r.validated == [] and r.non_validated == ["a"]


def test_integer_field():
    index = ReferenceIndex(pl.DataFrame({"id": [1, 2, 3]}), "id")
    assert validate_values(index, as_values([1, 5, None], "int")).tolist() == [True, False, False]
    assert standardize_values(index, as_values([3, 4, None], "int")).result == [3, 4, None]


def test_inspect_large_registry_defers_suggestions(cells, monkeypatch):
    from registry.curate import fuzzy

    index = ReferenceIndex(CELLS, "name", "synonyms")  # fresh: no cached choices
    monkeypatch.setattr(fuzzy, "EAGER_RECORDS", 0)
    r = inspect_values(index, as_values(["T cel"]))
    assert r._suggestions is None  # nothing computed eagerly for a "large" registry
    assert r.table.get_column("suggestions").to_list() == [["T cell"]]  # computed on access


def test_hash_collisions_stay_exact(monkeypatch):
    """With a deliberately terrible hash for the default seed, every result is unchanged."""
    from registry.curate import matching

    real = matching.hashes

    def weak(s, seed=matching._SEED):
        h = real(s, seed)
        return h % np.uint64(3) if seed == matching._SEED else h

    def run():
        genes = ReferenceIndex(GENES, "symbol", "synonyms")
        cells = ReferenceIndex(CELLS, "name", "synonyms")
        return (
            std(genes, GENE_SYMBOLS + ["a1CF", "fancd1", None, "BRCC1"]),
            std(genes, ["GCS", "A1CF", "BRCA1-1-synonym"], keep=False),
            std(genes, ["A1CF", "FANCD1", "BRCA1-1"], return_field="ensembl_gene_id", keep="last"),
            std(cells, V, keep="last"),
            validate_values(cells, as_values(V + [None, ""])).tolist(),
            match(cells, pl.Series(V)).get_column("tier").to_list(),
        )

    expected = run()
    monkeypatch.setattr(matching, "hashes", weak)
    index = ReferenceIndex(CELLS, "name", "synonyms")
    assert index.name_index().seed != matching._SEED  # rebuilt with another seed
    enc = matching.encode(pl.Series(V))
    assert sorted(enc.values.to_list()) == sorted(set(V))  # colliding inputs kept apart
    assert run() == expected


def test_inspect_eager_suggestions_are_few(cells):
    from registry.curate import fuzzy

    values = [f"T cel{i}" for i in range(fuzzy.EAGER_VALUES + 4)]
    r = inspect_values(cells, as_values(values))
    # the log shows a handful of hints: only those are computed before the table is asked for
    assert r._suggestions.height == fuzzy.EAGER_VALUES
    assert r.table.get_column("suggestions").null_count() == 0
