"""``Record.using(instance)``: read-only query sets on another instance; the default never moves."""

from __future__ import annotations

import pytest

import registry as ln
from registry import QuerySet
from registry.errors import InstanceError, InvalidArgument, ReadOnlyError
from registry.records.queryset import related


@pytest.fixture
def two(tmp_path):
    """Instance 'other' with labels o0..o4, then 'main' (the default) with m0..m2."""
    other = tmp_path / "other"
    ln.init(other, name="lab/other")
    ln.save([ln.ULabel(name=f"o{i}", description="shared" if i < 2 else None) for i in range(5)])
    main = tmp_path / "main"
    ln.init(main)
    ln.save([ln.ULabel(name=f"m{i}") for i in range(3)])
    return main, other


def test_using_a_directory_reads_the_other_instance(two):
    main, other = two
    qs = ln.ULabel.using(other)
    assert isinstance(qs, QuerySet) and qs.read_only
    assert qs.count() == 5
    assert qs.filter(name__startswith="o").order_by("-name").list("name") == ["o4", "o3", "o2", "o1", "o0"]
    assert ln.ULabel.using(str(other)).filter(description="shared").count() == 2
    assert qs.df()["name"].tolist() == ["o4", "o3", "o2", "o1", "o0"]
    # the default instance did not move
    assert ln.settings.instance.root == main.resolve()
    assert ln.ULabel.filter().list("name") == ["m0", "m1", "m2"]


def test_using_a_registered_name(two):
    _, other = two
    assert ln.ULabel.using("lab/other").count() == 5
    assert ln.ULabel.using("lab/other").get(name="o3").name == "o3"


def test_using_records_are_bound_to_the_other_instance_and_read_only(two):
    _, other = two
    label = ln.ULabel.using(other).get(name="o1")
    assert label._instance.read_only and label._instance.root == other.resolve()
    label.description = "changed"
    with pytest.raises(ReadOnlyError):
        label.save()
    with pytest.raises(ReadOnlyError):
        ln.ULabel.using(other).filter(name="o1").delete()
    assert ln.ULabel.using(other).filter(name="o1").one().description == "shared"


def test_using_sees_later_commits_to_the_other_instance(two):
    main, other = two
    qs = ln.ULabel.using(other).filter(name__startswith="o")
    assert qs.count() == 5
    ln.init(other)
    ln.ULabel(name="o5").save()
    ln.init(main)
    assert qs.count() == 6


def test_using_keeps_filters_of_an_existing_query_set(two):
    _, other = two
    qs = ln.ULabel.filter(name__endswith="1").using(other)
    assert qs.list("name") == ["o1"]


def test_using_none_or_default_is_the_default_instance(two):
    main, _ = two
    qs = ln.ULabel.using(None)
    assert not qs.read_only and qs.instance.root == main.resolve() and qs.count() == 3
    assert ln.ULabel.using("default").count() == 3


def test_using_relations_and_traversal_on_the_other_instance(two):
    main, other = two
    ln.init(other)
    art = ln.Artifact(key="data")
    art.save()
    art.ulabels.add(ln.ULabel.get(name="o2"))
    ln.init(main)
    assert ln.Artifact.using(other).filter(ulabels__name="o2").list("key") == ["data"]
    assert ln.ULabel.using(other).df(include="artifacts__key", join="inner")["artifacts__key"].tolist() == [{"data"}]
    label = ln.ULabel.using(other).get(name="o2")
    assert related(label, "artifacts").list("key") == ["data"]
    assert ln.Artifact.filter().count() == 0  # nothing leaked into the default instance


def test_using_search_runs_on_the_other_instance(two):
    _, other = two
    hits = ln.ULabel.using(other).search("o3", field="name")
    assert hits.first().name == "o3" and hits.first()._instance.root == other.resolve()


def test_using_errors(two, tmp_path):
    with pytest.raises(InstanceError, match="not a directory and not a registered name"):
        ln.ULabel.using("nobody/nothing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InstanceError, match="no registry instance"):
        ln.ULabel.using(empty)
    with pytest.raises(InvalidArgument):
        ln.ULabel.using(42)


def test_using_reuses_one_read_only_instance_per_directory(two):
    _, other = two
    assert ln.ULabel.using(other).instance is ln.User.using(str(other)).instance


def test_instance_names_are_known_to_other_processes(tmp_path):
    import subprocess
    import sys

    ln.init(tmp_path / "named", name="my-named-instance")
    ln.ULabel(name="from the named instance").save()
    code = "import registry as ln; print(ln.ULabel.using('my-named-instance').get(name='from the named instance').name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "from the named instance"
