"""Records: typed fields, automatic fields, save/get/delete, constraints, relations, errors."""

from __future__ import annotations

import datetime as dt

import pytest

import registry as ln
import registry.bio as bt
from registry.errors import (
    DoesNotExist,
    FieldError,
    IntegrityError,
    InvalidArgument,
    MultipleResultsFound,
    RegistryError,
    ValidationError,
)
from registry.fields import JSON, Boolean, DateTime, Field, Float, Integer, String, field_name
from registry.record import Record


class Sample(Record):
    """A registry declared in a test, to exercise every field kind."""

    name = String(required=True)
    count = Integer()
    ratio = Float()
    ok = Boolean()
    taken_at = DateTime()
    meta = JSON()


def test_fields_are_objects_on_the_class_and_values_on_records(instance):
    assert isinstance(ln.ULabel.name, Field)
    assert field_name(bt.Gene.symbol) == "symbol" and field_name("name") == "name"
    label = ln.ULabel(name="a")
    assert label.name == "a" and label.description is None


@pytest.mark.parametrize(
    "registry, length",
    [
        (ln.User, 8),
        (ln.ULabel, 8),
        (ln.Transform, 16),
        (ln.Run, 16),
        (ln.Artifact, 20),
        (bt.CellType, 14),
        (bt.Gene, 14),
    ],
)
def test_uid_length_per_registry(instance, registry, length):
    kwargs = {
        "ULabel": {"name": "x"},
        "User": {"handle": "someone"},
        "Transform": {"key": "t.py"},
        "CellType": {"name": "c"},
    }
    record = registry(**kwargs.get(registry.__name__, {}))
    record.save()
    assert len(record.uid) == length and record.uid.isalnum()


def test_unknown_field_suggests_the_closest(instance):
    with pytest.raises(FieldError, match="unknown field 'nme' on ULabel; did you mean 'name'"):
        ln.ULabel(nme="x")
    with pytest.raises(AttributeError):  # FieldError is also an AttributeError
        ln.ULabel(nme="x")


def test_wrong_types_raise_validation_error(instance):
    with pytest.raises(ValidationError, match="ULabel.name expects str, got int 5"):
        ln.ULabel(name=5)
    with pytest.raises(ValidationError):
        Sample(name="s", count="3")
    with pytest.raises(ValidationError):
        Sample(name="s", ok=1)
    with pytest.raises(ValueError):  # also a ValueError
        ln.Artifact(size=1.5)
    with pytest.raises(ValidationError, match="requires 'name'"):
        ln.ULabel(description="no name")
    with pytest.raises(ln.errors.FieldValidationError, match="Use keyword arguments instead of positional"):
        ln.ULabel("positional")


def test_every_field_kind_round_trips(instance):
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    s = Sample(name="s1", count=3, ratio=2, ok=True, taken_at=when, meta={"a": [1, 2]})
    s.save()
    got = Sample.get(s.id)
    assert (got.count, got.ratio, got.ok, got.taken_at, got.meta) == (3, 2.0, True, when, {"a": [1, 2]})
    assert isinstance(got.ratio, float)


def test_automatic_fields_and_created_by(instance):
    label = ln.ULabel(name="auto")
    uid = label.uid  # uids exist from construction (LaminDB) and are kept by save()
    assert label.id is None and isinstance(uid, str) and len(uid) == 8
    label.save()
    assert label.uid == uid and ln.ULabel.get(uid).name == "auto"
    assert label.id == 1 and label.created_at is not None and label.updated_at == label.created_at
    assert label.created_by == ln.settings.user
    assert ln.settings.user.handle == "testuser"
    assert label.created_by_id == ln.settings.user.id


def test_get_by_id_uid_prefix_and_fields(instance):
    ln.save([ln.ULabel(name=f"label {i}") for i in range(20)])
    target = ln.ULabel.get(name="label 7")
    assert ln.ULabel.get(target.id) == target
    assert ln.ULabel.get(target.uid) == target
    assert ln.ULabel.get(target.uid[:7]) == target
    assert ln.ULabel.get(name="label 7", description=None) == target
    with pytest.raises(DoesNotExist, match=r"Did you forget a keyword as in ULabel.get\(name='label 7'\)"):
        ln.ULabel.get("label 7")
    with pytest.raises(LookupError):  # DoesNotExist is a LookupError
        ln.ULabel.get(name="absent")
    with pytest.raises(DoesNotExist, match="id=999"):
        ln.ULabel.get(999)
    with pytest.raises(MultipleResultsFound):
        ln.ULabel.get("")
    with pytest.raises(InvalidArgument):
        ln.ULabel.get(1.5)


def test_get_through_related_fields_uses_queries(instance):
    ln.ULabel(name="mine").save()
    assert ln.ULabel.get(created_by__handle="testuser").name == "mine"
    ln.ULabel(name="mine too").save()
    with pytest.raises(MultipleResultsFound):
        ln.ULabel.get(created_by__handle="testuser")


def test_integrity_error_names_the_field_and_existing_uid_and_writes_nothing(instance):
    first = ln.ULabel(name="dup")
    first.save()
    # _skip_validation: a second "dup" record, not the saved one the constructor would return
    batch = [ln.ULabel(name="fresh"), ln.ULabel(name="dup", _skip_validation=True)]
    with pytest.raises(IntegrityError, match=f"name='dup' already exists \\(uid '{first.uid}'\\)"):
        ln.save(batch)
    assert [r.id for r in batch] == [None, None]
    assert len(ln.ULabel._snapshot()) == 1
    with pytest.raises(IntegrityError, match="share name='x'"):
        ln.save([ln.ULabel(name="x"), ln.ULabel(name="x")])
    assert len(ln.ULabel._snapshot()) == 1


def test_bulk_save_is_one_commit(instance):
    before = ln.ULabel._table_version()
    records = [ln.ULabel(name=f"n{i}") for i in range(5000)]
    ln.save(records)
    assert ln.ULabel._table_version() == before + 1
    assert [r.id for r in records] == list(range(1, 5001))
    assert len({r.uid for r in records}) == 5000


def test_update_refresh_and_delete(instance):
    label = ln.ULabel(name="old")
    label.save()
    copy = ln.ULabel.get(label.id)
    label.description = "changed"
    label.save()
    assert copy.description is None
    copy.refresh_from_db()
    assert copy.description == "changed"
    label.delete()
    assert label.id is None
    with pytest.raises(DoesNotExist):
        ln.ULabel.get(copy.id)


def test_equality_hash_and_repr(instance):
    a = ln.ULabel(name="eq")
    b = ln.ULabel(name="eq")
    assert a != b  # unsaved records are equal only to themselves
    a.save()
    again = ln.ULabel.get(a.id)
    assert again == a and hash(again) == hash(a) and len({a, again}) == 1
    text = repr(again)
    assert text.startswith("ULabel(uid='") and "name='eq'" in text and "created_by_id=" in text
    assert "updated_at" not in text


def test_foreign_keys_and_reverse_relations(instance):
    transform = ln.Transform(key="pipeline.py")
    transform.save()
    run = ln.Run(transform=transform, reference="run 1")
    run.save()
    artifact = ln.Artifact(key="data.parquet", run=run, size=10)
    artifact.save()
    got = ln.Artifact.get(artifact.id)
    assert got.run == run and got.run.transform == transform and got.run_id == run.id
    user = ln.settings.user
    assert [a.key for a in user.created_artifacts] == ["data.parquet"]
    assert user.created_transforms.count() == 1 and user.created_runs.count() == 1
    with pytest.raises(ValidationError, match="not saved yet"):
        ln.Run(transform=ln.Transform(key="unsaved"))


def test_many_to_many_links_and_reverse(instance):
    labels = [ln.ULabel(name=n) for n in ("a", "b", "c")]
    ln.save(labels)
    artifact = ln.Artifact(key="x")
    artifact.save()
    artifact.ulabels.add(labels[0], labels[1])
    artifact.ulabels.add(labels[1])  # no duplicate link
    assert sorted(r.name for r in artifact.ulabels.all()) == ["a", "b"]
    assert [a.key for a in labels[0].artifacts] == ["x"]
    artifact.ulabels.remove(labels[0])
    assert [r.name for r in artifact.ulabels.all()] == ["b"]
    labels[1].delete()
    assert list(artifact.ulabels.all()) == []


def test_ontology_parents_self_many_to_many(instance):
    t = bt.CellType(name="T cell", ontology_id="CL:0000084")
    lym = bt.CellType(name="lymphocyte", ontology_id="CL:0000542")
    ln.save([t, lym])
    t.parents.add(lym)
    assert [p.name for p in t.parents.all()] == ["lymphocyte"]
    assert [c.name for c in lym.children] == ["T cell"]


def test_class_only_methods_refuse_instances(instance):
    label = ln.ULabel(name="x")
    with pytest.raises(TypeError, match=r"ULabel.validate\(\) is a class method"):
        label.validate(["x"])


def test_errors_share_one_root():
    for exc in (DoesNotExist, MultipleResultsFound, ValidationError, FieldError, IntegrityError, InvalidArgument):
        assert issubclass(exc, RegistryError)
    assert ln.errors.DoesNotExist is DoesNotExist


def test_missing_attribute_suggests(instance):
    with pytest.raises(FieldError, match="did you mean 'name'"):
        ln.ULabel(name="x").nmae  # noqa: B018 (the access is what raises)


def test_saving_a_record_deleted_elsewhere_fails_cleanly(instance):
    label = ln.ULabel(name="gone")
    label.save()
    ln.ULabel.get(label.id).delete()
    label.description = "edit"
    with pytest.raises(DoesNotExist, match="deleted"):
        label.save()
    assert len(ln.ULabel._snapshot()) == 0


def test_insert_arrow_bulk_path(instance):
    import pyarrow as pa

    ids = ln.ULabel._insert_arrow(pa.table({"name": ["x", "y"], "description": ["dx", None]}))
    assert ids.tolist() == [1, 2]
    assert ln.ULabel.get(name="y").created_by == ln.settings.user
    with pytest.raises(IntegrityError):
        ln.ULabel._insert_arrow(pa.table({"name": ["x"]}))
    with pytest.raises(FieldError, match="nmae"):
        ln.ULabel._insert_arrow(pa.table({"nmae": ["z"]}))


def test_loaded_records_are_lazy_but_behave_like_records(instance):
    ln.save([ln.ULabel(name=f"lazy {i}", description=f"d{i}") for i in range(100)])
    records = ln.ULabel.filter(name__startswith="lazy").order_by("id").list()
    assert "_batch" in records[5].__dict__  # not converted yet
    assert records[5] == ln.ULabel.get(name="lazy 5") and "_batch" in records[5].__dict__
    version = ln.ULabel._table_version()
    ln.save(records)  # untouched records are unchanged: nothing to write
    assert ln.ULabel._table_version() == version
    records[7].description = "edited"  # assignment fills the record first, then changes it
    assert records[7].name == "lazy 7"
    ln.save(records)
    assert ln.ULabel._table_version() == version + 1
    assert ln.ULabel.get(name="lazy 7").description == "edited"
    assert ln.ULabel.get(name="lazy 8").description == "d8"
    assert repr(records[9]).startswith("ULabel(uid=")


def test_mixed_save_failure_saves_nothing(instance):
    ln.ULabel(name="taken").save()
    with pytest.raises(IntegrityError, match="nothing was saved"):
        ln.save([ln.Transform(key="t.py"), ln.ULabel(name="taken", _skip_validation=True)])
    assert ln.Transform.filter(key="t.py").count() == 0  # one transaction over both registries


def test_reading_one_field_of_a_lazy_record_reads_only_that_column(instance):
    ln.save([Sample(name=f"s{i}", count=i, meta={"i": i}) for i in range(20)])
    records = Sample.filter(name__startswith="s").order_by("id").list()
    r = records[3]
    assert r.name == "s3" and r.meta == {"i": 3}  # JSON decoded on a single-field read
    assert "_batch" in r.__dict__ and "count" not in r.__dict__  # the rest is not filled
    batch = r.__dict__["_batch"]
    converted = {name for name, col in zip(batch.names, batch.columns, strict=True) if col is not None}
    assert converted == {"name", "meta"}
    version = Sample._table_version()
    ln.save(records)  # reading changes nothing: nothing to write
    assert Sample._table_version() == version
    r.count = 99  # a write fills the record first
    assert "_batch" not in r.__dict__ and r.name == "s3" and r.meta == {"i": 3}
    r.save()
    got = Sample.get(name="s3")
    assert (got.count, got.meta, got.name) == (99, {"i": 3}, "s3")
    assert records[4].count == 4 and records[4].ratio is None
