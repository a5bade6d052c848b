"""QuerySet behaviour against real data in an instance: every lookup, Q combination,
traversal and QuerySet method, including injection-style values matched literally."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import registry as ln
import registry.bio as bt
from registry import QuerySet
from registry.errors import DoesNotExist, FieldError, InvalidArgument, MultipleResultsFound, ValidationError
from registry.query import Q
from registry.records.queryset import related

LABELS = [
    # name, description, creator
    ("T cell", "x", "anna"),
    ("B cell", None, "anna"),
    ("x' OR 1=1 --", "inj", "bob"),
    ("100%", "pct", "bob"),
    ("a_b", "under", None),
    ("axb", None, None),
    (";", "semi", None),
    ("back\\slash", None, None),
    ("NK cell", "natural killer", "anna"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("qs") / "inst"
    ln.init(path)
    anna = ln.User(handle="anna", name="Anna")
    bob = ln.User(handle="bob")
    ln.save([anna, bob])
    users = {"anna": anna, "bob": bob}
    labels = []
    for name, desc, creator in LABELS:
        label = ln.ULabel(name=name, description=desc)
        if creator:
            label.created_by = users[creator]
        labels.append(label)
    ln.save(labels)
    t1, t2 = ln.Transform(key="pipeline/a"), ln.Transform(key="notebook/b")
    ln.save([t1, t2])
    r1, r2 = ln.Run(transform=t1, reference="r1"), ln.Run(transform=t2, reference="r2")
    ln.save([r1, r2])
    arts = [
        ln.Artifact(key="k10", size=1, run=r1),
        ln.Artifact(key="k11", size=2, run=r2),
        ln.Artifact(key="k12", size=3),
        ln.Artifact(key="k13"),
    ]
    for a, creator in zip(arts, [anna, bob, None, anna], strict=True):
        if creator is not None:
            a.created_by = creator
    ln.save(arts)
    by_name = {label.name: label for label in ln.ULabel.filter().list()}
    arts[0].ulabels.add(by_name["T cell"], by_name["B cell"])
    arts[1].ulabels.add(by_name["T cell"])
    arts[2].ulabels.add(by_name["x' OR 1=1 --"])
    lym = bt.CellType(name="lymphocyte", ontology_id="CL:0000542")
    lym.save()
    cts = [
        bt.CellType(name=n, ontology_id=o)
        for n, o in [("T cell", "CL:0000084"), ("B cell", "CL:0000236"), ("NK cell", "CL:0000623")]
    ]
    ln.save(cts)
    for ct in cts:
        ct.parents.add(lym)
    cd4 = bt.CellType(name="CD4 T cell", ontology_id="CL:0000624")
    cd4.save()
    cd4.parents.add(cts[0])
    return path


@pytest.fixture
def db(data_dir):
    """The shared data set as the default instance (read-only use)."""
    ln.init(data_dir)
    return ln.settings.instance


@pytest.fixture
def fresh(tmp_path):
    """An empty instance of its own, for tests that write."""
    ln.init(tmp_path / "fresh")
    return ln.settings.instance


def names(qs) -> list[str]:
    return [r.name for r in qs]


# -- lookups -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expressions,expected",
    [
        ({"name": "T cell"}, ["T cell"]),
        ({"name__exact": "T cell"}, ["T cell"]),
        ({"name__iexact": "t CELL"}, ["T cell"]),
        ({"name__contains": "cell"}, ["T cell", "B cell", "NK cell"]),
        ({"name__contains": "Cell"}, []),
        ({"name__icontains": "CELL"}, ["T cell", "B cell", "NK cell"]),
        ({"name__startswith": "N"}, ["NK cell"]),
        ({"name__istartswith": "nk"}, ["NK cell"]),
        ({"name__endswith": "xb"}, ["axb"]),
        ({"name__iendswith": "XB"}, ["axb"]),
        ({"name__in": ["B cell", "zzz", "T cell"]}, ["T cell", "B cell"]),
        ({"name__in": []}, []),
        ({"id__gt": 8}, ["NK cell"]),
        ({"id__gte": 8}, ["back\\slash", "NK cell"]),
        ({"id__lt": 2}, ["T cell"]),
        ({"id__lte": 2}, ["T cell", "B cell"]),
        ({"id__range": (2, 3)}, ["B cell", "x' OR 1=1 --"]),
        ({"description__isnull": True}, ["B cell", "axb", "back\\slash"]),
        ({"description": None}, ["B cell", "axb", "back\\slash"]),
        ({"name__regex": r"^[TB] cell$"}, ["T cell", "B cell"]),
        ({"name__iregex": r"^[tb] CELL$"}, ["T cell", "B cell"]),
        ({"name__gt": "x"}, ["x' OR 1=1 --"]),
        ({"pk": 1}, ["T cell"]),
    ],
)
def test_lookups(db, expressions, expected):
    assert names(ln.ULabel.filter(**expressions)) == expected


def test_isnull_false_and_datetime_lookups(db):
    assert len(ln.ULabel.filter(description__isnull=False)) == 6
    first = ln.ULabel.get(name="T cell")
    assert ln.ULabel.filter(created_at__lte=first.created_at).count() >= 1
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert ln.ULabel.filter(created_at__gt=future).count() == 0
    assert ln.ULabel.filter(created_at__lt=future.isoformat()).count() == len(LABELS)
    assert ln.ULabel.filter(created_at__range=("2000-01-01", future)).count() == len(LABELS)


@pytest.mark.parametrize(
    "expressions,expected",
    [
        ({"name": "x' OR 1=1 --"}, ["x' OR 1=1 --"]),
        ({"name": ";"}, [";"]),
        ({"name": "%"}, []),
        ({"name": "_"}, []),
        ({"name__contains": "%"}, ["100%"]),
        ({"name__icontains": "%"}, ["100%"]),
        ({"name__icontains": "_"}, ["a_b"]),
        ({"name__istartswith": "A_"}, ["a_b"]),
        ({"name__iendswith": "0%"}, ["100%"]),
        ({"name__contains": "\\"}, ["back\\slash"]),
        ({"name__icontains": "K\\S"}, ["back\\slash"]),
        ({"name__contains": "'"}, ["x' OR 1=1 --"]),
        ({"name__icontains": "' or 1=1"}, ["x' OR 1=1 --"]),
        ({"name__contains": ";"}, [";"]),
        ({"name__in": ["x' OR 1=1 --", ";", "%", "_"]}, ["x' OR 1=1 --", ";"]),
        ({"description": "'; DROP TABLE ulabel; --"}, []),
    ],
)
def test_injection_and_metacharacters_match_literally(db, expressions, expected):
    assert names(ln.ULabel.filter(**expressions)) == expected
    assert ln.ULabel.filter().count() == len(LABELS)  # nothing was dropped or changed


def test_large_in_list_goes_through_an_arrow_table(db):
    values = [f"missing {i}" for i in range(100_000)] + ["NK cell", "x' OR 1=1 --"]
    qs = ln.ULabel.filter(name__in=values)
    compiled = qs._compile()
    assert compiled.params == [] and len(compiled.tables["__in_0"]) == 100_002
    assert names(qs) == ["x' OR 1=1 --", "NK cell"]
    assert qs.count() == 2
    assert names(ln.ULabel.filter(name__in=np.array(values))) == ["x' OR 1=1 --", "NK cell"]
    assert ln.ULabel.exclude(name__in=pd.Series(values)).count() == len(LABELS) - 2


# -- Q combinations --------------------------------------------------------------------------------
def test_q_or_and_not(db):
    assert names(ln.ULabel.filter(Q(name="T cell") | Q(name="B cell"))) == ["T cell", "B cell"]
    assert names(ln.ULabel.filter(Q(name__contains="cell") & ~Q(name__startswith="N"))) == ["T cell", "B cell"]
    assert names(ln.ULabel.filter(~Q(name__contains="cell"))) == [
        "x' OR 1=1 --",
        "100%",
        "a_b",
        "axb",
        ";",
        "back\\slash",
    ]
    nested = (Q(name__endswith="cell") | Q(name__contains="%")) & ~(Q(description__isnull=True) | Q(id__gt=8))
    assert names(ln.ULabel.filter(nested)) == ["T cell", "100%"]
    assert names(ln.ULabel.filter(Q(), name="axb")) == ["axb"]
    assert ln.ULabel.filter(Q()).count() == len(LABELS)


def test_q_and_keywords_combine(db):
    assert names(ln.ULabel.filter(Q(name__contains="cell"), description__isnull=True)) == ["B cell"]


def test_exclude_keeps_nulls_like_django(db):
    assert names(ln.ULabel.exclude(description="x")) == [n for n, *_ in LABELS if n != "T cell"]
    assert ln.ULabel.exclude(description__in=["x", "inj"]).count() == len(LABELS) - 2
    assert names(ln.ULabel.filter(~Q(description__startswith="n"))) == [n for n, *_ in LABELS if n != "NK cell"]


# -- related traversal -----------------------------------------------------------------------------
def test_forward_fk_traversal(db):
    assert names(ln.ULabel.filter(created_by__handle="anna")) == ["T cell", "B cell", "NK cell"]
    assert names(ln.ULabel.filter(created_by__name__isnull=True, created_by__handle="bob")) == ["x' OR 1=1 --", "100%"]
    assert names(ln.ULabel.exclude(created_by__handle="anna")) == [
        "x' OR 1=1 --",
        "100%",
        "a_b",
        "axb",
        ";",
        "back\\slash",
    ]
    # exclude keeps records whose FK is NULL (k12 and k13 have no run), as Django does
    assert [a.key for a in ln.Artifact.exclude(run__reference="r1")] == ["k11", "k12", "k13"]
    assert [a.key for a in ln.Artifact.filter(run=None)] == ["k12", "k13"]
    assert [a.key for a in ln.Artifact.filter(run__isnull=False)] == ["k10", "k11"]
    anna = ln.User.get(handle="anna")
    assert names(ln.ULabel.filter(created_by=anna)) == ["T cell", "B cell", "NK cell"]
    assert names(ln.ULabel.filter(created_by__in=[anna])) == ["T cell", "B cell", "NK cell"]
    assert names(ln.ULabel.filter(created_by_id=anna.id)) == ["T cell", "B cell", "NK cell"]


def test_deep_forward_fk(db):
    assert [a.key for a in ln.Artifact.filter(run__transform__key__startswith="pipe")] == ["k10"]
    assert [a.key for a in ln.Artifact.exclude(run__transform__key__startswith="pipe")] == ["k11", "k12", "k13"]


def test_reverse_fk_traversal(db):
    assert [u.handle for u in ln.User.filter(created_ulabels__name__contains="cell")] == ["anna"]
    assert [u.handle for u in ln.User.filter(created_artifacts__key="k11")] == ["bob"]
    assert "anna" not in [u.handle for u in ln.User.exclude(created_ulabels__name="T cell")]
    assert [t.key for t in ln.Transform.filter(runs__reference="r2")] == ["notebook/b"]


def test_many_to_many_without_duplicates(db):
    assert [a.key for a in ln.Artifact.filter(ulabels__name__in=["T cell", "B cell"])] == ["k10", "k11"]
    assert ln.Artifact.filter(ulabels__name__contains="cell").count() == 2
    assert [a.key for a in ln.Artifact.exclude(ulabels__name="T cell")] == ["k12", "k13"]
    assert [a.key for a in ln.Artifact.filter(ulabels__isnull=True)] == ["k13"]
    assert [a.key for a in ln.Artifact.filter(ulabels__name="x' OR 1=1 --")] == ["k12"]
    tcell = ln.ULabel.get(name="T cell")
    assert [a.key for a in ln.Artifact.filter(ulabels=tcell)] == ["k10", "k11"]


def test_reverse_many_to_many(db):
    assert names(ln.ULabel.filter(artifacts__key__startswith="k1")) == ["T cell", "B cell", "x' OR 1=1 --"]
    assert names(ln.ULabel.filter(artifacts__created_by__handle="bob")) == ["T cell"]


def test_self_many_to_many(db):
    assert names(bt.CellType.filter(parents__name="lymphocyte")) == ["T cell", "B cell", "NK cell"]
    assert names(bt.CellType.filter(children__name="T cell")) == ["lymphocyte"]
    assert names(bt.CellType.filter(parents__parents__name="lymphocyte")) == ["CD4 T cell"]
    assert names(bt.CellType.filter(children__isnull=True)) == ["B cell", "NK cell", "CD4 T cell"]


def test_conditions_in_one_call_share_the_related_record(db):
    # k10 has T cell (description "x") and B cell (description NULL).
    assert ln.Artifact.filter(ulabels__name="B cell", ulabels__description="x").count() == 0
    assert [a.key for a in ln.Artifact.filter(ulabels__name="B cell").filter(ulabels__description="x")] == ["k10"]


def test_query_set_as_in_value(db):
    bobs = ln.User.filter(handle="bob")
    assert names(ln.ULabel.filter(created_by__in=bobs)) == ["x' OR 1=1 --", "100%"]
    assert [a.key for a in ln.Artifact.filter(ulabels__in=ln.ULabel.filter(name__endswith="cell"))] == ["k10", "k11"]


def test_reverse_relations_are_query_sets(db):
    anna = ln.User.get(handle="anna")
    created = related(anna, "created_ulabels")
    assert isinstance(created, QuerySet) and names(created) == ["T cell", "B cell", "NK cell"]
    assert names(created.filter(name__startswith="B")) == ["B cell"]
    tcell = ln.ULabel.get(name="T cell")
    assert [a.key for a in related(tcell, "artifacts")] == ["k10", "k11"]
    k10 = ln.Artifact.get(key="k10")
    assert names(related(k10, "ulabels").order_by("name")) == ["B cell", "T cell"]
    assert related(k10, "created_by").one().handle == "anna"
    assert isinstance(anna.created_ulabels, QuerySet) and anna.created_ulabels.count() == 3
    assert isinstance(tcell.artifacts, QuerySet) and tcell.artifacts.count() == 2


# -- QuerySet methods ------------------------------------------------------------------------------
def test_query_sets_are_lazy(db, monkeypatch):
    calls = []
    original = db.engine.execute
    monkeypatch.setattr(db.engine, "execute", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    qs = ln.ULabel.filter(name__contains="cell").exclude(name="B cell").order_by("-name")[:2]
    assert calls == []
    assert qs.count() == 2
    assert len(calls) == 1 and calls[0].startswith("SELECT count(*)")


def test_methods_return_new_query_sets(db):
    base = ln.ULabel.filter(name__contains="cell")
    narrowed = base.filter(name__startswith="T")
    ordered = base.order_by("-name")
    assert base.count() == 3 and narrowed.count() == 1
    assert names(base) == ["T cell", "B cell", "NK cell"] and names(ordered) == ["T cell", "NK cell", "B cell"]
    assert base.all() is not base and names(base.all()) == names(base)


def test_order_by(db):
    assert names(ln.ULabel.filter(name__contains="cell").order_by("name")) == ["B cell", "NK cell", "T cell"]
    assert names(ln.ULabel.filter(name__contains="cell").order_by("-id")) == ["NK cell", "B cell", "T cell"]
    assert names(ln.ULabel.filter(name__contains="cell").order_by(ln.ULabel.name)) == ["B cell", "NK cell", "T cell"]
    by_creator = ln.ULabel.filter(created_by__handle__in=["anna", "bob"]).order_by("-created_by__handle", "name")
    assert names(by_creator) == ["100%", "x' OR 1=1 --", "B cell", "NK cell", "T cell"]
    assert [a.key for a in ln.Artifact.filter().order_by("-run__transform__key").filter(run__isnull=False)] == [
        "k10",
        "k11",
    ]
    with pytest.raises(FieldError, match="many-valued"):
        ln.Artifact.filter().order_by("ulabels__name").list()


def test_reverse_flips_the_ordering(db):
    qs = ln.ULabel.filter(name__contains="cell")
    assert names(qs.reverse()) == ["NK cell", "B cell", "T cell"]
    assert names(qs.order_by("name").reverse()) == ["T cell", "NK cell", "B cell"]


def test_unique_equality_needs_no_ordering(db):
    qs = ln.ULabel.filter(name="axb").order_by("-description")
    assert "ORDER BY" not in qs._compile().sql
    assert qs.first().name == "axb" and qs.last().name == "axb" and names(qs[:5]) == ["axb"]


def test_slicing_and_indexing(db):
    qs = ln.ULabel.filter().order_by("id")
    all_names = [n for n, *_ in LABELS]
    assert names(qs[2:5]) == all_names[2:5]
    assert names(qs[2:5][1:]) == all_names[3:5]
    assert names(qs[7:]) == all_names[7:]
    assert qs[3].name == all_names[3]
    assert "LIMIT 3 OFFSET 2" in qs[2:5]._compile().sql
    with pytest.raises(IndexError):
        qs[100]
    with pytest.raises(ValidationError, match="negative"):
        qs[-1]
    with pytest.raises(InvalidArgument):
        qs[::2]
    assert qs[2:5].count() == 3 and qs[8:20].count() == 1 and qs[20:].count() == 0
    assert ln.ULabel.filter(name__contains="cell")[1:].count() == 2


def test_first_last_one(db):
    qs = ln.ULabel.filter(name__contains="cell")
    assert qs.first().name == "T cell" and qs.last().name == "NK cell"
    assert qs.order_by("name").first().name == "B cell" and qs.order_by("name").last().name == "T cell"
    assert ln.ULabel.filter(name="zzz").first() is None and ln.ULabel.filter(name="zzz").last() is None
    assert qs[1:3].last().name == "NK cell"
    assert ln.ULabel.filter(name="axb").one().name == "axb"
    assert ln.ULabel.filter(name="zzz").one_or_none() is None
    with pytest.raises(DoesNotExist):
        ln.ULabel.filter(name="zzz").one()
    with pytest.raises(MultipleResultsFound):
        qs.one()
    with pytest.raises(MultipleResultsFound):
        qs.one_or_none()


def test_get(db):
    tcell = ln.ULabel.get(name="T cell")
    qs = ln.ULabel.filter(name__contains="cell")
    assert qs.get(name="T cell") == tcell
    assert qs.get(tcell.id) == tcell and qs.get(tcell.uid[:5]) == tcell
    assert ln.ULabel.filter().get(tcell.uid) == tcell
    with pytest.raises(DoesNotExist, match="ULabel matching name='axb'"):
        qs.get(name="axb")  # exists, but not in this query set
    with pytest.raises(MultipleResultsFound):
        qs.get(name__endswith="cell")
    with pytest.raises(FieldError, match="did you mean 'name'"):
        ln.ULabel.get(nme="x")


def test_count_exists_len_bool_iter(db):
    qs = ln.ULabel.filter(name__contains="cell")
    assert qs.count() == len(qs) == 3
    assert qs.exists() and bool(qs)
    empty = ln.ULabel.filter(name="zzz")
    assert not empty.exists() and not empty and len(empty) == 0
    assert [r.name for r in qs] == list(qs.list("name"))
    assert isinstance(qs.list()[0], ln.ULabel) and qs.to_list("name") == ["T cell", "B cell", "NK cell"]
    assert ln.ULabel.get(name="axb") in ln.ULabel.filter(name__startswith="a")
    assert ln.ULabel.get(name="axb") not in qs
    assert "T cell" in repr(qs) and repr(qs).startswith("<QuerySet [")


def test_count_compiles_to_count_star(db):
    sql = ln.ULabel.filter(name__contains="cell")._compile("count").sql
    assert sql.startswith("SELECT count(*)") and "ORDER BY" not in sql
    assert "LIMIT 1" in ln.ULabel.filter(name="x")._compile("exists").sql


def test_values_and_values_list(db):
    qs = ln.ULabel.filter(name__contains="cell")
    assert qs.values("name", "created_by__handle") == [
        {"name": "T cell", "created_by__handle": "anna"},
        {"name": "B cell", "created_by__handle": "anna"},
        {"name": "NK cell", "created_by__handle": "anna"},
    ]
    assert qs.values_list("name", flat=True) == ["T cell", "B cell", "NK cell"]
    assert qs.values_list("name", "description") == [("T cell", "x"), ("B cell", None), ("NK cell", "natural killer")]
    assert qs.values_list(ln.ULabel.name, flat=True) == ["T cell", "B cell", "NK cell"]
    assert set(qs.values()[0]) >= {"id", "uid", "name", "created_by_id"}
    assert ln.ULabel.filter().distinct().values_list("created_by__handle", flat=True) == sorted(
        ["anna", "bob", ln.settings.user.handle]
    )
    assert ln.Artifact.filter().distinct().values_list("run__transform__key", flat=True) == [
        "notebook/b",
        "pipeline/a",
        None,
    ]
    with pytest.raises(InvalidArgument):
        qs.values_list("name", "uid", flat=True)
    with pytest.raises(FieldError, match="include"):
        ln.Artifact.filter().values("ulabels__name")


def test_to_arrow_and_polars(db):
    qs = ln.ULabel.filter(name__contains="cell").order_by("-name")
    table = qs.to_arrow()
    assert isinstance(table, pa.Table) and table.column_names == ln.ULabel._schema.columns
    assert table.column("name").to_pylist() == ["T cell", "NK cell", "B cell"]
    frame = qs.to_polars()
    assert isinstance(frame, pl.DataFrame) and frame["name"].to_list() == ["T cell", "NK cell", "B cell"]
    assert ln.ULabel.filter().to_polars().height == len(LABELS)
    assert ln.ULabel.filter()._is_all() and not qs._is_all()


def test_errors_at_the_query_set(db):
    with pytest.raises(InvalidArgument, match=r"\.get\('1y7UO5uJgJCx0000'\)"):
        ln.Transform.filter("1y7UO5uJgJCx0000")
    with pytest.raises(FieldError, match="Unknown field 'nmae' on ULabel; did you mean 'name'"):
        ln.ULabel.filter(nmae="x").count()
    with pytest.raises(ValidationError, match="ULabel.id expects an integer, got 'abc'"):
        ln.ULabel.filter(id="abc").list()
    with pytest.raises(ValidationError, match=r"Did you mean created_by__handle='anna'\?"):
        ln.ULabel.filter(created_by="anna").list()
    with pytest.raises(FieldError, match="Supported lookups"):
        ln.ULabel.filter(name__like="x").list()


def test_query_set_values_from_another_instance_are_refused(db, tmp_path):
    other = ln.User.using(_other_instance(tmp_path)).filter(handle="x")
    with pytest.raises(InvalidArgument, match="cannot filter"):
        ln.ULabel.filter(created_by__in=other)


def test_records_from_another_instance_are_refused(db, tmp_path):
    other = _other_instance(tmp_path)
    stranger = ln.User.using(other).filter().first()
    with pytest.raises(InvalidArgument, match="comes from"):
        ln.ULabel.filter(created_by=stranger)
    with pytest.raises(InvalidArgument, match="comes from"):
        ln.ULabel.filter(created_by__in=[stranger])


def test_query_set_as_in_value_only_for_ids(db):
    with pytest.raises(ValidationError, match="values_list"):
        ln.ULabel.filter(name__in=ln.ULabel.filter(name="x")).list()


def _other_instance(tmp_path):
    current = ln.settings.instance.root
    path = tmp_path / "other"
    ln.init(path)
    ln.init(current)
    return path


# -- writing ---------------------------------------------------------------------------------------
def test_new_records_are_visible_to_later_queries(fresh):
    qs = ln.ULabel.filter(name__startswith="n")
    assert qs.count() == 0
    ln.save([ln.ULabel(name=f"n{i}") for i in range(3)])
    assert qs.count() == 3
    ln.ULabel.get(name="n1").delete()
    assert qs.list("name") == ["n0", "n2"]


def test_delete_is_one_commit_and_removes_links(fresh):
    ln.save([ln.ULabel(name=f"d{i}") for i in range(10)])
    art = ln.Artifact(key="a")
    art.save()
    art.ulabels.add(*ln.ULabel.filter(name__in=["d1", "d2"]).list())
    before = ln.ULabel._table_version()
    n = ln.ULabel.filter(name__in=["d1", "d2", "d3", "zzz"]).delete()
    assert n == 3
    assert ln.ULabel._table_version() == before + 1
    assert ln.ULabel.filter().count() == 7 and not ln.ULabel.filter(name="d1").exists()
    assert art.ulabels.count() == 0
    assert ln.ULabel.filter(name="zzz").delete() == 0
    assert ln.ULabel.filter().delete() == 7 and ln.ULabel.filter().count() == 0


def test_unknown_field_fails_at_filter_time_not_at_evaluation(instance):
    with pytest.raises(FieldError, match="did you mean 'name'"):
        ln.ULabel.filter(nme="x")
    with pytest.raises(FieldError):
        ln.ULabel.filter(ln.Q(created_by__hndle="x"))
    with pytest.raises(FieldError):
        ln.ULabel.exclude(name__startswit="x")
