"""Search ranking on hand-built frames: tiers, bands, LaminDB's published orderings, batch parity."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from registry.search import scoring
from registry.search.batch import rank_many
from registry.search.candidates import FieldRole, build, default_roles, kind_of
from registry.search.normalize import query_frame
from registry.search.rank import rank

FIELDS = ["uid", "name", "ontology_id", "abbr", "synonyms", "description"]


def frame(rows: list[dict]) -> pl.DataFrame:
    """Records with every searched column (missing ones None), ids from 1."""
    data = {f: [r.get(f) for r in rows] for f in FIELDS}
    data["uid"] = [r.get("uid", f"uid{i:011d}") for i, r in enumerate(rows)]
    return pl.DataFrame(data, schema={f: pl.String for f in FIELDS}).with_row_index("id", offset=1)


def names(df: pl.DataFrame, query: str, *, fields=None, limit=20, case_sensitive=False, allowed=None):
    roles = default_roles(fields or FIELDS, "name")
    rows, scores = rank(build(df, roles, case_sensitive), query, limit=limit, allowed=allowed)
    return [df["name"][int(r)] for r in rows], scores.tolist()


# The 5-row CellType fixture of lamin-utils tests/test_search.py (plus the "cat[*_*]" record of
# lamindb's tests/pydata/test_search.py).
LAMIN_UTILS = frame(
    [
        {"ontology_id": "CL:0000084", "name": "T cell", "synonyms": "T-cell|T lymphocyte|T-lymphocyte"},
        {"ontology_id": "CL:0000236", "name": "B cell", "synonyms": "B lymphocyte|B-lymphocyte|B-cell"},
        {"ontology_id": "CL:0000696", "name": "PP cell", "synonyms": "type F enteroendocrine cell"},
        {
            "ontology_id": "CL:0002072",
            "name": "nodal myocyte",
            "synonyms": "cardiac pacemaker cell|myocytus nodalis|P cell",
        },
        {"name": "cat[*_*]"},
    ]
)

# The records of lamindb_observed.md §9 (LaminDB 2.12.1 on SQLite).
OBSERVED = frame(
    [
        {"name": "T cell", "ontology_id": "CL:0000084", "synonyms": "T-cell|T lymphocyte|T-lymphocyte"},
        {"name": "B cell", "ontology_id": "CL:0000236", "synonyms": "B lymphocyte|B-cell"},
        {"name": "ADGB-DT", "ontology_id": "CL:9999999"},
        {"name": "1st cell", "ontology_id": "CL:9999998"},
        {"name": "NK cell", "ontology_id": "CL:0000623", "synonyms": "natural killer cell|NK|shared syn"},
        {"name": "nk cell", "ontology_id": "CL:0000624", "synonyms": "shared syn"},
        {"name": "NKT cell", "ontology_id": "CL:0000814", "synonyms": "NK"},
        {"name": "CD4-positive, alpha-beta T cell"},
    ]
)


class TestLaminDBOrderings:
    def test_whole_synonym_beats_substring_of_name(self):
        # lamin-utils: "nodal myocyte" (synonym "P cell") first, "PP cell" second.
        got, scores = names(LAMIN_UTILS, "P cell")
        assert got[:2] == ["nodal myocyte", "PP cell"]
        assert scores[0] == 100.0
        assert scores[1] < 100.0

    def test_name_field_only_puts_pp_cell_first(self):
        got, _ = names(LAMIN_UTILS, "P cell", fields=["name"])
        assert got[0] == "PP cell"

    def test_limit(self):
        got, _ = names(LAMIN_UTILS, "P cell", limit=1)
        assert got == ["nodal myocyte"]

    def test_case_insensitive_by_default(self):
        got, scores = names(LAMIN_UTILS, "b cell")
        assert got[0] == "B cell" and scores[0] == 100.0

    def test_case_sensitive_has_no_rule_hit(self):
        # lamin-utils returns nothing; we keep "B cell" only as a typo-level (fuzzy) hit.
        got, scores = names(LAMIN_UTILS, "b cell", case_sensitive=True)
        assert all(s < scoring.ALL_WORDS for s in scores)
        got, scores = names(LAMIN_UTILS, "B cell", case_sensitive=True)
        assert got[0] == "B cell" and scores[0] == 100.0

    @pytest.mark.parametrize("query", ["cat[", "*_*", "[*", "cat[*_*]", "cat[*_*"])
    def test_regex_metacharacters_are_literal(self, query):
        got, scores = names(LAMIN_UTILS, query)
        assert got[0] == "cat[*_*]"
        assert scores[0] >= scoring.SUBSTRING

    @pytest.mark.parametrize("query", [".*", "(", "\\", "^$", "%", "_*_"])
    def test_regex_and_like_patterns_match_nothing(self, query):
        # as a regex ".*" would match every record, as a LIKE pattern "%" too
        assert names(LAMIN_UTILS, query)[0] == []

    def test_synonyms_field_only(self):
        got, _ = names(LAMIN_UTILS, "type F enteroendocrine", fields=["synonyms"])
        assert got[0] == "PP cell"

    def test_nk_exact_synonyms_on_top(self):
        # LaminDB: NKT cell (synonym exactly "NK") 426, NK cell (has synonym "NK") 238, nk cell 15.
        got, scores = names(OBSERVED, "NK")
        assert set(got[:2]) == {"NKT cell", "NK cell"}
        assert scores[:2] == [100.0, 100.0]
        assert got[2] == "nk cell"

    def test_t_cell_first(self):
        got, scores = names(OBSERVED, "T cell")
        assert got[0] == "T cell" and scores[0] == 100.0
        # the phrase hit comes next, then the substring hits ("1st cell", "NKT cell")
        assert got[1] == "CD4-positive, alpha-beta T cell"
        assert set(got[2:4]) == {"1st cell", "NKT cell"}

    def test_ontology_id_is_searched(self):
        got, scores = names(OBSERVED, "CL:0000236")
        assert got[0] == "B cell" and scores[0] == 100.0

    def test_name_only_nk(self):
        got, _ = names(OBSERVED, "NK", fields=["name"])
        assert set(got[:2]) == {"NK cell", "nk cell"}
        assert got[2] == "NKT cell"

    def test_lymphocyte_finds_both_lymphocytes(self):
        got, _ = names(OBSERVED, "lymphocyte")
        assert set(got[:2]) == {"T cell", "B cell"}

    def test_case_sensitive_t_cell(self):
        got, scores = names(OBSERVED, "t cell", case_sensitive=True)
        # "t cell" is literally inside "1st cell" and "NKT cell"... only case-insensitively for NKT
        assert got[0] == "1st cell"
        assert "T cell" in got  # still found, as a typo-level hit
        assert scores[got.index("T cell")] < scoring.ALL_WORDS


class TestTiers:
    DF = frame(
        [
            {"name": "kidney cell"},
            {"name": "kidney loop of Henle thick ascending limb epithelial cell"},
            {"name": "epithelial cell of kidney"},
            {"name": "renal cell", "synonyms": "kidney-derived cell"},
            {"name": "lymphocyte"},
            {"name": "dendritic cell"},
            {"name": "unrelated", "description": "Found in the kidney of mice."},
            {"name": "akidneyx"},
        ]
    )

    def test_bands_are_ordered_by_tier(self):
        got, scores = names(self.DF, "kidney")
        # phrase hits (shorter first), then the mid-word substring and the description hit
        assert got[0] == "kidney cell"
        assert set(got[:4]) == {"kidney cell", "renal cell", "epithelial cell of kidney", got[3]}
        assert all(scoring.PHRASE <= s < 100 for s in scores[:4])
        assert set(got[4:6]) == {"akidneyx", "unrelated"}
        assert all(scoring.SUBSTRING <= s < scoring.WORD_START for s in scores[4:6])
        assert scores == sorted(scores, reverse=True)

    def test_word_start(self):
        got, scores = names(self.DF, "kidne")
        assert got[0] == "kidney cell"
        assert scoring.WORD_START <= scores[0] < scoring.PHRASE

    def test_exact_is_100_and_only_exact(self):
        _, scores = names(self.DF, "kidney cell")
        assert scores[0] == 100.0
        assert all(s < 100.0 for s in scores[1:])

    def test_typo(self):
        got, scores = names(self.DF, "lymphocite")
        assert got[0] == "lymphocyte"
        assert 0.6 * scoring.FUZZY_CUTOFF <= scores[0] < scoring.ALL_WORDS

    def test_missing_space(self):
        df = frame([{"name": "T cell"}, {"name": "B cell"}, {"name": "cell"}])
        got, _ = names(df, "Tcell")
        assert got[0] == "T cell"

    def test_word_order(self):
        got, scores = names(self.DF, "cell dendritic")
        assert got[0] == "dendritic cell"
        assert scoring.ALL_WORDS <= scores[0] < scoring.SUBSTRING

    def test_plural_and_punctuation(self):
        got, scores = names(self.DF, "Dendritic-Cells")
        assert got[0] == "dendritic cell"
        assert scoring.PHRASE <= scores[0] < 100.0

    def test_noise_is_not_returned(self):
        got, _ = names(self.DF, "zzzzqqqq")
        assert got == []

    def test_description_never_above_substring_band(self):
        got, scores = names(self.DF, "mice")
        assert got == ["unrelated"]
        assert scores[0] < scoring.WORD_START

    def test_description_not_fuzzy(self):
        got, _ = names(self.DF, "Found in the kidnay of mice")
        assert "unrelated" not in got

    def test_best_field_wins_not_the_sum(self):
        df = frame(
            [
                {"name": "alpha cell", "synonyms": "alpha|alpha 1|alpha 2|alpha 3", "description": "alpha alpha"},
                {"name": "alpha"},
            ]
        )
        got, scores = names(df, "alpha")
        # both have an exact value; the exact *name* breaks the tie
        assert scores == [100.0, 100.0]
        assert got[0] == "alpha"

    def test_empty_query_returns_everything_in_order(self):
        got, scores = names(self.DF, "   ", limit=None)
        assert got == self.DF["name"].to_list()
        assert scores == [0.0] * self.DF.height

    def test_query_is_stripped(self):
        assert names(self.DF, "  kidney cell \n")[1][0] == 100.0

    def test_limit_none_returns_all_hits(self):
        got, _ = names(self.DF, "cell", limit=None)
        assert len(got) == 5
        got, _ = names(self.DF, "cell", limit=2)
        assert len(got) == 2

    def test_limit_zero(self):
        assert names(self.DF, "cell", limit=0) == ([], [])

    def test_allowed_restricts(self):
        allowed = np.zeros(self.DF.height, dtype=bool)
        allowed[[1, 2]] = True
        got, _ = names(self.DF, "kidney", allowed=allowed)
        assert set(got) == {"epithelial cell of kidney", "kidney loop of Henle thick ascending limb epithelial cell"}


class TestLimitShortcuts:
    """With a limit, tiers are skipped once better tiers fill it; the answer must not change."""

    @pytest.fixture(scope="class")
    @classmethod
    def big(cls):
        rng = np.random.default_rng(0)
        words = ["cell", "T", "kidney", "neuron", "alpha", "beta", "cellular", "excellent", "type"]
        n = 30_000  # above the rule tier's "many hits" threshold
        picks = rng.integers(0, len(words), (n, 3))
        rows = [{"name": " ".join(words[j] for j in p) + f" {i}"} for i, p in enumerate(picks)]
        rows += [{"name": "cell"}, {"name": "kidney cell", "synonyms": "cell of kidney|renal cell"}]
        df = frame(rows)
        return df, build(df, default_roles(FIELDS, "name"), False)

    @pytest.mark.parametrize(
        "query", ["cell", "ell", "kidney cell", "cel", "alpha beta", "celll", "T cell 17", "alpha kidney neuron 2871"]
    )
    @pytest.mark.parametrize("limit", [1, 20, 500])
    def test_limited_is_prefix_of_unlimited(self, big, query, limit):
        _, c = big
        rows_all, scores_all = rank(c, query, limit=None)
        rows, scores = rank(c, query, limit=limit)
        assert rows.tolist() == rows_all[:limit].tolist()
        assert scores.tolist() == scores_all[:limit].tolist()

    def test_batch_limited_is_prefix_too(self, big):
        _, c = big
        queries = ["cell", "ell", "kidney cell", "celll"]
        full = rank_many(c, queries, limit=None)
        part = rank_many(c, queries, limit=20)
        assert part.rows() == full.filter(pl.col("rank") <= 20).rows()


class TestIdsAndUids:
    DF = frame(
        [
            {"uid": "Ab3dEf9hIj", "name": "first", "ontology_id": "CL:0000001"},
            {"uid": "NKxyz12345", "name": "second", "ontology_id": "CL:0000002"},
            {"uid": "zz99zz99zz", "name": "NK"},
        ]
    )

    def test_uid_exact_is_case_sensitive(self):
        got, scores = names(self.DF, "Ab3dEf9hIj")
        assert got == ["first"] and scores == [100.0]
        assert names(self.DF, "ab3def9hij")[0] == []

    def test_uid_prefix_needs_five_characters(self):
        assert names(self.DF, "Ab3dE")[0] == ["first"]
        assert "first" not in names(self.DF, "Ab3d")[0]
        # a short word never hits a random uid: "NK" finds the record named NK only
        assert names(self.DF, "NK")[0] == ["NK"]

    def test_ontology_id_prefix_is_below_word_hits(self):
        got, scores = names(self.DF, "CL:000000")
        assert set(got) == {"first", "second"}
        assert all(scoring.SUBSTRING <= s < scoring.WORD_START for s in scores)

    def test_ontology_id_is_not_fuzzy(self):
        # one digit off names a different term: no hit
        assert names(self.DF, "CL:0000003")[0] == []


class TestRoles:
    def test_kind_of(self):
        assert kind_of("uid") == "uid"
        assert kind_of("ontology_id") == "id"
        assert kind_of("ncbi_gene_ids") == "id"
        assert kind_of("description") == "text"
        assert kind_of("name") == kind_of("synonyms") == kind_of("abbr") == "word"

    def test_priority_order(self):
        roles = default_roles(["uid", "description", "ontology_id", "synonyms", "abbr", "symbol"], "symbol")
        assert [r.name for r in roles] == ["symbol", "synonyms", "abbr", "ontology_id", "uid", "description"]
        assert [r.split for r in roles] == [False, True, False, False, False, False]

    def test_build_explodes_synonyms_and_drops_empty(self):
        c = build(LAMIN_UTILS, [FieldRole("name"), FieldRole("synonyms", split=True)], False)
        assert c.words.height == 5 + 3 + 3 + 1 + 3
        assert len(c.choices) == c.words.height
        df = frame([{"name": "a", "synonyms": "x||  |y"}])
        c = build(df, [FieldRole("name"), FieldRole("synonyms", split=True)], False)
        assert sorted(c.words["raw"].to_list()) == ["a", "x", "y"]

    def test_build_rejects_missing_column(self):
        with pytest.raises(KeyError, match="nope"):
            build(LAMIN_UTILS, [FieldRole("nope")], False)

    def test_normalisation(self):
        qf = query_frame(["  CD4-positive, T Cells ", "*_*", "cell, T"], case_sensitive=False)
        assert qf["raw"].to_list() == ["cd4-positive, t cells", "*_*", "cell, t"]
        assert qf["words"].to_list() == ["cd4 positive t cell", "", "cell t"]
        assert qf["sorted"].to_list()[2] == "cell t"
        assert qf["n_tokens"].to_list() == [4, 0, 2]


def change_between(old: pl.DataFrame, new: pl.DataFrame) -> SimpleNamespace:
    """The ``storage.table.Change`` a commit from ``old`` to ``new`` records: the ids of rows
    replaced or deleted, and the rows that are new (or new versions)."""
    gone = old.join(new, on=old.columns, how="anti", nulls_equal=True)
    came = new.join(old, on=old.columns, how="anti", nulls_equal=True)
    return SimpleNamespace(inserted=came.to_arrow(), removed_ids=gone["id"].to_numpy().astype(np.int64))


class TestFollow:
    """After a commit, cached candidates follow it (new/changed records only); results must equal a full build."""

    QUERIES = ["T cell", "lymphocite", "NK", "cell T", "CL:00000", "uid00000000003", "kidne", "x 7", "cel dendritic"]

    @staticmethod
    def base() -> pl.DataFrame:
        names = ["T cell", "B cell", "NK cell", "kidney cell", "dendritic cell", "lymphocyte", "neuron", "x 7"]
        return frame(
            [
                {"name": n, "ontology_id": f"CL:{i:07d}", "synonyms": "NK|natural killer" if n == "NK cell" else None}
                for i, n in enumerate(names)
            ]
        )

    def edits(self):
        df = self.base()
        appended = pl.concat(
            [
                df,
                frame([{"name": "mast cell"}, {"name": "NKT cell", "synonyms": "NK"}]).with_columns(
                    id=pl.Series([100, 101], dtype=pl.UInt32), uid=pl.Series(["newuid000001", "newuid000002"])
                ),
            ]
        )
        changed = df.with_columns(
            synonyms=pl.when(pl.col("name") == "B cell").then(pl.lit("B lymphocyte|NK")).otherwise(pl.col("synonyms"))
        )
        deleted = df.filter(pl.col("name") != "NK cell")
        mixed = pl.concat(
            [deleted, frame([{"name": "T cell helper"}]).with_columns(id=pl.Series([50], dtype=pl.UInt32))]
        )
        return {"appended": appended, "changed": changed, "deleted": deleted, "mixed": mixed}

    @pytest.mark.parametrize("edit", ["appended", "changed", "deleted", "mixed"])
    @pytest.mark.parametrize("case_sensitive", [False, True])
    def test_follow_equals_build(self, edit, case_sensitive):
        from registry.search.candidates import follow

        roles = default_roles(FIELDS, "name")
        old = build(self.base(), roles, case_sensitive)
        for q in self.QUERIES:  # old candidates with the lazily built word-sorted choices
            rank(old, q, limit=None)
        new_frame = self.edits()[edit]
        followed = follow(old, change_between(self.base(), new_frame))
        assert followed is not None
        full = build(new_frame, roles, case_sensitive)
        assert followed.n_rows == full.n_rows and followed.row_ids.tolist() == full.row_ids.tolist()
        for q in self.QUERIES:
            a, b = rank(followed, q, limit=None), rank(full, q, limit=None)
            assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), q
        assert sorted(zip(followed.choices, followed.choice_len, strict=True)) == sorted(
            zip(full.choices, full.choice_len, strict=True)
        )
        assert (np.diff(followed.choice_len) >= 0).all()
        # every choice points at a words row holding that very value
        norm = followed.words["norm"].gather(followed.choice_pos).str.strip_chars(" ").to_list()
        assert norm == followed.choices
        assert followed.sorted_choices == [" ".join(sorted(w.split(" "))) for w in followed.choices]
        assert followed.ids.sort(["uid", "raw"]).equals(followed.ids)

    def test_mostly_changed_falls_back_to_build(self):
        from registry.search.candidates import follow

        roles = default_roles(FIELDS, "name")
        old = build(self.base(), roles, False)
        new = self.base().with_columns(name=pl.col("name") + " v2")
        assert follow(old, change_between(self.base(), new)) is None
        assert follow(old, change_between(self.base(), self.base())) is old  # nothing changed

    def test_an_inserted_id_that_was_not_removed_is_refused(self):
        from registry.search.candidates import follow

        old = build(self.base(), default_roles(FIELDS, "name"), False)
        clash = SimpleNamespace(inserted=self.base().head(1).to_arrow(), removed_ids=np.zeros(0, np.int64))
        assert follow(old, clash) is None


class TestBatch:
    QUERIES = ["P cell", "b cell", "cat[", "T-cell", "lymphocite", "zzzzqqqq", "NK", "t lymphocytes"]

    @pytest.mark.parametrize("df", [LAMIN_UTILS, OBSERVED], ids=["lamin_utils", "observed"])
    def test_same_as_single_search(self, df):
        c = build(df, default_roles(FIELDS, "name"), False)
        many = rank_many(c, self.QUERIES, limit=5)
        for i, q in enumerate(self.QUERIES):
            rows, scores = rank(c, q, limit=5)
            got = many.filter(pl.col("qidx") == i)
            assert got["row"].to_list() == rows.tolist(), q
            assert got["score"].to_list() == scores.tolist(), q
            assert got["rank"].to_list() == list(range(1, len(rows) + 1))

    def test_limit_per_query_and_none(self):
        c = build(OBSERVED, default_roles(FIELDS, "name"), False)
        many = rank_many(c, ["cell", "NK"], limit=2)
        assert many.group_by("qidx").len().sort("qidx")["len"].to_list() == [2, 2]
        every = rank_many(c, ["cell"], limit=None)
        assert every.height == len(rank(c, "cell", limit=None)[0])

    def test_blank_queries_match_nothing(self):
        c = build(OBSERVED, default_roles(FIELDS, "name"), False)
        assert rank_many(c, ["", "  "]).is_empty()

    def test_word_order_through_sorted_similarity(self):
        df = frame([{"name": "dendritic cell"}, {"name": "mast cell"}])
        c = build(df, default_roles(FIELDS, "name"), False)
        got = rank_many(c, ["cell dendritic"], limit=1)
        assert got["row"].to_list() == [0]


class TestQueryFormsProperty:
    """One query's scalar forms equal its row of the batch forms (and so the stored values' forms)."""

    def test_query_forms_equal_query_frame(self):
        from hypothesis import given, settings
        from hypothesis import strategies as st

        from registry.search.normalize import query_forms

        alphabet = st.sampled_from(list("aBc sS-,.|_é–\t  1αΩΣİ+()/\x1c\xa0\u3000"))

        @settings(max_examples=300, deadline=None)
        @given(st.lists(st.text(alphabet, max_size=20), min_size=1, max_size=10), st.booleans())
        def check(queries, case_sensitive):
            frame = query_frame(queries, case_sensitive)
            for q, row in zip(queries, frame.iter_rows(named=True), strict=True):
                f = query_forms(q, case_sensitive)
                assert (f.original, f.raw, f.words, f.sorted) == (
                    row["original"],
                    row["raw"],
                    row["words"],
                    row["sorted"],
                )
                assert len(f.tokens) == row["n_tokens"]

        check()
