"""``Registry.df()`` and ``QuerySet.df()``: columns, order, limit, include and join, on real data."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import registry as ln
import registry.bio as bt
from registry.errors import FieldError, InvalidArgument, ValidationError


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("df") / "inst"
    ln.init(path)
    anna = ln.User(handle="anna", name="Anna")
    anna.save()
    labels = [ln.ULabel(name=f"Label {i}", description="even" if i % 2 == 0 else None) for i in range(105)]
    for label in labels[:5]:
        label.created_by = anna
    ln.save(labels)
    t = ln.Transform(key="pipeline")
    t.save()
    run = ln.Run(transform=t, reference="run 1")
    run.save()
    arts = [ln.Artifact(key="a1", run=run), ln.Artifact(key="a2"), ln.Artifact(key="a3", run=run)]
    ln.save(arts)
    arts[0].ulabels.add(ln.ULabel.get(name="Label 1"), ln.ULabel.get(name="Label 2"))
    arts[2].ulabels.add(ln.ULabel.get(name="Label 2"))
    lym = bt.CellType(name="lymphocyte")
    lym.save()
    tc = bt.CellType(name="T cell")
    tc.save()
    tc.parents.add(lym)
    return path


@pytest.fixture
def db(data_dir):
    ln.init(data_dir)
    return ln.settings.instance


def test_registry_df_default_limit_is_100_newest_first_with_warning(db, caplog):
    with caplog.at_level(logging.WARNING, logger="registry"):
        frame = ln.ULabel.df()
    assert len(frame) == 100
    assert frame.index.name == "id"
    assert list(frame.index[:3]) == [105, 104, 103] and frame.index.is_monotonic_decreasing
    assert "truncated query result to limit=100 ULabel objects" in caplog.text


def test_registry_df_without_truncation_does_not_warn(db, caplog):
    with caplog.at_level(logging.WARNING, logger="registry"):
        frame = ln.Artifact.df()
    assert len(frame) == 3 and "truncated" not in caplog.text


def test_df_limit_none_returns_everything(db):
    assert len(ln.ULabel.df(limit=None)) == 105
    assert len(ln.ULabel.df(limit=7)) == 7


def test_df_columns_are_direct_fields_without_updated_at(db):
    frame = ln.ULabel.df()
    assert list(frame.columns) == [
        "uid",
        "name",
        "description",
        "reference",
        "reference_type",
        "created_at",
        "created_by_id",
    ]
    assert "updated_at" not in frame.columns and "id" not in frame.columns
    arts = ln.Artifact.df()
    assert list(arts.columns)[-2:] == ["run_id", "created_by_id"]
    assert str(frame["created_at"].dtype).startswith("datetime64") and frame["created_at"].dt.tz is not None


def test_query_set_df_returns_all_rows_of_the_query_set(db):
    frame = ln.ULabel.filter(description="even").df()
    assert len(frame) == 53 and set(frame["description"]) == {"even"}
    assert frame.index.is_monotonic_decreasing


def test_query_set_df_keeps_the_query_set_order(db):
    frame = ln.ULabel.filter(name__in=["Label 3", "Label 10", "Label 7"]).order_by("name").df()
    assert list(frame["name"]) == ["Label 10", "Label 3", "Label 7"]
    assert list(ln.ULabel.filter().order_by("id")[:3].df()["name"]) == ["Label 0", "Label 1", "Label 2"]


def test_df_of_an_empty_query_set_has_the_columns(db):
    frame = ln.ULabel.filter(name="zzz").df(include="created_by__name")
    assert len(frame) == 0 and list(frame.columns)[-1] == "created_by__name" and frame.index.name == "id"


def test_include_forward_fk(db):
    frame = ln.ULabel.filter().order_by("id").df(include=["created_by__name"], limit=6)
    assert frame["created_by__name"].tolist()[:5] == ["Anna"] * 5
    assert frame.columns[-1] == "created_by__name"
    assert "uid" in frame.columns and "name" in frame.columns  # the direct fields stay
    frame = ln.ULabel.df(include="created_by__handle", limit=None)
    assert set(frame["created_by__handle"]) == {"anna", ln.settings.user.handle}


def test_include_seed_example(db):
    frame = ln.ULabel.filter().df(include=["created_by__name"], limit=None)
    assert len(frame) == 105 and "created_by__name" in frame.columns


def test_include_deep_fk_and_join(db):
    inner = ln.Artifact.df(include="run__transform__key", join="inner")
    assert inner["run__transform__key"].to_dict() == {3: "pipeline", 1: "pipeline"}  # a2 has no run
    left = ln.Artifact.df(include="run__transform__key", join="left")
    assert list(left.index) == [3, 2, 1] and pd.isna(left.loc[2, "run__transform__key"])
    assert left.loc[1, "run__transform__key"] == left.loc[3, "run__transform__key"] == "pipeline"
    assert list(ln.Artifact.df(include="run__transform__key", join="outer").index) == [3, 2, 1]


def test_include_many_to_many_gives_a_set_per_record(db):
    inner = ln.Artifact.df(include="ulabels__name", join="inner")
    assert inner["ulabels__name"].to_dict() == {3: {"Label 2"}, 1: {"Label 1", "Label 2"}}
    left = ln.Artifact.df(include=["ulabels__name"], join="left")
    assert left["ulabels__name"].to_dict() == {3: {"Label 2"}, 2: set(), 1: {"Label 1", "Label 2"}}
    ids = ln.Artifact.df(include="ulabels", join="left")["ulabels"].to_dict()
    label1, label2 = ln.ULabel.get(name="Label 1").id, ln.ULabel.get(name="Label 2").id
    assert ids == {3: {label2}, 2: set(), 1: {label1, label2}}


def test_include_reverse_relations(db):
    frame = ln.ULabel.filter(name__in=["Label 1", "Label 2", "Label 3"]).df(include="artifacts__key", join="left")
    by_name = dict(zip(frame["name"], frame["artifacts__key"], strict=True))
    assert by_name == {"Label 1": {"a1"}, "Label 2": {"a1", "a3"}, "Label 3": set()}
    users = ln.User.df(include="created_ulabels__name", join="left")
    anna = users[users["handle"] == "anna"].iloc[0]
    assert anna["created_ulabels__name"] == {f"Label {i}" for i in range(5)}
    children = bt.CellType.df(include=["parents__name", "children__name"], join="left")
    by_name = {row["name"]: (row["parents__name"], row["children__name"]) for _, row in children.iterrows()}
    assert by_name == {"T cell": ({"lymphocyte"}, set()), "lymphocyte": (set(), {"T cell"})}


def test_include_with_limit_bounds_the_join(db):
    frame = ln.ULabel.df(include="artifacts__key", join="left", limit=3)
    assert len(frame) == 3 and list(frame.index) == [105, 104, 103]


def test_df_errors(db):
    with pytest.raises(FieldError, match="Unknown field 'nme' on User"):
        ln.ULabel.df(include="created_by__nme")
    with pytest.raises(ValidationError, match="join must be"):
        ln.ULabel.df(include="created_by__name", join="cross")
    with pytest.raises(InvalidArgument, match="limit"):
        ln.ULabel.df(limit=-1)
    with pytest.raises(FieldError, match="already a column"):
        ln.ULabel.df(include="name")


def test_ranked_query_set_df_has_a_score_column_in_rank_order(db):
    ids = np.array([ln.ULabel.get(name=n).id for n in ["Label 9", "Label 3", "Label 50"]])
    ranked = ln.ULabel.filter()._ranked(ids, np.array([0.9, 0.5, 0.1]))
    frame = ranked.df()
    assert list(frame["name"]) == ["Label 9", "Label 3", "Label 50"]
    assert frame["score"].tolist() == [0.9, 0.5, 0.1] and frame.columns[-1] == "score"
    assert [r.name for r in ranked] == ["Label 9", "Label 3", "Label 50"]
    assert ranked.count() == 3 and ranked.first().name == "Label 9" and ranked.last().name == "Label 50"
    assert [r.name for r in ranked.filter(name__endswith="0")] == ["Label 50"]
    assert list(ranked.order_by("name").df()["name"]) == ["Label 3", "Label 50", "Label 9"]
    assert list(ranked[1:].df()["name"]) == ["Label 3", "Label 50"]
    # a scope query set restricts the ranking
    scoped = ln.ULabel.filter(description="even")._ranked(ids, np.array([0.9, 0.5, 0.1]))
    assert list(scoped.df()["name"]) == ["Label 50"]


def test_ranked_join_takes_many_ids(db):
    all_ids = ln.ULabel.filter().values_list("id", flat=True)
    ids = np.array(all_ids[::-1])
    ranked = ln.ULabel.filter()._ranked(ids, np.linspace(1, 0, len(ids)))
    assert ranked._compile().params == []
    assert list(ranked.df(limit=2).index) == [105, 104]


def test_df_is_a_pandas_frame_with_plain_values(db):
    frame = ln.ULabel.filter(name="Label 0").df()
    assert isinstance(frame, pd.DataFrame)
    row = frame.iloc[0]
    assert row["name"] == "Label 0" and row["description"] == "even" and pd.isna(row["reference"])
