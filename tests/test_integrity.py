"""Referential integrity: dangling foreign keys are refused, deletes follow ``on_delete``."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry as ln
from registry.errors import IntegrityError, InvalidArgument
from registry.fields import ForeignKey, String
from registry.model_map import _SCHEMA_CACHE, REGISTRIES
from registry.record import Record


def test_saving_a_dangling_foreign_key_is_refused(instance):
    with pytest.raises(IntegrityError, match=r"created_by_id=999 .*no User has this id.*nothing was saved"):
        ln.ULabel(name="x", created_by_id=999).save()
    assert ln.ULabel.filter(name="x").count() == 0


def test_bulk_save_with_dangling_ids_writes_nothing(instance):
    records = [ln.ULabel(name=f"y{i}") for i in range(100)]
    records[7].created_by_id = 555
    records[9].created_by_id = 556
    with pytest.raises(IntegrityError, match=r"2 ULabel records point to no User: ULabel.created_by_id=555, 556"):
        ln.save(records)
    assert ln.ULabel.filter().count() == 0
    assert all(r.id is None for r in records)


def test_insert_arrow_checks_foreign_keys(instance):
    with pytest.raises(IntegrityError, match="created_by_id=77"):
        ln.ULabel._insert_arrow({"name": ["a", "b"], "created_by_id": [1, 77]})
    assert ln.ULabel.filter().count() == 0


def test_updating_to_a_dangling_id_is_refused(instance):
    label = ln.ULabel(name="a").save()
    label.created_by_id = 12345
    with pytest.raises(IntegrityError, match="12345"):
        label.save()
    assert ln.ULabel.get(name="a").created_by_id == ln.settings.user.id


def test_valid_references_save(instance):
    other = ln.User(handle="other").save()
    label = ln.ULabel(name="mine", created_by=other).save()
    assert ln.ULabel.get(label.id).created_by.handle == "other"
    transform = ln.Transform(key="t").save()
    run = ln.Run(transform=transform).save()
    assert ln.Run.get(run.id).transform == transform


def test_deleting_a_referenced_user_is_refused(instance):
    other = ln.User(handle="other").save()
    ln.ULabel(name="by other", created_by=other).save()
    with pytest.raises(IntegrityError, match=r"cannot delete User id=\d+: 1 ULabel record .*PROTECT") as info:
        other.delete()
    assert "ln.ULabel.filter(created_by_id=" in str(info.value)
    # nothing was deleted, and the relation still resolves
    assert ln.User.filter(handle="other").count() == 1
    assert ln.ULabel.get(name="by other").created_by.handle == "other"
    with pytest.raises(IntegrityError):
        ln.User.filter(handle="other").delete()
    ln.ULabel.filter(created_by=other).delete()
    other.delete()
    assert ln.User.filter(handle="other").count() == 0


def test_cascade_deletes_runs_with_their_transform(instance):
    transform = ln.Transform(key="pipeline").save()
    runs = [ln.Run(transform=transform).save() for _ in range(3)]
    keep = ln.Run(transform=ln.Transform(key="other").save()).save()
    transform.delete()
    assert ln.Run.filter().count() == 1
    assert ln.Run.filter().one().id == keep.id
    assert all(not ln.Run.filter(id=r.id).exists() for r in runs)


def test_cascade_stops_at_protect_and_nothing_is_deleted(instance):
    transform = ln.Transform(key="pipeline").save()
    run = ln.Run(transform=transform).save()
    ln.Artifact(key="out.csv", run=run).save()
    with pytest.raises(IntegrityError, match=r"Artifact record .* Run id .* Artifact.run .*PROTECT"):
        transform.delete()
    assert ln.Transform.filter(key="pipeline").count() == 1
    assert ln.Run.filter(id=run.id).count() == 1


def test_link_rows_follow_either_record(instance):
    label = ln.ULabel(name="lab").save()
    a, b = ln.Artifact(key="a").save(), ln.Artifact(key="b").save()
    a.ulabels.add(label)
    b.ulabels.add(label)
    assert ln.sql("SELECT count(*) AS n FROM artifact_ulabels").to_pylist() == [{"n": 2}]
    a.delete()
    assert ln.sql("SELECT count(*) AS n FROM artifact_ulabels").to_pylist() == [{"n": 1}]
    label.delete()
    assert ln.sql("SELECT count(*) AS n FROM artifact_ulabels").to_pylist() == [{"n": 0}]


def test_on_delete_is_checked_where_it_is_declared():
    with pytest.raises(InvalidArgument, match="on_delete"):
        ForeignKey("User", on_delete="RESTRICT")
    with pytest.raises(InvalidArgument, match="null=True"):
        ForeignKey("User", null=False, on_delete="SET_NULL")
    assert ln.ULabel.created_by.on_delete == "PROTECT"
    assert ln.Run.transform.on_delete == "CASCADE"
    assert ln.Artifact.run.on_delete == "PROTECT"


@pytest.fixture
def notes(instance):
    """A registry with SET_NULL and self-CASCADE relations, removed again after the test."""
    before = dict(REGISTRIES)

    class IntegrityNote(Record):
        text = String()
        label = ForeignKey("ULabel", on_delete="SET_NULL", related_name="integrity_notes")
        parent = ForeignKey("IntegrityNote", on_delete="CASCADE", related_name="integrity_children")

    _SCHEMA_CACHE.clear()
    yield IntegrityNote
    for name in set(REGISTRIES) - set(before):
        REGISTRIES.pop(name)
    for attr in ("integrity_notes",):
        if attr in ln.ULabel.__dict__:
            delattr(ln.ULabel, attr)
    _SCHEMA_CACHE.clear()


def test_set_null_clears_the_reference_in_the_same_transaction(notes):
    label = ln.ULabel(name="topic").save()
    kept = ln.ULabel(name="kept").save()
    n1 = notes(text="a", label=label).save()
    n2 = notes(text="b", label=label).save()
    n3 = notes(text="c", label=kept).save()
    label.delete()
    assert notes.get(n1.id).label_id is None
    assert notes.get(n2.id).label_id is None
    assert notes.get(n3.id).label_id == kept.id
    assert notes.filter().count() == 3


def test_self_cascade_deletes_the_subtree(notes):
    root = notes(text="root").save()
    child = notes(text="child", parent=root).save()
    notes(text="grandchild", parent=child).save()
    other = notes(text="other").save()
    root.delete()
    assert notes.filter().list() == [other]


def test_bulk_delete_of_a_whole_cascade_needs_no_order(notes):
    root = notes(text="root").save()
    notes(text="child", parent=root).save()
    assert notes.filter().delete() == 2
    assert notes.filter().count() == 0


def test_references_are_checked_in_bulk_against_sorted_ids():
    from registry.records.integrity import _present

    ids = np.array([1, 3, 5, 9], np.int64)
    values = np.array([0, 1, 2, 5, 9, 10], np.int64)
    assert _present(ids, values).tolist() == [False, True, False, True, True, False]
    assert _present(np.array([5, 1, 3], np.int64), values).tolist() == np.isin(values, [5, 1, 3]).tolist()
    assert _present(np.empty(0, np.int64), values).tolist() == [False] * 6


def test_linking_a_record_deleted_elsewhere_is_refused(instance):
    artifact = ln.Artifact(key="a").save()
    label = ln.ULabel(name="lab").save()
    ln.ULabel.get(label.id).delete()  # another handle on the same record deletes it
    with pytest.raises(IntegrityError, match=r"cannot link Artifact id=\d+ to ULabel id \d+: no such ULabel"):
        artifact.ulabels.add(label)
    assert ln.sql("SELECT count(*) AS n FROM artifact_ulabels").to_pylist() == [{"n": 0}]
    gone = ln.Artifact.get(artifact.id)
    gone.delete()
    with pytest.raises(IntegrityError, match="no longer exists"):
        artifact.ulabels.add(ln.ULabel(name="fresh").save())
    assert ln.sql("SELECT count(*) AS n FROM artifact_ulabels").to_pylist() == [{"n": 0}]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_deletes_match_a_naive_model(notes, data):
    """CASCADE over a random forest and SET_NULL from a deleted label, against a plain model."""
    n = data.draw(st.integers(1, 10), label="n")
    parents = [None] + [data.draw(st.none() | st.integers(0, i - 1)) for i in range(1, n)]
    label_of = [data.draw(st.sampled_from([None, 0, 1])) for _ in range(n)]
    kill = data.draw(st.sets(st.integers(0, n - 1), max_size=n), label="kill")
    kill_label = data.draw(st.sampled_from([None, 0, 1]), label="kill_label")

    notes.filter().delete()
    tag = uuid.uuid4().hex[:8]
    labels = [ln.ULabel(name=f"{tag}-{j}").save() for j in range(2)]
    ids = []
    for i in range(n):
        parent = None if parents[i] is None else notes.get(ids[parents[i]])
        label = None if label_of[i] is None else labels[label_of[i]]
        ids.append(notes(text=str(i), parent=parent, label=label).save().id)

    if kill:
        notes.filter(id__in=[ids[i] for i in kill]).delete()
    if kill_label is not None:
        labels[kill_label].delete()

    dead = set(kill)
    for i in range(n):  # parents come before children: one pass finds every descendant
        if parents[i] in dead:
            dead.add(i)
    left = {r.id: r for r in notes.filter().list()}
    assert set(left) == {ids[i] for i in range(n) if i not in dead}
    for i in range(n):
        if i in dead:
            continue
        r = left[ids[i]]
        want = None if label_of[i] is None or label_of[i] == kill_label else labels[label_of[i]].id
        assert r.label_id == want
        assert r.parent_id == (None if parents[i] is None else ids[parents[i]])


def test_a_failure_midway_through_a_cascade_deletes_nothing(instance, monkeypatch):
    """Fault injection: the cascade's tables are staged, then the link step fails; nothing lands."""
    import registry.records.integrity as integrity

    transform = ln.Transform(key="pipeline").save()
    runs = [ln.Run(transform=transform).save() for _ in range(3)]

    def fail(*args, **kwargs):
        raise RuntimeError("injected fault after the deletes were staged")

    monkeypatch.setattr(integrity, "delete_links", fail)
    with pytest.raises(RuntimeError, match="injected"):
        transform.delete()
    monkeypatch.undo()
    assert ln.Transform.filter(key="pipeline").count() == 1
    assert sorted(r.id for r in ln.Run.filter().list()) == sorted(r.id for r in runs)
    ln.Transform.get(key="pipeline").delete()  # and the instance still works
    assert ln.Run.filter().count() == 0


def test_a_registry_declared_after_first_use_is_seen_by_deletes(instance):
    label = ln.ULabel(name="early").save()  # the instance has registered its tables by now
    before = dict(REGISTRIES)
    try:

        class IntegrityLateNote(Record):
            text = String()
            label = ForeignKey("ULabel", related_name="integrity_late_notes")

        _SCHEMA_CACHE.clear()
        label.delete()  # PROTECT from a registry the instance had not seen: no rows, so allowed
        assert ln.ULabel.filter(name="early").count() == 0
        other = ln.ULabel(name="later").save()
        IntegrityLateNote(text="x", label=other).save()
        with pytest.raises(IntegrityError, match="IntegrityLateNote.label"):
            other.delete()
    finally:
        for name in set(REGISTRIES) - set(before):
            REGISTRIES.pop(name)
        if "integrity_late_notes" in ln.ULabel.__dict__:
            delattr(ln.ULabel, "integrity_late_notes")
        _SCHEMA_CACHE.clear()
