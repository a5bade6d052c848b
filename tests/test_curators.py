"""ln.curators: DataFrameCurator and AnnDataCurator on every input kind, against a small real instance."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry as ln
import registry.bio as bt
from registry.curators import dataset as ds
from registry.errors import FieldError, InvalidArgument

CELL_TYPES = ["T cell", "T-cell", "t cell", "B cel", "my novel cell", None, "T cell", "B cell", ""]
DONORS = ["donor A", "donor B", "Donor A", "donor C", "donor A", "donor A", None, "donor B", "donor A"]
EXPECTED_TIERS = {
    "cell_type": {
        "T cell": "validated",
        "B cell": "validated",
        "T-cell": "synonym",
        "t cell": "case",
        "B cel": "fuzzy",
        "my novel cell": "new",
    },
    "donor": {"donor A": "validated", "donor B": "validated", "Donor A": "case", "donor C": "fuzzy"},
}


@pytest.fixture
def inst(tmp_path):
    ln.init(tmp_path / "inst")
    ln.save(
        [
            bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte", ontology_id="CL:0000084"),
            bt.CellType(name="B cell", synonyms="B lymphocyte", ontology_id="CL:0000236"),
            bt.CellType(name="natural killer cell", synonyms="NK cell", ontology_id="CL:0000623"),
            ln.ULabel(name="donor A"),
            ln.ULabel(name="donor B"),
            bt.Gene(symbol="CD3E", ensembl_gene_id="ENSG00000198851"),
            bt.Gene(symbol="CD19", ensembl_gene_id="ENSG00000177455"),
        ]
    )
    return tmp_path


def frame() -> pd.DataFrame:
    return pd.DataFrame({"cell_type": pd.Categorical(CELL_TYPES), "donor": DONORS, "x": np.arange(len(DONORS))})


COLUMNS = {"cell_type": bt.CellType.name, "donor": ln.ULabel.name}


def tiers(curator, key) -> dict:
    t = curator.reports[key].table
    return dict(zip(t["value"].to_list(), t["tier"].to_list(), strict=True))


def test_validate_reports_each_distinct_value_with_its_tier_and_count(inst):
    df = frame()
    c = ln.curators.DataFrameCurator(df, columns=COLUMNS)
    assert c.validate() is False
    for key in COLUMNS:
        assert tiers(c, key) == EXPECTED_TIERS[key]
        # counts equal pandas' own value_counts over non-missing values
        expected = df[key].astype(object).replace("", np.nan).dropna().astype(str).value_counts().to_dict()
        t = c.reports[key].table
        assert dict(zip(t["value"].to_list(), t["count"].to_list(), strict=True)) == expected
    assert c.reports["cell_type"].n_missing == 2  # None and ""
    row = c.reports["cell_type"].table.filter(pl.col("value") == "B cel").row(0, named=True)
    assert row["suggestion"] == "B cell" and row["score"] >= 80
    syn = c.reports["cell_type"].table.filter(pl.col("value") == "T-cell").row(0, named=True)
    assert syn["standardized"] == "T cell" and syn["uid"] == bt.CellType.get(name="T cell").uid
    expected_bad = {k: sorted(v for v, tier in EXPECTED_TIERS[k].items() if tier != "validated") for k in COLUMNS}
    assert {k: sorted(v) for k, v in c.non_validated.items()} == expected_bad
    report = c.report()
    assert report.columns[:2] == ["column", "field"] and report.height == sum(len(v) for v in EXPECTED_TIERS.values())


def test_standardize_returns_fixed_copy_or_updates_in_place(inst):
    df = frame()
    before = df.copy()
    c = ln.curators.DataFrameCurator(df, columns=COLUMNS)
    out = c.standardize("all")
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is untouched
    expected_ct = [{"T-cell": "T cell", "t cell": "T cell"}.get(v, v) for v in CELL_TYPES]
    got = [None if pd.isna(v) else v for v in out["cell_type"]]
    assert got == [None if v is None else v for v in expected_ct]
    assert isinstance(out["cell_type"].dtype, pd.CategoricalDtype)
    assert list(out["donor"]) == [{"Donor A": "donor A"}.get(v, v) for v in DONORS]
    assert c.standardize("donor", inplace=True) is None
    assert list(df["donor"]) == list(out["donor"])
    assert "Donor A" not in c.non_validated.get("donor", [])
    assert df["cell_type"].tolist()[1] == "T-cell"  # only the requested column changed


def test_add_new_from_saves_unmatched_values_in_one_commit(inst):
    c = ln.curators.DataFrameCurator(frame(), columns=COLUMNS)
    c.validate()
    version = ln.ULabel._table_version()
    n = ln.ULabel.filter().count()
    records = c.add_new_from("donor")
    assert [r.name for r in records] == ["donor C"]
    assert ln.ULabel.filter().count() == n + 1
    assert ln.ULabel._table_version() == version + 1  # one commit
    assert tiers(c, "donor")["donor C"] == "validated"
    assert tiers(c, "donor")["Donor A"] == "case"  # fixable values are not added as duplicates
    c.standardize("donor", inplace=True)
    assert "donor" not in c.non_validated


def test_add_new_from_all_columns_then_everything_validates(inst):
    c = ln.curators.DataFrameCurator(frame(), columns=COLUMNS)
    c.standardize("all", inplace=True)
    c.add_new_from("all")
    assert c.validate() is True
    assert c.non_validated == {}
    assert bt.CellType.filter(name="my novel cell").count() == 1


def _inputs(tmp_path):
    df = frame()
    plain = df.assign(cell_type=df["cell_type"].astype(object))
    pq_path = tmp_path / "d.parquet"
    pl.from_pandas(plain).write_parquet(pq_path)
    csv_path = tmp_path / "d.csv"
    pl.from_pandas(plain).write_csv(csv_path)
    tsv_path = tmp_path / "d.tsv"
    pl.from_pandas(plain).write_csv(tsv_path, separator="\t")
    return {
        "pandas": df,
        "polars": pl.from_pandas(plain),
        "polars-categorical": pl.from_pandas(plain).with_columns(pl.col("cell_type").cast(pl.Categorical)),
        "arrow": pa.Table.from_pandas(plain, preserve_index=False),
        "arrow-dictionary": pa.Table.from_pandas(df, preserve_index=False),
        "parquet": pq_path,
        "parquet-str": str(pq_path),
        "csv": csv_path,
        "tsv": tsv_path,
    }


@pytest.mark.parametrize(
    "kind",
    ["pandas", "polars", "polars-categorical", "arrow", "arrow-dictionary", "parquet", "parquet-str", "csv", "tsv"],
)
def test_every_input_kind_gives_the_same_report(inst, kind):
    data = _inputs(inst)[kind]
    c = ln.curators.DataFrameCurator(data, columns=COLUMNS)
    assert c.validate() is False
    reference = ln.curators.DataFrameCurator(frame(), columns=COLUMNS).report().sort(["column", "value"])
    got = c.report().sort(["column", "value"])
    assert got.drop("uid").equals(reference.drop("uid"))
    out = c.standardize("all")
    if isinstance(out, pl.LazyFrame):
        out = out.collect()
    if isinstance(out, pa.Table):
        out = pl.from_arrow(out)
    if isinstance(out, pd.DataFrame):
        out = pl.from_pandas(out.assign(cell_type=out["cell_type"].astype(object)))
    values = out.get_column("cell_type").cast(pl.String).to_list()
    assert "T-cell" not in values and "t cell" not in values and values.count("T cell") == 4
    assert out.get_column("x").to_list() == list(range(len(DONORS)))


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".tsv"])
def test_standardize_output_file_streams_from_a_file(inst, suffix):
    src = _inputs(inst)["parquet"]
    out = inst / f"out{suffix}"
    c = ln.curators.DataFrameCurator(src, columns=COLUMNS)
    c.standardize(output=out)
    again = ln.curators.DataFrameCurator(out, columns=COLUMNS)
    again.validate()
    assert set(tiers(again, "cell_type").values()) == {"validated", "fuzzy", "new"}
    assert set(tiers(again, "donor").values()) == {"validated", "fuzzy"}
    with pytest.raises(InvalidArgument, match="overwrite"):
        c.standardize(output=src)


def test_file_is_counted_in_batches(inst, monkeypatch):
    """Many small batches (as for a file larger than memory) give the same counts as one pass."""
    rng = np.random.default_rng(3)
    pool = np.array(["T cell", "B cell", "T-cell", "nope", ""], dtype=object)
    col = pool[rng.integers(0, len(pool), 5000)]
    path = inst / "many.parquet"
    pl.DataFrame({"cell_type": col}).write_parquet(path, row_group_size=700)
    monkeypatch.setattr(ds, "BATCH_ROWS", 300)
    monkeypatch.setattr(ds, "MERGE_ROWS", 10)
    c = ln.curators.DataFrameCurator(path, columns={"cell_type": bt.CellType.name}, progress=True)
    r = c.reports["cell_type"]
    expected = collections.Counter(v for v in col if v)
    assert dict(zip(r.table["value"].to_list(), r.table["count"].to_list(), strict=True)) == expected
    assert r.n_missing == int((col == "").sum())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(["", "a", "A", "b", "ä", "T cell"]),
            # not NUL: pandas hashes object strings up to the first "\x00" ("a\x00" and "a" are one
            # category, one factorize code), so a pandas input cannot tell them apart in the first place
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4),
        ),
        max_size=40,
    )
)
def test_counts_match_a_counter_for_every_representation(values):
    expected = collections.Counter(v for v in values if v)
    n_missing = sum(1 for v in values if not v)
    s = pd.Series(values, dtype=object)
    reps = [
        ds.pandas_counts(s),
        ds.pandas_counts(s.astype("category")),
        ds.counts_of(pl.Series("v", values, dtype=pl.String)),
        ds.counts_of(pl.Series("v", values, dtype=pl.String).cast(pl.Categorical)),
        ds.dictionary_counts(pa.array(values, pa.string()).dictionary_encode()),
    ]
    for vc, missing in reps:
        assert dict(zip(vc["value"].to_list(), vc["count"].to_list(), strict=True)) == expected
        assert missing == n_missing


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), max_size=30),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b", "z"]), max_size=3),
)
def test_pandas_replace_matches_a_python_map(values, mapper):
    s = pd.Series(values, dtype=object)
    expected = [None if v is None else mapper.get(v, v) for v in values]
    for rep in (s, s.astype("category")):
        out = ds.pandas_replaced(rep, mapper)
        assert [None if pd.isna(v) else v for v in out] == expected


def test_pandas_frames_with_integer_column_labels(inst):
    df = pd.DataFrame({0: ["T-cell", "B cell"], 1: [1, 2]})
    c = ln.curators.DataFrameCurator(df, columns={"0": bt.CellType.name})
    assert tiers(c, "0") == {"T-cell": "synonym", "B cell": "validated"}
    out = c.standardize("0")
    assert out[0].tolist() == ["T cell", "B cell"] and df[0].tolist() == ["T-cell", "B cell"]


def test_fields_given_as_strings_and_non_name_fields(inst):
    df = pd.DataFrame({"ct_id": ["CL:0000084", "cl:0000236", "CL:9999999"], "gene": ["CD3E", "cd19", "FOO"]})
    c = ln.curators.DataFrameCurator(df, columns={"ct_id": "bt.CellType.ontology_id", "gene": "Gene"})
    assert c.fields == {"ct_id": "bt.CellType.ontology_id", "gene": "bt.Gene.symbol"}
    assert tiers(c, "ct_id") == {"CL:0000084": "validated", "cl:0000236": "case", "CL:9999999": "new"}
    assert tiers(c, "gene")["cd19"] == "case"


def test_tissue_registry(inst):
    tissue = bt.Tissue
    ln.save([tissue(name="lung", ontology_id="UBERON:0002048", synonyms="pulmo")])
    df = pd.DataFrame({"tissue": ["lung", "pulmo", "Lung", "liver"], "tissue_id": ["UBERON:0002048"] * 4})
    c = ln.curators.DataFrameCurator(df, columns={"tissue": tissue.name, "tissue_id": tissue.ontology_id})
    assert tiers(c, "tissue") == {"lung": "validated", "pulmo": "synonym", "Lung": "case", "liver": "new"}
    assert c.reports["tissue_id"].is_valid


def test_errors_name_the_problem_and_the_fix(inst):
    df = frame()
    with pytest.raises(InvalidArgument, match="no column 'cell_typ'.*did you mean 'cell_type'"):
        ln.curators.DataFrameCurator(df, columns={"cell_typ": bt.CellType.name})
    with pytest.raises(InvalidArgument, match="no registry 'CelType'.*CellType"):
        ln.curators.DataFrameCurator(df, columns={"cell_type": "bt.CelType.name"})
    with pytest.raises(FieldError, match="no field 'nme'.*name"):
        ln.curators.DataFrameCurator(df, columns={"cell_type": "CellType.nme"})
    with pytest.raises(InvalidArgument, match="LazyFrame"):
        ln.curators.DataFrameCurator(pl.LazyFrame({"a": ["x"]}), columns={"a": ln.ULabel.name})
    with pytest.raises(InvalidArgument, match="Type mismatch"):
        ln.curators.DataFrameCurator(df, columns={"x": ln.ULabel.name}).validate()
    with pytest.raises(InvalidArgument, match="not a curated column"):
        ln.curators.DataFrameCurator(df, columns=COLUMNS).standardize("x")
    with pytest.raises(FileNotFoundError):
        ln.curators.DataFrameCurator(inst / "missing.parquet", columns=COLUMNS)
    (inst / "data.xlsx").touch()
    with pytest.raises(InvalidArgument, match="extension"):
        ln.curators.DataFrameCurator(inst / "data.xlsx", columns=COLUMNS)


# -- AnnData ----------------------------------------------------------------------------------------
ad = pytest.importorskip("anndata")


def make_adata():
    obs = pd.DataFrame(
        {"cell_type": pd.Categorical(CELL_TYPES[:5] * 2), "donor": DONORS[:5] * 2}, index=[f"c{i}" for i in range(10)]
    )
    var = pd.DataFrame(index=["ENSG00000198851", "ENSG00000177455", "ensg00000177455", "ENSG00000000000"])
    return ad.AnnData(X=np.arange(40, dtype=np.float32).reshape(10, 4), obs=obs, var=var)


def test_anndata_object_validate_and_standardize_in_place(inst):
    a = make_adata()
    c = ln.curators.AnnDataCurator(a, obs=COLUMNS, var_index=bt.Gene.ensembl_gene_id)
    assert c.validate() is False
    assert tiers(c, "var_index") == {
        "ENSG00000198851": "validated",
        "ENSG00000177455": "validated",
        "ensg00000177455": "case",
        "ENSG00000000000": "new",
    }
    c.standardize("all", inplace=True)
    assert list(a.var_names) == ["ENSG00000198851", "ENSG00000177455", "ENSG00000177455", "ENSG00000000000"]
    assert "T-cell" not in set(a.obs["cell_type"].astype(str))
    assert c.non_validated["var_index"] == ["ENSG00000000000"]


def test_anndata_file_is_read_backed_and_written_without_loading_x(inst):
    path = inst / "a.h5ad"
    a = make_adata()
    a.write_h5ad(path)
    c = ln.curators.AnnDataCurator(path, obs=COLUMNS, var_index=bt.Gene.ensembl_gene_id)
    assert c.data.isbacked
    c.validate()
    out = inst / "std.h5ad"
    c.standardize(output=out)
    b = ad.read_h5ad(out)
    np.testing.assert_array_equal(b.X, a.X)
    assert list(b.obs["cell_type"].astype(object).where(b.obs["cell_type"].notna(), None)) == [
        {"T-cell": "T cell", "t cell": "T cell"}.get(v, v) for v in CELL_TYPES[:5] * 2
    ]
    assert list(b.obs["donor"]) == [{"Donor A": "donor A"}.get(v, v) for v in DONORS[:5] * 2]
    assert list(b.var_names)[2] == "ENSG00000177455"
    with pytest.raises(InvalidArgument, match="reserved"):
        ln.curators.AnnDataCurator(path, obs={"var_index": ln.ULabel.name})


@pytest.mark.slow
def test_ten_million_values_in_one_parquet_file(tmp_path):
    """10^7 rows from 3,700 labels: counts and tiers are exact (speed is in benchmarks/)."""
    ln.init(tmp_path / "big")
    names = [f"cell type {i}" for i in range(3000)]
    ln.save([bt.CellType(name=x, synonyms=f"ct{i}", ontology_id=f"CL:{i:07d}") for i, x in enumerate(names)])
    pool = names + [x.upper() for x in names[:300]] + [f"ct{i}" for i in range(300)] + [f"zz {i}" for i in range(100)]
    rng = np.random.default_rng(7)
    idx = rng.integers(0, len(pool), 10_000_000)
    path = tmp_path / "big.parquet"
    pl.DataFrame({"cell_type": pl.Series(pool).gather(pl.Series(idx))}).write_parquet(path, row_group_size=1_000_000)
    c = ln.curators.DataFrameCurator(path, columns={"cell_type": bt.CellType.name})
    assert c.validate() is False
    r = c.reports["cell_type"]
    counts = np.bincount(idx, minlength=len(pool))
    got = dict(zip(r.table["value"].to_list(), r.table["count"].to_list(), strict=True))
    assert got == {v: int(k) for v, k in zip(pool, counts, strict=True) if k}
    assert (r.count("validated"), r.count("case"), r.count("synonym"), r.count("new")) == (3000, 300, 300, 100)
    assert r.rows("case", "synonym") == int(counts[3000:3600].sum())
