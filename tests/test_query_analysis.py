"""Query analysis done once: field paths resolved at filter() time, and the one answer to
"does this filter pin rows by equalities on the registry's own columns" (``query.analysis``)."""

from __future__ import annotations

import importlib

import pytest
from test_query_translate import CASES, FakeRecord, S, _namespace

from registry.errors import FieldError
from registry.query import Q, Query, compile_query
from registry.query.analysis import top_equalities, unique_equalities

translate_module = importlib.import_module("registry.query.translate")  # the package exports a function of that name
ULABEL = S["ULabel"]
ARTIFACT = S["Artifact"]


def test_a_query_with_schemas_resolves_paths_when_the_filter_is_added():
    q = Query("Artifact", S).filter(created_by__handle="anna", size__gt=3).exclude(Q(ulabels__name="x") | Q(key="k"))
    assert set(q.paths) == {"created_by__handle", "size__gt", "ulabels__name", "key"}
    path = q.paths["created_by__handle"]
    assert [h.name for h in path.hops] == ["created_by"] and path.field.name == "handle" and path.lookup is None
    with pytest.raises(FieldError, match="Unknown field 'nam' on ULabel"):
        Query("ULabel", S).filter(nam="a")  # at filter() time, not at the first evaluation
    with pytest.raises(FieldError, match="Unsupported lookup 'icontain'"):
        Query("ULabel", S).filter(Q(name__icontain="a"))
    with pytest.raises(FieldError, match="unknown registry"):
        Query("Nope", S).filter(name="a")
    assert Query("ULabel").filter(nam="a").paths == {}  # without schemas: resolved when compiled


def test_the_compiler_uses_the_resolved_paths(monkeypatch):
    query = (
        Query("Artifact", S)
        .filter(created_by__handle="anna", ulabels__name__startswith="T", run__transform__key="t")
        .filter(ulabels__in=[FakeRecord("ULabel", 1)], created_by=FakeRecord("User", 2))
        .exclude(Q(ulabels__artifacts__key="k") | Q(size__in=[1, 2]))
    )
    filter_keys = set(query.paths)
    resolved = []
    real = translate_module.resolve
    monkeypatch.setattr(
        translate_module, "resolve", lambda s, schema, key, **kw: resolved.append(key) or real(s, schema, key, **kw)
    )
    out = compile_query(S, query, mode="ids")
    # order_by/values paths ("id" here) are resolved by the compiler; no filter path is, nor a tail of one
    assert not [k for k in resolved if k != "id"], resolved
    monkeypatch.undo()
    unresolved = Query("Artifact")
    for node in query.wheres:
        unresolved = unresolved.filter(node)
    again = compile_query(S, unresolved, mode="ids")
    assert (out.sql, out.params, out.reads) == (again.sql, again.params, again.reads)
    assert filter_keys


def test_golden_statements_are_the_same_from_resolved_queries():
    ns = _namespace()
    ns.update({name: Query(name, S) for name in S})
    plain = _namespace()
    checked = 0
    for expr, _, line in CASES:
        try:
            expected = eval(expr, plain)  # noqa: S307 - our own data file
        except Exception:  # noqa: BLE001 - error cases are pinned by test_golden
            continue
        if not isinstance(expected, Query):
            continue
        got = eval(expr, ns)  # noqa: S307
        a, b = compile_query(S, expected), compile_query(S, got)
        assert (a.sql, a.params) == (b.sql, b.params), f"golden line {line}: {expr}"
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("schemas", [None, S])
def test_unique_equalities(schemas):
    def q(**kw):
        return Query("ULabel", schemas).filter(**kw)

    uid = ULABEL.fields["uid"]
    assert unique_equalities(ULABEL, q(uid="abc")) == [(uid, "abc")]
    assert unique_equalities(ULABEL, q(uid__exact="abc", name="x")) == [(uid, "abc")]
    assert unique_equalities(ULABEL, q(id=3))[0][0].name == "id"
    assert unique_equalities(ULABEL, q(pk=3))[0][0].name == "id"
    assert unique_equalities(ULABEL, q(name="x")) is None  # not unique
    assert unique_equalities(ULABEL, q(uid=None)) is None  # IS NULL matches many
    assert unique_equalities(ULABEL, q(uid__startswith="a")) is None
    assert unique_equalities(ULABEL, q(created_by__uid="a")) is None  # through a relation
    assert unique_equalities(ULABEL, Query("ULabel", schemas).exclude(uid="a")) is None
    assert unique_equalities(ULABEL, Query("ULabel", schemas).filter(Q(uid="a") | Q(uid="b"))) is None
    assert unique_equalities(ULABEL, Query("ULabel", schemas).filter(Q(uid="a"))) is None  # nested: not looked into
    assert unique_equalities(ULABEL, q(uid__in=["a", "b"])) is None
    assert unique_equalities(ULABEL, q(uid__in=["a", "b"]), in_lists=True) == [(uid, ["a", "b"])]
    assert unique_equalities(ULABEL, q(uid__in=["a"] * 1001), in_lists=True) is None  # joined as a table
    assert unique_equalities(ULABEL, {"uid": "a", "name": "b"}) == [(uid, "a")]


def test_top_equalities_one_per_expression_in_order():
    fields = ARTIFACT.fields
    user = FakeRecord("User", 2)
    exprs = {
        "key": "k",
        "created_by": user,
        "created_by_id": 2,
        "size__exact": None,
        "id__in": [1],
        "key__startswith": "k",
        "created_by__handle": "a",
        "meta": {},
        "ulabels": 1,
        "nope": 1,
    }
    got = list(top_equalities(ARTIFACT, exprs))
    assert [(e.field.name, e.value, e.lookup) if e else None for e in got] == [
        ("key", "k", "exact"),
        ("created_by", user, "exact"),
        ("created_by_id", 2, "exact"),
        ("size", None, "exact"),
        ("id", [1], "in"),
        None,
        None,
        None,
        None,
        None,
    ]
    assert got[0].field is fields["key"]
    query = Query("Artifact", S).filter(key="k", size=3).exclude(size=4).filter(Q(key="a") | Q(key="b"))
    assert [e.field.name for e in top_equalities(ARTIFACT, query)] == ["key", "size"]  # sorted kwargs
