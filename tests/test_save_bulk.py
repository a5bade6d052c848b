"""Bulk ``ln.save``: the vectorised paths (all new, one registry) behave as the record-by-record ones."""

from __future__ import annotations

import pytest

import registry as ln
import registry.bio as bt
from registry.errors import InvalidArgument, ValidationError


def test_a_record_twice_in_a_long_list_is_refused(instance):
    records = [ln.ULabel(name=f"t{i}") for i in range(1500)]
    with pytest.raises(InvalidArgument, match="the same ULabel record appears twice"):
        ln.save(records + [records[1200]])
    assert ln.ULabel.filter().count() == 0


def test_a_bad_value_in_a_bulk_save_names_its_field(instance):
    records = [ln.ULabel(name=f"b{i}") for i in range(1500)]
    records[1234].__dict__["description"] = 5  # past the setter's check: Arrow refuses it at save
    with pytest.raises(ValidationError, match=r"ULabel\.description: a value does not fit"):
        ln.save(records)
    assert ln.ULabel.filter().count() == 0
    assert all(r.id is None for r in records)


def test_bulk_save_writes_back_ids_uids_times_and_fills_created_by_where_unset(instance):
    user = ln.settings.user.id
    other = ln.User(handle="someone-else").save()
    records = [ln.ULabel(name=f"w{i}") for i in range(20)]
    records[3].created_by_id = other.id
    ln.save(records)
    assert [r.created_by_id for r in records] == [other.id if i == 3 else user for i in range(20)]
    for r in records:
        saved = ln.ULabel.get(name=r.name)
        assert (r.id, r.uid, r.created_by_id) == (saved.id, saved.uid, saved.created_by_id)
        assert r.created_at == r.updated_at and r.created_at is not None


def test_loaded_records_in_a_mixed_list_are_skipped_and_changed_ones_updated(instance):
    ln.save([ln.ULabel(name=f"m{i}") for i in range(5)])
    loaded = list(ln.ULabel.filter(name__startswith="m").order_by("name"))
    loaded[2].description = "changed"
    fresh = [ln.ULabel(name=f"n{i}") for i in range(3)]
    ln.save(loaded + fresh)
    assert ln.ULabel.get(name="m2").description == "changed"
    assert ln.ULabel.filter(description="changed").count() == 1
    assert all(r.id is not None for r in fresh) and ln.ULabel.filter().count() == 8


def test_hand_built_bio_records_save_without_parent_links(instance):
    cells = [bt.CellType(name=f"cell {i}", ontology_id=f"CL:{i:07d}") for i in range(10)]
    ln.save(cells)
    assert bt.CellType.filter(name__startswith="cell ").count() == 10
    assert all(c.parents.count() == 0 for c in cells)
