"""``from_values`` returns a RecordList whose existing records are created on first access."""

from __future__ import annotations

import pandas as pd
import pytest

import registry as ln
import registry.bio as bt
from registry.curate import RecordList


@pytest.fixture
def labels(instance):
    ln.save([ln.ULabel(name=f"label {i}", description=f"d{i}") for i in range(50)])
    return ln.ULabel


def _pending(records: RecordList) -> bool:
    return records._data is None


def test_len_and_bool_do_not_create_records(labels):
    records = labels.from_values(["label 3", "label 1", "label 3", "nope"], mute=True)
    assert len(records) == 2 and bool(records)
    assert _pending(records)
    assert [r.name for r in records] == ["label 3", "label 1"]
    assert not _pending(records)


def test_behaves_like_a_list(labels):
    records = labels.from_values(["label 2", "label 0", "label 1"], mute=True)
    first = records[0]
    assert first is records[0]  # created once
    assert [r.name for r in records[1:]] == ["label 0", "label 1"]
    assert isinstance(records[1:], RecordList)
    assert records == list(records)
    assert records[-1].name == "label 1"
    records.append(ln.ULabel(name="extra"))
    assert len(records) == 4
    assert "RecordList([" in repr(records)


def test_df_without_objects_equals_df_of_objects(labels):
    lazy = labels.from_values(["label 4", "label 2"], mute=True)
    eager = labels.from_values(["label 4", "label 2"], mute=True)
    list(eager)  # create the records
    df_lazy, df_eager = lazy.df(), eager.df()
    assert _pending(lazy)
    assert list(df_lazy.columns) == list(df_eager.columns)
    assert df_lazy["name"].tolist() == ["label 4", "label 2"]
    pd.testing.assert_frame_equal(df_lazy, df_eager, check_dtype=False)


def test_save_writes_only_new_records(labels):
    records = labels.from_values(["label 1", "brand new", "label 2"], create=True, mute=True)
    version = labels._table_version()
    records.save()
    assert labels._table_version() == version + 1  # one commit: the one new record
    assert labels.validate(["brand new"], mute=True).all()
    assert [(r.name, r.id is not None) for r in records] == [("label 1", True), ("brand new", True), ("label 2", True)]


def test_ln_save_of_an_untouched_list_writes_nothing(labels):
    records = labels.from_values([f"label {i}" for i in range(20)], mute=True)
    version = labels._table_version()
    ln.save(records)
    assert labels._table_version() == version
    assert _pending(records)


def test_edited_records_are_saved(labels):
    records = labels.from_values(["label 5"], mute=True)
    records[0].description = "edited"
    ln.save(records)
    assert labels.get(name="label 5").description == "edited"


def test_records_come_from_the_snapshot_of_the_call(labels):
    records = labels.from_values(["label 7"], mute=True)
    labels.get(name="label 7").delete()
    assert records[0].name == "label 7"  # positions stay valid after later commits


def test_empty(labels):
    records = labels.from_values(["nope"], mute=True)
    assert len(records) == 0 and not records and records.df().empty
    assert records.save() is records


def test_bio_duplicate_names_are_all_returned(instance):
    ln.save([bt.CellType(name="dup", ontology_id="CL:1"), bt.CellType(name="dup", ontology_id="CL:2")])
    records = bt.CellType.from_values(["dup"], mute=True)
    assert len(records) == 2 and _pending(records)
    assert sorted(r.ontology_id for r in records) == ["CL:1", "CL:2"]
