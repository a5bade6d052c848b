"""Curation entry points on real registries (Record classes and QuerySets) in a tmp instance.

Data: LaminDB 2.12's hand-made CellType table (lamindb_observed §0) and the seed page's
Gene / ULabel examples; expectations are LaminDB's unless a test says "beyond LaminDB".
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lamindb_cells import OBSERVED_CELLS

import registry as ln
import registry.bio as bt
from registry.curate import InspectResult, RecordList
from registry.errors import DoesNotExist, FieldError, InvalidArgument, ValidationError

CELLS = OBSERVED_CELLS
V = ["T cell", "T-cell", "t cell", "T LYMPHOCYTE", "foo", "NK", "shared syn", "nk cell", "NK CELL", "B cell", "B cell"]


@pytest.fixture
def cells(instance):
    ln.save([bt.CellType(name=n, ontology_id=o, synonyms=s) for n, o, s in CELLS])
    return instance


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG, logger="registry")
    return caplog


def messages(caplog, level=None):
    return [r.getMessage() for r in caplog.records if level is None or r.levelno == level]


# -- validate -----------------------------------------------------------------------------
def test_validate(cells, log):
    values = ["T cell", "T-cell", "t cell", "B cell", "B cell", "foo", "", None, "ADGB-DT"]
    out = bt.CellType.validate(values)
    assert isinstance(out, np.ndarray) and out.dtype == bool
    assert out.tolist() == [True, False, False, True, True, False, False, False, True]
    warn = messages(log, logging.WARNING)
    assert len(warn) == 1
    assert "3 of 6 unique terms (50.0%) are not validated for name: 'T-cell', 't cell', 'foo'" in warn[0]
    assert "3 empty/duplicated" in warn[0]


def test_validate_scalar_field_and_mute(cells, log):
    assert bt.CellType.validate("T cell") is np.True_
    assert bt.CellType.validate("t cell", mute=True) is np.False_
    assert bt.CellType.validate(["CL:0000084", "T cell"], field="ontology_id", mute=True).tolist() == [True, False]
    assert bt.CellType.validate(["CL:0000084"], field=bt.CellType.ontology_id, mute=True).tolist() == [True]
    log.clear()
    bt.CellType.validate(["nope"], mute=True)
    assert messages(log) == []


def test_validate_all_valid_logs_success(cells, log):
    bt.CellType.validate(["T cell", "B cell"])
    assert any("2 unique terms (100.0%) are validated for name" in m for m in messages(log))
    assert messages(log, logging.WARNING) == []


def test_validate_inputs(cells):
    expect = [True, False, False]
    for values in (
        ["B cell", "b cell", None],
        ("B cell", "b cell", None),
        np.array(["B cell", "b cell", None], dtype=object),
        pd.Series(["B cell", "b cell", None]),
        pd.Series(["B cell", "b cell", np.nan]),
        pd.Categorical(["B cell", "b cell", None]),
        pl.Series(["B cell", "b cell", None]),
    ):
        assert bt.CellType.validate(values, mute=True).tolist() == expect


def test_validate_empty_input_and_registry(instance, log):
    assert bt.CellType.validate([]).tolist() == []
    assert "input has zero length" in messages(log)[-1]
    assert bt.CellType.validate(["T cell"]).tolist() == [False]
    assert "Your CellType registry is empty" in messages(log)[-1]


def test_validate_type_mismatch(cells):
    with pytest.raises(TypeError, match="Type mismatch.*CellType.name"):
        bt.CellType.validate([1, 2])
    with pytest.raises(InvalidArgument, match="mix strings"):
        bt.CellType.validate(["T cell", 3])


def test_validate_unknown_field(cells):
    with pytest.raises(FieldError, match="did you mean 'name'"):
        bt.CellType.validate(["x"], field="nme")
    with pytest.raises(InvalidArgument, match="relation"):
        bt.CellType.validate(["x"], field="parents")


def test_validate_integer_field(cells):
    assert bt.CellType.validate([1, 2, 99], field="id", mute=True).tolist() == [True, True, False]


def test_validate_on_record_raises(cells):
    record = bt.CellType.get(name="T cell")
    with pytest.raises(TypeError, match="class method"):
        record.validate(["T cell"])


def test_seed_gene_examples(instance):
    ln.save([bt.Gene(symbol=s, synonyms=syn) for s, syn in [("A1CF", "ACF"), ("A1BG", None), ("BRCA2", "FANCD1|FAD")]])
    symbols = ["A1CF", "A1BG", "FANCD1", "FANCD20"]
    assert bt.Gene.validate(symbols, field=bt.Gene.symbol, mute=True).tolist() == [True, True, False, False]
    result = bt.Gene.inspect(symbols, field=bt.Gene.symbol, mute=True)
    assert result.validated == ["A1CF", "A1BG"]
    assert result.non_validated == ["FANCD1", "FANCD20"]
    assert bt.Gene.standardize(symbols, mute=True) == ["A1CF", "A1BG", "BRCA2", "FANCD20"]


# -- inspect ------------------------------------------------------------------------------
def test_inspect(cells, log):
    values = ["T cell", "T-cell", "t cell", "B cell", "B cell", "foo", "", None, "ADGB-DT"]
    r = bt.CellType.inspect(values)
    assert isinstance(r, InspectResult)
    assert r.validated == ["T cell", "B cell", "ADGB-DT"]
    assert r.non_validated == ["T-cell", "t cell", "foo"]
    assert r.synonyms_mapper == {"T-cell": "T cell", "t cell": "T cell"}
    assert (r.frac_validated, r.n_empty, r.n_unique) == (50.0, 3, 6)
    assert r.df.index.tolist()[:3] == ["T cell", "T-cell", "t cell"]
    text = "\n".join(messages(log))
    assert "3 of 6 unique terms (50.0%) are not validated for name: 'T-cell', 't cell', 'foo'" in text
    assert "inconsistent casing/synonyms" in text
    assert "bt.CellType.standardize(values)" in text
    assert "bt.CellType.from_values(['foo'], field='name', create=True).save()" in text


def test_inspect_table_uid_and_fuzzy(cells):
    r = bt.CellType.inspect(["T cel", "NK", "zzzz"], mute=True)
    t = r.table
    assert t.get_column("tier").to_list() == ["fuzzy", "synonym", "none"]
    t_cell_uid = bt.CellType.get(name="T cell").uid
    assert t.row(0, named=True)["suggestions"][0] == "T cell"
    assert t.row(1, named=True)["uid"] == bt.CellType.get(name="NK cell").uid
    assert t_cell_uid not in (None, "")


def test_inspect_synonyms_only_for_name_field(cells):
    r = bt.CellType.inspect(["cl:0000084"], field="ontology_id", mute=True)
    # casing still maps, synonyms are not consulted for a non-name field
    assert r.synonyms_mapper == {"cl:0000084": "CL:0000084"}
    r = bt.CellType.inspect(["T-cell"], field="ontology_id", mute=True)
    assert r.synonyms_mapper == {}


def test_inspect_ulabel_without_synonyms(instance):
    ln.save([ln.ULabel(name="benchmark")])
    r = ln.ULabel.inspect(["Benchmark", "benchmark", "zzz"], mute=True)
    assert r.validated == ["benchmark"]
    assert r.synonyms_mapper == {"Benchmark": "benchmark"}  # beyond LaminDB: casing is reported
    assert r.unmatched == ["zzz"]


# -- standardize ----------------------------------------------------------------------------
def test_standardize_observed(cells, log):
    out = bt.CellType.standardize(V)
    assert out == [
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
    text = "\n".join(messages(log))
    assert "standardized 6/11 terms" in text
    # beyond LaminDB: unmapped values are reported, with the next call
    assert "1 term not found in CellType.name and returned unchanged: 'foo'" in text
    assert "bt.CellType.inspect(['foo'])" in text


def test_standardize_parameters(cells):
    assert bt.CellType.standardize(V, return_mapper=True, mute=True) == {
        "T-cell": "T cell",
        "t cell": "T cell",
        "T LYMPHOCYTE": "T cell",
        "NK": "NK cell",
        "shared syn": "NK cell",
        "NK CELL": "NK cell",
    }
    assert bt.CellType.standardize(V, case_sensitive=True, mute=True)[2:4] == ["t cell", "T LYMPHOCYTE"]
    assert bt.CellType.standardize(V, keep="last", mute=True)[4:9] == [
        "foo",
        "NKT cell",
        "nk cell",
        "nk cell",
        "NK cell",
    ]
    assert bt.CellType.standardize(V, keep=False, mute=True)[4:9] == [
        "foo",
        ["NK cell", "NKT cell"],
        ["NK cell", "nk cell"],
        "nk cell",
        "NK cell",
    ]
    out = bt.CellType.standardize(V, return_field="ontology_id", mute=True)
    assert out[:6] == ["CL:0000084"] * 4 + ["foo", "CL:0000623"]
    mapper = bt.CellType.standardize(V, return_field=bt.CellType.ontology_id, return_mapper=True, mute=True)
    assert mapper["B cell"] == "CL:0000236" and mapper["nk cell"] == "CL:0000624"
    assert bt.CellType.standardize("t cell", mute=True) == "T cell"
    assert bt.CellType.standardize(pd.Series(["t cell"]), mute=True) == ["T cell"]
    assert bt.CellType.standardize([], mute=True) == []
    assert bt.CellType.standardize(["T-cell"], public_aware=False, mute=True) == ["T cell"]


def test_standardize_keep_false_warns(cells, log):
    bt.CellType.standardize(["NK"], keep=False)
    assert any("keep=False" in m for m in messages(log, logging.WARNING))


def test_standardize_synonyms_field(cells):
    assert bt.CellType.standardize(["T-cell"], synonyms_field=None, mute=True) == ["T-cell"]
    with pytest.raises(FieldError):
        bt.CellType.standardize(["T-cell"], synonyms_field="synonimz", mute=True)
    with pytest.raises(InvalidArgument):
        bt.CellType.standardize(["T-cell"], keep="middle", mute=True)


def test_standardize_non_name_field_skips_synonyms(cells):
    assert bt.CellType.standardize(["T-cell", "cl:0000084"], field="ontology_id", mute=True) == ["T-cell", "CL:0000084"]


def test_standardize_return_field_int(cells):
    ids = bt.CellType.standardize(["T-cell", "foo"], return_field="id", mute=True)
    assert ids == [bt.CellType.get(name="T cell").id, "foo"]


def test_standardize_ulabel_casing(instance):
    ln.save([ln.ULabel(name="benchmark")])
    assert ln.ULabel.standardize(["Benchmark", "benchmark", "zzz"], mute=True) == ["benchmark", "benchmark", "zzz"]


# -- from_values ------------------------------------------------------------------------------
def test_from_values_seed_ulabel(instance, log):
    assert len(ln.ULabel.from_values(["benchmark", "prediction", "test"], field="name")) == 0
    assert "ln.ULabel.from_values(['benchmark', 'prediction', 'test'], field='name', create=True).save()" in "\n".join(
        messages(log, logging.WARNING)
    )
    ln.save([ln.ULabel(name=name) for name in ["benchmark", "prediction", "test"]])
    labels = ln.ULabel.from_values(["benchmark", "prediction", "test"], field="name")
    assert isinstance(labels, RecordList) and len(labels) == 3
    assert all(r.id is not None for r in labels)


def test_from_values_order_duplicates_synonyms(cells):
    records = bt.CellType.from_values(["B cell", "T-cell", "T cell", "b CELL", "foo", None, ""], mute=True)
    # beyond LaminDB: input order of first occurrence, each record once
    assert [r.name for r in records] == ["B cell", "T cell"]
    assert [r.uid for r in records] == [bt.CellType.get(name=n).uid for n in ("B cell", "T cell")]


def test_from_values_create(cells):
    records = bt.CellType.from_values(["T-cell", "brand new", "T cell", "brand new", "other"], create=True, mute=True)
    assert [(r.name, r.id is None) for r in records] == [("T cell", False), ("brand new", True), ("other", True)]
    saved = records.save()
    assert saved is records
    assert bt.CellType.validate(["brand new", "other"], mute=True).all()
    df = records.df()
    assert list(df["name"]) == ["T cell", "brand new", "other"] and df["id"].notna().all()


def test_from_values_field_and_scalar(cells):
    assert [r.name for r in bt.CellType.from_values(["CL:0000236"], field="ontology_id", mute=True)] == ["B cell"]
    assert [r.name for r in bt.CellType.from_values("NK", mute=True)] == ["NK cell"]


def test_from_values_many_values_no_parameter_limit(instance):
    n = 60_000  # LaminDB on SQLite failed around 57k (too many SQL variables)
    ln.save([ln.ULabel(name=f"label{i}") for i in range(n)])
    records = ln.ULabel.from_values([f"label{i}" for i in range(n - 1, -1, -1)], mute=True)
    assert len(records) == n
    assert records[0].name == f"label{n - 1}" and records[-1].name == "label0"


def test_from_values_organism(instance):
    human = bt.Organism(name="human").save()
    mouse = bt.Organism(name="mouse").save()
    ln.save(
        [
            bt.Gene(symbol="BRCA1", ensembl_gene_id="ENSG1", organism=human),
            bt.Gene(symbol="Brca1", ensembl_gene_id="ENSMUSG1", organism=mouse),
        ]
    )
    got = bt.Gene.from_values(["BRCA1"], organism="mouse", mute=True)
    assert [g.symbol for g in got] == ["Brca1"]  # casing within the mouse genes
    assert bt.Gene.validate(["BRCA1"], organism=human, mute=True).tolist() == [True]
    assert bt.Gene.validate(["BRCA1"], organism="mouse", mute=True).tolist() == [False]
    new = bt.Gene.from_values(["Tp53"], organism="mouse", create=True, mute=True)
    assert new[0].organism_id == mouse.id
    with pytest.raises(DoesNotExist, match="did you mean 'human'"):
        bt.Gene.validate(["BRCA1"], organism="humann")


# -- QuerySet scope ---------------------------------------------------------------------------
def test_queryset_scope(cells):
    qs = bt.CellType.filter(name__in=["T cell", "B cell"])
    assert qs.validate(["T cell", "NK cell"], mute=True).tolist() == [True, False]
    assert qs.standardize(["T-cell", "NK"], mute=True) == ["T cell", "NK"]
    assert [r.name for r in qs.from_values(["B-cell", "NK cell"], mute=True)] == ["B cell"]
    assert qs.inspect(["NK cell"], mute=True).validated == []
    assert sorted(qs.lookup().keys()) == ["b_cell", "t_cell"]
    assert bt.CellType.all().validate(["NK cell"], mute=True).tolist() == [True]


def test_queryset_scope_sees_new_records(cells):
    assert bt.CellType.validate(["fresh"], mute=True).tolist() == [False]
    bt.CellType(name="fresh").save()
    assert bt.CellType.validate(["fresh"], mute=True).tolist() == [True]
    assert bt.CellType.standardize(["FRESH"], mute=True) == ["fresh"]


# -- lookup -----------------------------------------------------------------------------------
def test_lookup(cells, log):
    extra = ["class", "CD4-positive, alpha-beta T cell", "_private", "%%%", ""]
    ln.save([bt.CellType(name=n) for n in extra if n])
    lk = bt.CellType.lookup()
    keys = set(lk.keys())
    for key in ("t_cell", "b_cell", "adgb_dt", "nk_cell", "nkt_cell", "class_", "cd4_positive_alpha_beta_t_cell"):
        assert key in keys
    assert {"bt_1st_cell", "bt__private", "bt__"} <= keys
    assert lk.t_cell.name == "T cell"
    assert lk.ln_1st_cell.name == "1st cell"  # LaminDB's spelling for Registry.lookup()
    assert lk.adgb_dt.name == "ADGB-DT"
    assert lk.nk_cell.name == "NK cell"
    assert "2 records found for 'nk_cell'. Returning based on keep='first'." in messages(log, logging.WARNING)
    log.clear()
    _ = lk.nk_cell
    assert messages(log, logging.WARNING) == []  # warned once
    assert bt.CellType.lookup(keep="last").nk_cell.name == "nk cell"
    assert [r.name for r in bt.CellType.lookup(keep=False).nk_cell] == ["NK cell", "nk cell"]
    assert "t_cell" in dir(lk) and "dict" in dir(lk)
    assert lk._fields[-1] == "dict"
    d = lk.dict()
    assert d["ADGB-DT"].name == "ADGB-DT" and len(d) == len(CELLS) + 4
    with pytest.raises(AttributeError, match="did you mean"):
        _ = lk.t_cel


def test_lookup_return_field_and_field(cells):
    assert bt.CellType.lookup(return_field="ontology_id").t_cell == "CL:0000084"
    lk = bt.CellType.lookup(field="ontology_id")
    assert lk.cl_0000084.name == "T cell"
    assert bt.CellType.lookup(field=bt.CellType.ontology_id, return_field="name").cl_0000236 == "B cell"
    assert ln.User.lookup()._fields == ("testuser", "dict")


def test_lookup_key_colliding_with_method(instance):
    ln.save([ln.ULabel(name="dict"), ln.ULabel(name="keys")])
    lk = ln.ULabel.lookup()
    assert callable(lk.dict)
    assert lk["dict"].name == "dict" and lk["keys"].name == "keys"


# -- synonyms ----------------------------------------------------------------------------------
def test_add_remove_synonym(cells):
    t = bt.CellType.lookup().t_cell
    t.add_synonym("T cells")
    # beyond LaminDB: order preserved (existing first, new appended)
    assert bt.CellType.get(name="T cell").synonyms == "T-cell|T lymphocyte|T-lymphocyte|T cells"
    t.add_synonym(["a", "b", "a", ""])
    assert t.synonyms.endswith("|T cells|a|b")
    t.add_synonym("")
    t.add_synonym([])
    t.remove_synonym("T-cell")
    assert bt.CellType.get(name="T cell").synonyms == "T lymphocyte|T-lymphocyte|T cells|a|b"
    t.remove_synonym("not there")
    t.remove_synonym(["T lymphocyte", "T-lymphocyte", "T cells", "a", "b"])
    assert bt.CellType.get(name="T cell").synonyms is None
    assert bt.CellType.standardize(["T-cell"], mute=True, public_aware=False) == ["T-cell"]


def test_add_synonym_rules(cells):
    t = bt.CellType.get(name="T cell")
    with pytest.raises(ValidationError, match="can't contain '|'"):
        t.add_synonym("a|b")
    with pytest.raises(ValidationError, match="'B-cell' belongs to CellType 'B cell'"):
        t.add_synonym("B-cell")
    assert "B-cell" not in t.synonyms  # nothing changed
    t.add_synonym("B-cell", force=True)
    assert "B-cell" in bt.CellType.get(name="T cell").synonyms
    t.add_synonym("T cell")  # own name allowed
    t.add_synonym("T-cell")  # already its own synonym: no conflict, no duplicate
    assert bt.CellType.get(name="T cell").synonyms.count("T-cell|") == 1


def test_add_synonym_save_modes(cells):
    new = bt.CellType(name="unsaved")
    new.add_synonym("u1")
    assert new.synonyms == "u1" and new.id is None  # not saved by default
    t = bt.CellType.get(name="T cell")
    t.add_synonym("in memory", save=False)
    assert "in memory" not in bt.CellType.get(name="T cell").synonyms
    new.add_synonym("u2", save=True)
    assert new.id is not None and bt.CellType.get(name="unsaved").synonyms == "u1|u2"


def test_set_abbr(cells):
    b = bt.CellType.get(name="B cell")
    b.set_abbr("BC")
    fresh = bt.CellType.get(name="B cell")
    assert fresh.abbr == "BC" and fresh.synonyms == "B lymphocyte|B-cell|BC"
    t = bt.CellType.get(name="T cell")
    with pytest.raises(ValidationError):
        t.set_abbr("BC")
    assert t.abbr is None
    t.set_abbr("T cell")
    fresh = bt.CellType.get(name="T cell")
    assert fresh.abbr == "T cell" and fresh.synonyms == "T-cell|T lymphocyte|T-lymphocyte"


def test_synonyms_on_registry_without_field(instance):
    from registry.curate import synonyms

    label = ln.ULabel(name="x")
    with pytest.raises(AttributeError, match="no synonyms field"):
        synonyms.add_synonym(label, "y")
    with pytest.raises(AttributeError, match="no abbr field"):
        synonyms.set_abbr(label, "y")


def test_lookup_keeps_its_snapshot_after_commits(cells):
    lk = bt.CellType.lookup()
    bt.CellType.get(name="B cell").delete()  # shifts the rows after it in the new snapshot
    bt.CellType(name="newer").save()
    assert lk.nkt_cell.name == "NKT cell"
    assert "newer" not in lk  # the lookup describes the registry when it was made
    assert bt.CellType.lookup().newer.name == "newer"


def test_from_values_duplicate_names_return_all(cells):
    ln.save([bt.CellType(name="dup", ontology_id="CL:1"), bt.CellType(name="dup", ontology_id="CL:2")])
    got = bt.CellType.from_values(["dup", "T cell"], mute=True)
    assert [(r.name, r.ontology_id) for r in got] == [("dup", "CL:1"), ("dup", "CL:2"), ("T cell", "CL:0000084")]
    assert bt.CellType.standardize(["DUP"], return_field="ontology_id", mute=True) == ["CL:1"]
    assert bt.CellType.standardize(["DUP"], return_field="ontology_id", keep="last", mute=True) == ["CL:2"]
    assert bt.CellType.standardize(["DUP"], return_field="ontology_id", keep=False, mute=True) == [["CL:1", "CL:2"]]
