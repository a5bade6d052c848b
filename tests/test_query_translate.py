"""The pure translator: golden filter-expression -> SQL pairs, Q algebra, and error messages.

No instance and no Record classes: the schemas are written out by hand below, so these
tests pin the translator alone. Golden pairs live in ``tests/golden/query_sql.txt``.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from registry.errors import FieldError, InvalidArgument, ValidationError
from registry.query import IN_LIST_LIMIT, InSelect, Q, Query, compile_include, compile_query, translate
from registry.schema import FieldSpec as F
from registry.schema import RegistrySchema as R

GOLDEN = Path(__file__).parent / "golden" / "query_sql.txt"


# -- hand-made schemas (mirroring the conventions of registry/schema.py) ---------------------
def _fields(extra, fk_user=True, relations=()):
    fields = [F("id", "int", "id", nullable=False, unique=True), F("uid", "str", "uid", nullable=False, unique=True)]
    fields += extra
    fields += [
        F("created_at", "datetime", "created_at", nullable=False),
        F("updated_at", "datetime", "updated_at", nullable=False),
    ]
    if fk_user:
        fields.append(F("created_by", "fk", "created_by_id", target="User"))
    fields += list(relations)
    return {f.name: f for f in fields}


def make_schemas():
    user = R(
        "User",
        "user",
        _fields(
            [F("handle", "str", "handle", nullable=False, unique=True), F("name", "str", "name")],
            fk_user=False,
            relations=[
                F("created_ulabels", "reverse_fk", target="ULabel", remote_column="created_by_id"),
                F("created_artifacts", "reverse_fk", target="Artifact", remote_column="created_by_id"),
            ],
        ),
        name_field="handle",
    )
    ulabel = R(
        "ULabel",
        "ulabel",
        _fields(
            [F("name", "str", "name", nullable=False), F("description", "str", "description")],
            relations=[
                F(
                    "artifacts",
                    "reverse_m2m",
                    target="Artifact",
                    link_table="artifact_ulabels",
                    link_source="ulabel_id",
                    link_target="artifact_id",
                )
            ],
        ),
    )
    artifact = R(
        "Artifact",
        "artifact",
        _fields(
            [
                F("key", "str", "key"),
                F("size", "int", "size"),
                F("score", "float", "score"),
                F("is_latest", "bool", "is_latest", nullable=False),
                F("meta", "json", "meta"),
                F("run", "fk", "run_id", target="Run"),
            ],
            relations=[
                F(
                    "ulabels",
                    "m2m",
                    target="ULabel",
                    link_table="artifact_ulabels",
                    link_source="artifact_id",
                    link_target="ulabel_id",
                )
            ],
        ),
        name_field="key",
    )
    run = R(
        "Run",
        "run",
        _fields(
            [F("name", "str", "name"), F("transform", "fk", "transform_id", target="Transform", nullable=False)],
            relations=[F("artifacts", "reverse_fk", target="Artifact", remote_column="run_id")],
        ),
    )
    transform = R(
        "Transform",
        "transform",
        _fields(
            [F("key", "str", "key")], relations=[F("runs", "reverse_fk", target="Run", remote_column="transform_id")]
        ),
        name_field="key",
    )
    celltype = R(
        "CellType",
        "celltype",
        _fields(
            [
                F("name", "str", "name", nullable=False),
                F("ontology_id", "str", "ontology_id"),
                F("synonyms", "str", "synonyms"),
            ],
            relations=[
                F(
                    "parents",
                    "m2m",
                    target="CellType",
                    link_table="celltype_parents",
                    link_source="from_celltype_id",
                    link_target="to_celltype_id",
                ),
                F(
                    "children",
                    "reverse_m2m",
                    target="CellType",
                    link_table="celltype_parents",
                    link_source="to_celltype_id",
                    link_target="from_celltype_id",
                ),
            ],
        ),
    )
    return {s.name: s for s in (user, ulabel, artifact, run, transform, celltype)}


S = make_schemas()


class FakeRecord:
    """Stands in for a saved record: the translator only reads ``_schema`` and ``id``."""

    def __init__(self, registry: str, id: int | None):
        self._schema = S[registry]
        self.id = id

    def __repr__(self) -> str:
        return f"{self._schema.name}(id={self.id})"


# -- golden runner ---------------------------------------------------------------------------
def _namespace():
    def where(registry, node):
        return translate(S, registry, node)

    def ranked(query, ids):
        n = len(ids)
        return query.with_rank(
            pa.table(
                {
                    "id": pa.array(ids, pa.int64()),
                    "score": pa.array(np.linspace(1, 0, n)),
                    "pos": pa.array(np.arange(n)),
                }
            )
        )

    ns = {name: Query(name) for name in S}
    ns.update(
        Q=Q,
        InSelect=InSelect,
        datetime=datetime,
        where=where,
        ranked=ranked,
        count=lambda query: compile_query(S, query, mode="count"),
        exists=lambda query: compile_query(S, query, mode="exists"),
        ids=lambda query: compile_query(S, query, mode="ids"),
        values=lambda query, *cols: compile_query(S, query, mode="values", columns=cols),
        include=lambda registry, paths, join: compile_include(S, registry, paths, join),
    )
    return ns


def render(expr: str) -> str:
    result = eval(expr, _namespace())  # noqa: S307 - our own data file
    if isinstance(result, Query):
        result = compile_query(S, result)
    text = f"{result.sql}\nparams: {result.params!r}"
    if result.tables:
        text += f"\ntables: { ({k: v.num_rows for k, v in result.tables.items()})!r}"
    return text


def parse_golden(text: str):
    """Cases as (expression, expected output, line number); expected is '' when not yet recorded."""
    cases = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith(">>> "):
            expr, start = lines[i][4:], i + 1
            i += 1
            body = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith((">>> ", "#")):
                body.append(lines[i])
                i += 1
            cases.append((expr, "\n".join(body), start))
        else:
            i += 1
    return cases


def _update_golden() -> None:
    out = []
    lines = GOLDEN.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line.startswith(">>> "):
            while i < len(lines) and lines[i].strip() and not lines[i].startswith((">>> ", "#")):
                i += 1
            out.append(render(line[4:]))
    GOLDEN.write_text("\n".join(out) + "\n")


if os.environ.get("REGISTRY_UPDATE_GOLDEN"):
    _update_golden()

CASES = parse_golden(GOLDEN.read_text())


@pytest.mark.parametrize("expr,expected,line", CASES, ids=[f"L{c[2]}:{c[0][:50]}" for c in CASES])
def test_golden(expr, expected, line):
    assert expected, f"golden line {line} has no recorded output; run with REGISTRY_UPDATE_GOLDEN=1 and review"
    assert render(expr) == expected


def _instance_tables() -> set[str]:
    return {s.table for s in S.values()} | {f.link_table for s in S.values() for f in s.fields.values() if f.link_table}


def test_compiled_statements_list_every_instance_table_they_read():
    # The engine loads exactly ``reads``; here (and only here) the SQL text is searched for names.
    known = _instance_tables()
    checked = 0
    for expr, _, line in CASES:
        try:
            result = eval(expr, _namespace())  # noqa: S307 - our own data file
            if isinstance(result, Query):
                result = compile_query(S, result)
        except (FieldError, ValidationError, InvalidArgument):
            continue
        mentioned = set(re.findall(r'"([^"]+)"', result.sql)) & known
        assert set(result.reads) == mentioned, f"golden line {line}: {expr}"
        assert not set(result.tables) & known
        checked += 1
    assert checked > 100


def test_golden_file_has_cases_for_every_lookup():
    from registry.query import LOOKUPS

    text = GOLDEN.read_text()
    missing = [name for name in LOOKUPS if f"__{name}=" not in text]
    assert missing == []


# -- Q algebra -------------------------------------------------------------------------------
def test_q_sorts_kwargs_so_equal_filters_compile_identically():
    a = translate(S, "ULabel", Q(name="a", description="b", uid="c"))
    b = translate(S, "ULabel", Q(uid="c", name="a", description="b"))
    assert (a.sql, a.params) == (b.sql, b.params)
    assert Q(name="a", uid="c") == Q(uid="c", name="a")
    assert hash(Q(name__in=["a", "b"])) == hash(Q(name__in=["a", "b"]))


def test_q_operators_return_new_objects_and_never_mutate():
    a, b = Q(name="a"), Q(name="b")
    before = (a.children, b.children)
    combined = a | b
    negated = ~a
    assert combined is not a and combined is not b and negated is not a
    assert (a.children, b.children) == before and not a.negated
    with pytest.raises(AttributeError):
        a.negated = True


def test_empty_q_is_identity():
    a = Q(name="a")
    assert (Q() & a) is a and (a | Q()) is a and (~Q()) == Q()
    assert not Q() and bool(a)


def test_double_negation_cancels():
    assert ~~Q(name="a") == Q(name="a")


def test_q_repr_is_readable():
    assert repr(Q(name="a") | ~Q(name__startswith="b")) == "Q(name='a') | ~Q(name__startswith='b')"
    assert repr(Q()) == "Q()"


def test_q_rejects_positional_non_q_with_hint_to_get():
    with pytest.raises(InvalidArgument, match=r"\.get\('1y7UO5uJ'\)"):
        Q("1y7UO5uJ")
    with pytest.raises(InvalidArgument, match="combine"):
        Q(name="a") & "b"


# -- Query state -----------------------------------------------------------------------------
def test_query_methods_return_new_queries():
    base = Query("ULabel")
    filtered = base.filter(name="a")
    assert base.wheres == () and filtered.wheres == (Q(name="a"),)
    assert base.order_by("name").ordering == ("name",) and base.ordering == ()
    assert base[2:4].low == 2 and base.low == 0


def test_filter_rejects_positional_string_pointing_to_get():
    with pytest.raises(InvalidArgument, match=r"get\('1y7UO5uJgJCx0000'\)") as err:
        Query("Transform").filter("1y7UO5uJgJCx0000")
    assert isinstance(err.value, TypeError)
    with pytest.raises(InvalidArgument):
        Query("ULabel").exclude(3)


def test_filter_after_slice_is_an_error():
    with pytest.raises(InvalidArgument, match="sliced"):
        Query("ULabel")[:3].filter(name="a")
    with pytest.raises(InvalidArgument, match="sliced"):
        Query("ULabel")[:3].order_by("name")


def test_negative_slices_are_rejected():
    with pytest.raises(ValidationError, match="negative"):
        Query("ULabel")[-3:]


@pytest.mark.parametrize(
    "outer,inner,expected",
    [
        ((10, 20), (2, 5), (12, 15)),
        ((10, 20), (5, 50), (15, 20)),
        ((0, None), (3, None), (3, None)),
        ((10, 12), (5, 9), (12, 12)),
    ],
)
def test_slices_compose(outer, inner, expected):
    q = Query("ULabel").slice(*outer).slice(*inner)
    assert (q.low, q.high) == expected


# -- errors ----------------------------------------------------------------------------------
def test_unknown_field_names_the_field_registry_and_closest_names():
    with pytest.raises(FieldError) as err:
        translate(S, "ULabel", Q(nmae="a"))
    msg = str(err.value)
    assert "'nmae'" in msg and "ULabel" in msg and "did you mean 'name'" in msg and "Available fields:" in msg
    assert isinstance(err.value, AttributeError)


def test_unknown_field_after_a_relation_names_the_related_registry():
    with pytest.raises(
        FieldError, match=r"Unknown field 'handel' on User \(in 'created_by__handel'\); did you mean 'handle'"
    ):
        translate(S, "ULabel", Q(created_by__handel="x"))


def test_unknown_lookup_lists_supported_lookups():
    with pytest.raises(FieldError) as err:
        translate(S, "ULabel", Q(name__icontain="a"))
    msg = str(err.value)
    assert "Unsupported lookup 'icontain'" in msg and "did you mean one of 'icontains'" in msg
    assert "Supported lookups: contains, endswith, exact" in msg


def test_lookup_not_valid_for_kind():
    with pytest.raises(FieldError, match="Unsupported lookup 'gt' for Artifact.is_latest"):
        translate(S, "Artifact", Q(is_latest__gt=True))
    with pytest.raises(FieldError, match="Supported lookups: isnull"):
        translate(S, "Artifact", Q(meta={"a": 1}))


def test_following_a_value_field_is_an_error():
    with pytest.raises(FieldError, match="not a relation"):
        translate(S, "ULabel", Q(name__foo__bar="a"))


@pytest.mark.parametrize(
    "node,match",
    [
        (Q(id="abc"), r"ULabel.id expects an integer, got 'abc' \(str\)"),
        (Q(id__in=[1, "x"]), r"ULabel.id expects an integer, got 'x'"),
        (Q(name=["a"]), r"ULabel.name expects a string, got \['a'\] \(list\)"),
        (Q(created_at__gt="yesterday"), "ISO 8601"),
        (Q(description__isnull="yes"), "expects True or False"),
        (Q(id__range=(1,)), "expects a pair"),
        (Q(name__regex="("), "invalid regular expression"),
        (Q(name__startswith=None), "use name__isnull=True"),
        (Q(name__in="abc"), "expects a list of values, got the string 'abc'"),
        (Q(name__in=5), "expects a list of values"),
    ],
)
def test_type_mismatch_errors_name_field_value_and_type(node, match):
    with pytest.raises(ValidationError, match=match):
        translate(S, "ULabel", node)


def test_bare_string_for_fk_suggests_the_name_field():
    with pytest.raises(ValidationError, match=r"Did you mean created_by__handle='testuser1'\?"):
        translate(S, "ULabel", Q(created_by="testuser1"))
    with pytest.raises(ValidationError, match=r"Did you mean ulabels__name='benchmark'\?"):
        translate(S, "Artifact", Q(ulabels="benchmark"))
    with pytest.raises(ValidationError, match="list of User records or ids"):
        translate(S, "ULabel", Q(created_by__in="testuser1"))


def test_records_are_accepted_for_relations_and_checked():
    sql = translate(S, "ULabel", Q(created_by=FakeRecord("User", 4)))
    assert sql.params == [4]
    sql = translate(S, "Artifact", Q(ulabels__in=[FakeRecord("ULabel", 1), FakeRecord("ULabel", 2)]))
    assert sql.params == [1, 2]
    with pytest.raises(ValidationError, match="expects a User record, got a ULabel record"):
        translate(S, "ULabel", Q(created_by=FakeRecord("ULabel", 1)))
    with pytest.raises(ValidationError, match="not saved yet"):
        translate(S, "ULabel", Q(created_by=FakeRecord("User", None)))


def test_relation_lookups_are_restricted():
    with pytest.raises(FieldError, match="Supported lookups: exact, in, isnull"):
        translate(S, "Artifact", Q(ulabels__gt=3))


def test_order_by_errors():
    with pytest.raises(FieldError, match="many-valued"):
        compile_query(S, Query("Artifact").order_by("ulabels__name"))
    with pytest.raises(FieldError, match="Unknown field 'nam'"):
        compile_query(S, Query("ULabel").order_by("-nam"))
    with pytest.raises(InvalidArgument, match="random ordering"):
        compile_query(S, Query("ULabel").order_by("?"))
    with pytest.raises(FieldError, match="is a lookup"):
        compile_query(S, Query("ULabel").order_by("created_by__in"))


def test_values_and_include_errors():
    with pytest.raises(FieldError, match="df\\(include"):
        compile_query(S, Query("Artifact"), mode="values", columns=["ulabels__name"])
    with pytest.raises(FieldError, match="Unknown field 'nme'"):
        compile_include(S, "ULabel", ["created_by__nme"], "inner")
    with pytest.raises(ValidationError, match="join must be"):
        compile_include(S, "ULabel", ["created_by__name"], "right")


# -- large in-lists become Arrow tables ------------------------------------------------------
def test_in_list_at_the_limit_uses_parameters_above_it_a_table():
    at = translate(S, "ULabel", Q(id__in=list(range(IN_LIST_LIMIT))))
    assert len(at.params) == IN_LIST_LIMIT and not at.tables
    above = translate(S, "ULabel", Q(id__in=list(range(IN_LIST_LIMIT + 1))))
    assert above.params == [] and above.tables["__in_0"].column("v").type == pa.int64()


@pytest.mark.parametrize(
    "values",
    [
        np.array([f"n{i}" for i in range(5000)]),
        pd.Series([f"n{i}" for i in range(5000)]),
        pd.Series([f"n{i}" for i in range(5000)], dtype="category"),
        pa.array([f"n{i}" for i in range(5000)]),
        pa.chunked_array([[f"n{i}" for i in range(2500)], [f"n{i}" for i in range(2500, 5000)]]),
        [f"n{i}" for i in range(5000)] + [None],
        {f"n{i}" for i in range(5000)},
    ],
    ids=["numpy", "pandas", "categorical", "arrow", "chunked", "list+None", "set"],
)
def test_large_in_accepts_array_likes(values):
    out = translate(S, "ULabel", Q(name__in=values))
    arr = out.tables["__in_0"].column("v")
    assert arr.type == pa.string() and len(arr) == 5000 and arr.null_count == 0


def test_large_in_converts_numbers_for_a_string_field_and_rejects_garbage_for_int():
    out = translate(S, "ULabel", Q(name__in=np.arange(2000)))
    assert out.tables["__in_0"].column("v").type == pa.string()
    with pytest.raises(ValidationError, match="ULabel.id__in"):
        translate(S, "ULabel", Q(id__in=["x"] * 2000))
    with pytest.raises(ValidationError, match="not all of one type"):
        translate(S, "ULabel", Q(name__in=["a", 1.5, object()] * 1000))


def test_large_in_of_records_uses_their_ids():
    recs = [FakeRecord("User", i) for i in range(1, 1500)]
    out = translate(S, "ULabel", Q(created_by__in=recs))
    assert out.tables["__in_0"].column("v").to_pylist()[:3] == [1, 2, 3]


# -- the SQL means what it says: run it on small hand-made DuckDB tables ----------------------
@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute(
        'CREATE TABLE "user" (id BIGINT, uid VARCHAR, handle VARCHAR, name VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)'
    )
    c.execute(
        "INSERT INTO \"user\" VALUES (1, 'u1', 'anna', 'Anna', now(), now()), (2, 'u2', 'bob', NULL, now(), now())"
    )
    c.execute(
        "CREATE TABLE ulabel (id BIGINT, uid VARCHAR, name VARCHAR, description VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, created_by_id BIGINT)"
    )
    rows = [
        (1, "T cell", "x"),
        (2, "B cell", None),
        (3, "x' OR 1=1 --", "inj"),
        (4, "100%", "pct"),
        (5, "a_b", "under"),
        (6, "axb", None),
        (7, ";", "semi"),
        (8, "back\\slash", None),
    ]
    for i, name, desc in rows:
        c.execute(
            "INSERT INTO ulabel VALUES (?, ?, ?, ?, now(), now(), ?)",
            [i, f"l{i}", name, desc, 1 if i % 2 else (None if i == 8 else 2)],
        )
    c.execute("CREATE TABLE artifact_ulabels (artifact_id BIGINT, ulabel_id BIGINT)")
    c.execute("INSERT INTO artifact_ulabels VALUES (10, 1), (10, 2), (11, 1), (12, 3)")
    c.execute(
        'CREATE TABLE artifact (id BIGINT, uid VARCHAR, "key" VARCHAR, size BIGINT, score DOUBLE, is_latest BOOLEAN, meta JSON, run_id BIGINT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, created_by_id BIGINT)'
    )
    c.execute(
        "INSERT INTO artifact VALUES (10,'a10','k10',1,0.1,true,NULL,NULL,now(),now(),1), (11,'a11','k11',2,0.2,true,NULL,NULL,now(),now(),2), (12,'a12','k12',3,0.3,false,NULL,NULL,now(),now(),NULL), (13,'a13','k13',4,0.4,true,NULL,NULL,now(),now(),1)"
    )
    return c


def run_ids(con, registry, node):
    out = compile_query(S, Query(registry).filter(node), mode="ids")
    for name, table in out.tables.items():
        con.register(name, table)
    try:
        return [r[0] for r in con.execute(out.sql, out.params).fetchall()]
    finally:
        for name in out.tables:
            con.unregister(name)


@pytest.mark.parametrize(
    "node,expected",
    [
        (Q(name="x' OR 1=1 --"), [3]),
        (Q(name=";"), [7]),
        (Q(name__contains="%"), [4]),
        (Q(name__icontains="%"), [4]),
        (Q(name__icontains="_"), [5]),
        (Q(name__istartswith="A_"), [5]),
        (Q(name__iendswith="%"), [4]),
        (Q(name__icontains="\\"), [8]),
        (Q(name__contains="'"), [3]),
        (Q(name__iexact="t CELL"), [1]),
        (Q(name__in=["x' OR 1=1 --", ";", "%"]), [3, 7]),
        (Q(name__in=["x' OR 1=1 --"] + [f"n{i}" for i in range(3000)]), [3]),
        (Q(name__regex="^[TB] "), [1, 2]),
        (Q(name__iregex="^t"), [1]),
    ],
)
def test_values_match_literally(con, node, expected):
    assert run_ids(con, "ULabel", node) == expected


def test_exclude_keeps_null_values_like_django(con):
    # description is NULL for 2, 6, 8: they are not "x", so exclude keeps them.
    assert run_ids(con, "ULabel", ~Q(description="x")) == [2, 3, 4, 5, 6, 7, 8]
    assert run_ids(con, "ULabel", ~Q(description__in=["x", "inj"])) == [2, 4, 5, 6, 7, 8]
    # created_by is NULL for 8: it is not created by anna.
    assert run_ids(con, "ULabel", ~Q(created_by__handle="anna")) == [2, 4, 6, 8]
    assert run_ids(con, "User", ~Q(created_ulabels__name="B cell")) == [1]


def test_many_to_many_never_duplicates_and_negates_per_record(con):
    assert run_ids(con, "Artifact", Q(ulabels__name__in=["T cell", "B cell"])) == [10, 11]
    assert run_ids(con, "Artifact", ~Q(ulabels__name="T cell")) == [12, 13]
    assert run_ids(con, "Artifact", Q(ulabels__isnull=True)) == [13]
    assert run_ids(con, "ULabel", Q(artifacts__key="k10")) == [1, 2]


def test_same_call_conditions_share_the_related_record(con):
    # Artifact 10 has labels "T cell" (desc x) and "B cell" (desc NULL).
    one_call = Q(ulabels__name="B cell", ulabels__description="x")
    assert run_ids(con, "Artifact", one_call) == []
    out = compile_query(
        S, Query("Artifact").filter(ulabels__name="B cell").filter(ulabels__description="x"), mode="ids"
    )
    assert [r[0] for r in con.execute(out.sql, out.params).fetchall()] == [10]


def test_or_across_relations(con):
    assert run_ids(con, "Artifact", Q(ulabels__name="x' OR 1=1 --") | Q(created_by__handle="bob")) == [11, 12]
