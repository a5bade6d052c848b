"""Search quality on the real Cell Ontology (shipped offline in the `cellxgene-ontology-guide` package).

Hand-checked queries with their expected top hit: exact names, synonyms, case variants, typos,
word-order changes, plurals and punctuation. The hit rate is printed in the terminal summary
(without ``-s``) and recorded as the ``search_hit_rate`` property (``--junitxml``).
"""

from __future__ import annotations

import glob
import json
import os

import polars as pl
import pytest

from registry.search.batch import rank_many
from registry.search.candidates import build, default_roles
from registry.search.rank import rank

zstandard = pytest.importorskip("zstandard")
guide = pytest.importorskip("cellxgene_ontology_guide")

FIELDS = ["name", "ontology_id", "abbr", "synonyms", "description"]


def _cl_path() -> str:
    # Newest CL release in the installed package (names carry the release date, so they sort).
    paths = sorted(glob.glob(os.path.join(os.path.dirname(guide.__file__), "data", "CL-ontology-*.json.zst")))
    if not paths:
        pytest.skip("no Cell Ontology file in cellxgene_ontology_guide/data")
    return paths[-1]


@pytest.fixture(scope="module")
def cl() -> tuple[str, pl.DataFrame]:
    """Live (non-deprecated) CL terms as a CellType-like frame: id, name, ontology_id, synonyms, description."""
    path = _cl_path()
    with open(path, "rb") as fh:
        terms = json.loads(zstandard.ZstdDecompressor().stream_reader(fh).read())
    rows = [
        (oid, t["label"], "|".join(t.get("synonyms") or []) or None, t.get("description"))
        for oid, t in terms.items()
        if not t.get("deprecated")
    ]
    df = pl.DataFrame(rows, schema=["ontology_id", "name", "synonyms", "description"], orient="row")
    df = df.with_columns(abbr=pl.lit(None, dtype=pl.String)).with_row_index("id", offset=1)
    return os.path.basename(path), df


@pytest.fixture(scope="module")
def candidates(cl):
    return build(cl[1], default_roles(FIELDS, "name"), case_sensitive=False)


def top(cl, candidates, query: str, k: int = 3) -> list[str]:
    rows, _ = rank(candidates, query, limit=k)
    return [cl[1]["name"][int(r)] for r in rows]


# (query, expected top hit). Checked by hand against the ontology: the expected term is the one
# a biologist means, and no other term has the query as its exact name or synonym.
QUALITY = [
    # exact names
    ("T cell", "T cell"),
    ("B cell", "B cell"),
    ("macrophage", "macrophage"),
    ("neuron", "neuron"),
    ("hepatocyte", "hepatocyte"),
    ("adipocyte", "adipocyte"),
    ("stem cell", "stem cell"),
    ("plasma cell", "plasma cell"),
    ("megakaryocyte", "megakaryocyte"),
    ("keratinocyte", "keratinocyte"),
    ("mast cell", "mast cell"),
    ("eosinophil", "eosinophil"),
    ("platelet", "platelet"),
    ("classical monocyte", "classical monocyte"),
    ("memory B cell", "memory B cell"),
    ("regulatory T cell", "regulatory T cell"),
    ("natural killer cell", "natural killer cell"),
    ("dendritic cell", "dendritic cell"),
    ("fibroblast", "fibroblast"),
    ("erythrocyte", "erythrocyte"),
    ("podocyte", "podocyte"),
    ("enterocyte", "enterocyte"),
    ("regulatory B cell", "regulatory B cell"),
    ("Be2 cell", "Be2 cell"),
    ("erythroblast", "erythroblast"),
    ("cholangiocyte", "cholangiocyte"),
    # synonyms
    ("nerve cell", "neuron"),
    ("Treg", "regulatory T cell"),
    ("NK cell", "natural killer cell"),
    ("cardiomyocyte", "cardiac muscle cell"),
    ("red blood cell", "erythrocyte"),
    ("type II pneumocyte", "pulmonary alveolar type 2 cell"),
    ("B lymphocyte", "B cell"),
    ("T lymphocyte", "T cell"),
    ("ILC2", "group 2 innate lymphoid cell"),
    ("hemopoietic stem cell", "hematopoietic stem cell"),
    ("CD19+ B cell", "B cell, CD19-positive"),
    # case variants
    ("t CELL", "T cell"),
    ("MACROPHAGE", "macrophage"),
    ("Natural Killer Cell", "natural killer cell"),
    ("b cell", "B cell"),
    ("nk CELL", "natural killer cell"),
    ("Dendritic Cell", "dendritic cell"),
    ("schwann cell", "Schwann cell"),
    ("purkinje cell", "Purkinje cell"),
    # typos and missing spaces
    ("lymphocite", "lymphocyte"),
    ("erythrocite", "erythrocyte"),
    ("astrocite", "astrocyte"),
    ("hepatocite", "hepatocyte"),
    ("macrophag", "macrophage"),
    ("dendritc cell", "dendritic cell"),
    ("kidny cell", "kidney cell"),
    ("neutrofil", "neutrophil"),
    ("fibroblst", "fibroblast"),
    ("keratinocite", "keratinocyte"),
    ("Tcell", "T cell"),
    ("t-cel", "T cell"),
    ("oligodendrocite", "oligodendrocyte"),
    ("megakaryocite", "megakaryocyte"),
    ("monocite", "monocyte"),
    ("adipocite", "adipocyte"),
    ("eosinophill", "eosinophil"),
    ("spermatocite", "spermatocyte"),
    # word order
    ("cell dendritic", "dendritic cell"),
    ("cell mast", "mast cell"),
    ("killer cell natural", "natural killer cell"),
    ("cell plasma", "plasma cell"),
    ("monocyte classical", "classical monocyte"),
    ("B cell memory", "memory B cell"),
    ("T cell regulatory", "regulatory T cell"),
    ("pneumocyte type II", "pulmonary alveolar type 2 cell"),
    # plurals and punctuation
    ("T cells", "T cell"),
    ("dendritic cells", "dendritic cell"),
    ("neutrophils", "neutrophil"),
    ("fibroblasts", "fibroblast"),
    ("B-cells", "B cell"),
    ("mast cells", "mast cell"),
    ("monocytes", "monocyte"),
    ("gamma delta T cell", "gamma-delta T cell"),
    ("T-cell", "T cell"),
    ("natural-killer cell", "natural killer cell"),
    ("Langerhans cells", "Langerhans cell"),
    ("Kupffer cells", "Kupffer cell"),
    ("osteoclasts", "osteoclast"),
]


# Harder, partly ambiguous queries (abbreviations, partial names, marker-based names): reported
# as top-3 rate to show where ranking is weak. Misses are mostly the ontology's doing ("HSC" is
# no synonym of "hematopoietic stem cell"; "CD4 T cell" is a phrase inside T-helper synonyms but
# not of "CD4-positive, alpha-beta T cell"), plus whole-word hits outranking a close prefix
# ("microglia" -> synonyms "mature microglia" before "microglial cell").
HARD = [
    ("CD4 T cell", "CD4-positive, alpha-beta T cell"),
    ("CD8 T cell", "CD8-positive, alpha-beta T cell"),
    ("HSC", "hematopoietic stem cell"),
    ("pDC", "plasmacytoid dendritic cell"),
    ("MAIT cell", "mucosal-associated invariant T cell, human"),
    ("smooth muscle", "smooth muscle cell"),
    ("beta cell", "type B pancreatic cell"),
    ("alpha cell", "pancreatic A cell"),
    ("microglia", "microglial cell"),
    ("satellite cell", "skeletal muscle satellite cell"),
    ("Th17", "T-helper 17 cell"),
    ("Tfh", "T follicular helper cell"),
    ("germinal center B", "germinal center B cell"),
    ("Muller glia", "Mueller cell"),
    ("oligodendrocyte precursor", "oligodendrocyte precursor cell"),
    ("hepatic stellate", "hepatic stellate cell"),
    ("endothelial", "endothelial cell"),
    ("basal keratinocyte", "basal cell of epidermis"),
    ("naive CD4 T cell", "naive thymus-derived CD4-positive, alpha-beta T cell"),
    ("cDC1", "conventional dendritic cell"),
    ("goblet", "goblet cell"),
    ("club cells", "club cell"),
    ("AT2", "pulmonary alveolar type 2 cell"),
    ("effector memory CD8 T cell", "effector memory CD8-positive, alpha-beta T cell"),
    ("CD14 monocyte", "CD14-positive monocyte"),
    ("CD16 monocyte", "CD14-low, CD16-positive monocyte"),
    ("nonclassical monocyte", "non-classical monocyte"),
    ("memory T cell", "memory T cell"),
    ("mesenchymal stem cells", "mesenchymal stem cell"),
]


def _report(capsys, record_property, label: str, hits: int, total: int, misses: list) -> None:
    """Print the rate to the terminal even without ``-s`` and record it for ``--junitxml``."""
    rate = hits / total
    record_property("search_hit_rate", f"{label}: {rate:.4f}")
    line = f"search quality ({label}): {hits}/{total} = {rate:.1%} hits"
    if misses:
        line += "; misses: " + "; ".join(f"{q!r} -> {got} (expected {exp!r})" for q, exp, got in misses)
    with capsys.disabled():
        print("\n" + line)


def test_quality_set_is_large_and_targets_exist(cl):
    assert len(QUALITY) >= 50
    names = set(cl[1]["name"].to_list())
    assert [exp for _, exp in QUALITY if exp not in names] == []


def test_hit_rate(cl, candidates, capsys, record_property):
    misses = []
    for query, expected in QUALITY:
        got = top(cl, candidates, query, k=1)
        if got != [expected]:
            misses.append((query, expected, got))
    hits = len(QUALITY) - len(misses)
    _report(capsys, record_property, f"top 1, {cl[0]}", hits, len(QUALITY), misses)
    assert hits / len(QUALITY) >= 0.9


def test_batch_hit_rate_matches(cl, candidates, capsys, record_property):
    queries = [q for q, _ in QUALITY]
    best = rank_many(candidates, queries, limit=1)
    got = dict(zip(best["qidx"].to_list(), best["row"].to_list(), strict=True))
    names = cl[1]["name"]
    misses = [
        (q, exp, names[got[i]] if i in got else None)
        for i, (q, exp) in enumerate(QUALITY)
        if i not in got or names[got[i]] != exp
    ]
    hits = len(QUALITY) - len(misses)
    _report(capsys, record_property, f"batch top 1, {cl[0]}", hits, len(QUALITY), misses)
    assert hits / len(QUALITY) >= 0.85


def test_hard_queries_top3(cl, candidates, capsys, record_property):
    names = set(cl[1]["name"].to_list())
    cases = [(q, exp) for q, exp in HARD if exp in names]
    assert len(cases) >= 0.8 * len(HARD)  # a new CL release may rename a few terms
    misses = []
    for query, expected in cases:
        got = top(cl, candidates, query, k=3)
        if expected not in got:
            misses.append((query, expected, got))
    hits = len(cases) - len(misses)
    _report(capsys, record_property, f"hard queries, top 3, {cl[0]}", hits, len(cases), misses)
    assert hits / len(cases) >= 0.65


class TestAcceptance:
    """The issue's acceptance queries and LaminDB's search-notebook assertions."""

    def test_t_cell_first(self, cl, candidates):
        assert top(cl, candidates, "T cell")[0] == "T cell"

    @pytest.mark.parametrize("query", ["t-cel", "Tcell", "T cel"])
    def test_t_cell_variants_top3(self, cl, candidates, query):
        assert "T cell" in top(cl, candidates, query)

    def test_lymphocite_top3(self, cl, candidates):
        assert "lymphocyte" in top(cl, candidates, "lymphocite")

    @pytest.mark.parametrize("query", ["t cell", "stem cell", "b cell", "regulatory B cell", "Be2 cell", "adipocyte"])
    def test_notebook_top_hit_equals_query(self, cl, candidates, query):
        assert top(cl, candidates, query, k=1)[0].lower() == query.lower()

    @pytest.mark.parametrize("query", ["t cel", "t-cel", "neural", "kidney", "kidne"])
    def test_notebook_query_inside_top_hit(self, cl, candidates, query):
        df = cl[1]
        name = top(cl, candidates, query, k=1)[0]
        row = df.filter(pl.col("name") == name).row(0, named=True)
        values = [name, *(row["synonyms"] or "").split("|")]
        assert any(query.lower() in v.lower() for v in values), (query, values)

    def test_noise_query_finds_nothing(self, cl, candidates):
        assert top(cl, candidates, "qwxzvbnmk") == []

    def test_exact_hits_score_100_and_only_they(self, cl, candidates):
        rows, scores = rank(candidates, "neuron", limit=None)
        assert scores[0] == 100.0 and (scores[1:] < 100.0).all()
