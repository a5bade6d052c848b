"""Conformance with LaminDB 2.x: code written for LaminDB runs after changing its imports.

One section per item of the compatibility issue; expected behaviour is LaminDB's as recorded in
the project's reference notes (LaminDB 2.12 / bionty 2.5), except where README.md's "Coming from
LaminDB" section names a deliberate difference.
"""

from __future__ import annotations

import logging
import os
import pydoc
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import registry as ln
import registry.bio as bt
from registry import errors


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG, logger="registry")
    return caplog


# -- 1. LaminDB 2.x names ----------------------------------------------------------------------
def test_error_classes_have_lamindbs_relations():
    assert errors.ObjectDoesNotExist is errors.DoesNotExist
    assert errors.MultipleObjectsReturned is errors.MultipleResultsFound
    assert issubclass(errors.FieldValidationError, errors.RegistryError)
    assert issubclass(errors.FieldValidationError, ValueError)  # LaminDB 1.x raised ValueError here
    assert issubclass(errors.InvalidArgument, errors.RegistryError)
    for model in (ln.ULabel, ln.Transform, bt.CellType, bt.Gene):
        assert issubclass(model.DoesNotExist, errors.ObjectDoesNotExist)
        assert issubclass(model.MultipleObjectsReturned, errors.MultipleObjectsReturned)
    assert ln.ULabel.DoesNotExist is not ln.Transform.DoesNotExist  # per registry, as Django


def test_per_registry_exceptions_are_raised_and_caught_both_ways(instance):
    ln.save([ln.ULabel(name="a"), ln.ULabel(name="ab")])
    with pytest.raises(ln.ULabel.DoesNotExist):
        ln.ULabel.get(name="nope")
    with pytest.raises(errors.DoesNotExist):
        ln.ULabel.get(12345)
    with pytest.raises(ln.ULabel.DoesNotExist, match="Did you forget a keyword"):
        ln.ULabel.get("zzzzzzzz")
    with pytest.raises(ln.ULabel.MultipleObjectsReturned):
        ln.ULabel.get(name__startswith="a")
    with pytest.raises(errors.MultipleObjectsReturned):
        ln.ULabel.filter(name__startswith="a").one()
    with pytest.raises(ln.ULabel.DoesNotExist):
        ln.ULabel.filter(name="nope").one()
    with pytest.raises(LookupError):  # and the built-in a stranger would catch
        ln.ULabel.get(name="nope")


def test_to_dataframe_to_list_and_objects(instance):
    ln.save([ln.ULabel(name=f"l{i}") for i in range(3)])
    pd.testing.assert_frame_equal(ln.ULabel.to_dataframe(), ln.ULabel.df())
    qs = ln.ULabel.filter(name__in=["l0", "l2"])
    pd.testing.assert_frame_equal(qs.to_dataframe(), qs.df())
    assert qs.order_by("name").to_list("name") == ["l0", "l2"]
    assert ln.ULabel.to_list("name") == ["l0", "l1", "l2"]
    assert [r.name for r in ln.ULabel.to_list()] == ["l0", "l1", "l2"]
    assert ln.ULabel.objects.get(name="l1").name == "l1"
    assert ln.ULabel.objects.filter(name__startswith="l").count() == 3
    assert ln.ULabel.objects.all().count() == 3
    assert ln.ULabel.objects.create(name="made").id is not None
    with pytest.raises(errors.InvalidArgument, match="through the class"):
        ln.ULabel.get(name="made").objects  # noqa: B018


def test_connect_is_using_and_ln_connect_switches_to_an_existing_instance(tmp_path):
    first = ln.init(tmp_path / "first")
    ln.ULabel(name="in first").save()
    second = ln.setup.init(storage=tmp_path / "second")  # LaminDB's ln.setup.init: creates and connects
    assert ln.settings.instance.root == second.root
    assert ln.ULabel.connect(str(first.root)).to_list("name") == ["in first"]
    assert ln.ULabel.filter().connect(str(first.root)).count() == 1
    with pytest.raises(errors.ReadOnlyError):
        ln.ULabel.connect(str(first.root)).delete()
    assert ln.connect(str(first.root)).root == first.root  # an existing instance becomes the default
    assert ln.ULabel.filter().to_list("name") == ["in first"]
    with pytest.raises(errors.InstanceError, match="ln.setup.init"):
        ln.connect(str(tmp_path / "typo"))
    assert not (tmp_path / "typo").exists()  # connect never creates
    with pytest.raises(errors.InvalidArgument, match="storage="):
        ln.setup.init()


def test_delete_permanent_on_records_and_query_sets(instance):
    ln.save([ln.ULabel(name=f"d{i}") for i in range(4)])
    ln.ULabel.get(name="d0").delete(permanent=True)
    assert ln.ULabel.filter(name="d0").count() == 0
    assert ln.ULabel.filter(name__in=["d1", "d2"]).delete(permanent=True) == 2
    with pytest.raises(errors.ValidationError, match="there is no trash"):
        ln.ULabel.get(name="d3").delete(permanent=False)
    with pytest.raises(errors.ValidationError, match="there is no trash"):
        ln.ULabel.filter().delete(permanent=False)
    assert ln.ULabel.filter().to_list("name") == ["d3"]  # the refused deletes wrote nothing


# -- 2. describe() ---------------------------------------------------------------------------------
def test_describe_record_registry_and_query_set(instance, capsys):
    label = ln.ULabel(name="described", description="text").save()
    art = ln.Artifact(key="a.csv").save()
    art.ulabels.add(label)
    text = label.describe(return_str=True)
    assert text.splitlines()[0] == f"ULabel  (uid '{label.uid}', id {label.id})"
    assert "name: 'described'" in text and "description: 'text'" in text
    assert "created_by: User(handle='testuser')" in text and "artifacts: 1 Artifact" in text
    reg = ln.ULabel.describe(return_str=True)
    assert reg.splitlines()[0] == "ULabel  (registry, table 'ulabel', 1 record)"
    assert "name: str unique, required  (name field)" in reg and "artifacts ↔ Artifact (many)" in reg
    qs = ln.ULabel.filter(name__startswith="desc").describe(return_str=True)
    assert qs.startswith("QuerySet of ULabel  (1 record") and "ULabel(name='described')" in qs
    assert label.describe() is None  # prints
    assert "described" in capsys.readouterr().out


def test_describe_draws_a_rich_tree_on_a_terminal(instance, monkeypatch, capsys):
    label = ln.ULabel(name="on a tty").save()
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    printed = []
    monkeypatch.setattr("rich.console.Console.print", lambda self, obj, *a, **k: printed.append(obj))
    assert label.describe() is None
    from rich.tree import Tree

    assert len(printed) == 1 and isinstance(printed[0], Tree)
    assert capsys.readouterr().out == ""  # the plain rendering was not printed as well


def test_describe_bio_record_shows_source_and_parents(instance):
    parent = bt.CellType(name="lymphocyte", ontology_id="CL:0000542").save()
    child = bt.CellType(name="T cell", ontology_id="CL:0000084").save()
    child.parents.add(parent)
    text = child.describe(return_str=True)
    assert "source: none" in text
    assert "parents: 1 CellType" in text and "'lymphocyte'" in text
    assert "children: 1 CellType" in parent.describe(return_str=True)


# -- 3. constructors -------------------------------------------------------------------------------
def test_constructor_returns_the_existing_record_so_save_adds_nothing(instance, log):
    first = bt.CellType(name="T cell", ontology_id="CL:0000084").save()
    again = bt.CellType(name="T cell")
    assert again.id == first.id and again.uid == first.uid
    assert "returning celltype with same name: 'T cell'" in log.text
    again.save()
    assert bt.CellType.filter(name="T cell").count() == 1
    assert bt.CellType.get(name="T cell") == first  # no MultipleResultsFound
    label = ln.ULabel(name="x").save()
    assert ln.ULabel(name="x", description="new") == label  # differing values are set on it
    assert ln.ULabel(name="x", description="new").save() and ln.ULabel.get(name="x").description == "new"
    assert ln.ULabel.filter().count() == 1


def test_unique_name_registries_keep_the_integrity_error(instance):
    early = ln.ULabel(name="race")  # constructed before anyone saved "race"
    ln.ULabel(name="race").save()
    with pytest.raises(errors.IntegrityError, match="name='race' already exists"):
        early.save()


def test_existing_lookup_sees_commits_right_away_and_many_constructions(instance):
    ln.save([ln.ULabel(name=f"n{i}") for i in range(300)])
    built = [ln.ULabel(name=f"n{i}") for i in range(300)] + [ln.ULabel(name="brand new")]
    assert [r.id for r in built[:300]] == list(range(1, 301))  # index path after 64 lookups
    assert built[-1].id is None
    built[-1].save()
    assert ln.ULabel(name="brand new").id == built[-1].id  # own commit seen immediately
    ln.save(built)
    assert ln.ULabel.filter().count() == 301


def test_uids_exist_from_construction_and_are_kept(instance):
    label = ln.ULabel(name="u")
    uid = label.uid
    assert isinstance(uid, str) and len(uid) == ln.ULabel._uid_length
    assert f"uid='{uid}'" in repr(label)
    label.save()
    assert label.uid == uid and ln.ULabel.get(uid) == label
    assert len(ln.Transform(key="t").uid) == 16
    assert bt.CellType(name="T cell", ontology_id="CL:0000084").uid == "22LvKd01YyNA1a"  # bionty's hash


def test_positional_arguments_and_unknown_fields(instance):
    with pytest.raises(
        errors.FieldValidationError,
        match=r"Use keyword arguments instead of positional arguments, e\.g\.: ULabel\(name='...'\)",
    ):
        ln.ULabel("label")
    with pytest.raises(errors.FieldValidationError, match="Only .*name.* are valid keyword arguments"):
        ln.ULabel(nam="x")
    transform = ln.Transform(key="pipeline.py").save()
    run = ln.Run(transform).save()
    assert run.transform == transform
    with pytest.raises(errors.FieldValidationError, match="Only transform may be positional"):
        ln.Run(transform, "extra")


def test_transform_has_lamindb_2x_fields_and_checks(instance):
    t = ln.Transform(key="pipelines/qc.py", kind="script", version_tag="1", source_code="print(1)", description="QC")
    t.save()
    got = ln.Transform.get(key="pipelines/qc.py")
    assert (got.kind, got.version_tag, got.source_code, got.description) == ("script", "1", "print(1)", "QC")
    assert ln.Transform(key="p").kind == "pipeline"
    assert ln.Transform(key="old", type="notebook", version="2").kind == "notebook"  # LaminDB's older names
    with pytest.raises(errors.ValidationError, match="Relative path segment '..'"):
        ln.Transform(key="a/../b")
    with pytest.raises(errors.ValidationError, match="Backslashes"):
        ln.Transform(key="a\\b")
    with pytest.raises(errors.FieldValidationError, match="Valid values are: function, notebook, pipeline, script"):
        ln.Transform(key="k", kind="workflow")
    assert ln.Transform(key="pipelines/qc.py", version_tag="1") == got
    assert ln.Transform(key="pipelines/qc.py", version_tag="2").id is None  # a new version


def test_save_accepts_batch_size(instance):
    ln.save([ln.ULabel(name=f"b{i}") for i in range(25)], batch_size=10)
    assert ln.ULabel.filter().count() == 25
    with pytest.raises(errors.InvalidArgument, match="batch_size"):
        ln.save([ln.ULabel(name="c")], batch_size=0)


# -- 4. query results ------------------------------------------------------------------------------
def test_include_keeps_records_without_related_values(instance):
    t = ln.Transform(key="t").save()
    run = ln.Run(t).save()
    with_run = ln.Artifact(key="with run", run=run).save()
    without = ln.Artifact(key="without run").save()
    label = ln.ULabel(name="lab").save()
    with_run.ulabels.add(label)
    frame = ln.Artifact.df(include=["run__transform__key", "ulabels__name"])
    assert set(frame.index) == {with_run.id, without.id}  # LaminDB 2.12 keeps both (left join)
    assert pd.isna(frame.loc[without.id, "run__transform__key"])
    assert frame.loc[without.id, "ulabels__name"] == set()
    assert frame.loc[with_run.id, "ulabels__name"] == {"lab"}
    assert list(ln.Artifact.df(include="run__transform__key", join="inner").index) == [with_run.id]


def test_one_default_limit_with_lamindbs_warning(instance, log):
    ln.save([ln.ULabel(name=f"r{i}") for i in range(105)])
    assert len(ln.ULabel.df()) == len(ln.ULabel.filter().df()) == len(ln.ULabel.to_dataframe()) == 100
    assert log.text.count("truncated query result to limit=100 ULabel objects") == 3
    log.clear()
    assert len(ln.ULabel.df(limit=None)) == len(ln.ULabel.filter().df(limit=None)) == 105
    assert len(ln.ULabel.df(limit=5)) == 5 and "truncated" not in log.text  # only the default warns
    assert list(ln.ULabel.filter().df(limit=3).index) == [105, 104, 103]  # newest first


def test_abstract_record_gives_a_clear_error(instance):
    for call in (ln.Record.filter, ln.Record.df, ln.Record.all, lambda: ln.Record.get(1)):
        with pytest.raises(errors.InvalidArgument, match="abstract base class"):
            call()


def test_filter_and_get_agree_on_a_number_for_a_text_field(instance):
    ln.ULabel(name="1").save()
    assert ln.ULabel.filter(name=1).to_list("name") == ["1"]
    assert ln.ULabel.get(name=1).name == "1"
    with pytest.raises(ln.ULabel.DoesNotExist):
        ln.ULabel.get(name=2)
    assert ln.ULabel.filter(name=2).count() == 0


# -- 6. docstrings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method",
    [
        bt.CellType.standardize,
        bt.CellType.validate,
        bt.CellType.inspect,
        bt.CellType.from_values,
        bt.CellType.lookup,
        bt.CellType.search,
        ln.ULabel.filter,
        ln.ULabel.get,
        ln.ULabel.df,
        ln.ULabel.to_dataframe,
        ln.ULabel.using,
        ln.ULabel.connect,
        ln.ULabel.describe,
        ln.save,
    ],
    ids=lambda m: m.__name__,
)
def test_public_class_methods_document_parameters_returns_and_examples(method):
    doc = pydoc.render_doc(method, renderer=pydoc.plaintext)
    assert "Returns\n" in doc and "Examples\n" in doc and ">>> " in doc


def test_help_lists_every_standardize_parameter_and_the_filter_lookups():
    doc = pydoc.render_doc(bt.CellType.standardize, renderer=pydoc.plaintext)
    for name in (
        "values",
        "field",
        "return_field",
        "return_mapper",
        "case_sensitive",
        "mute",
        "public_aware",
        "keep",
        "synonyms_field",
        "organism",
        "source",
    ):
        assert f"\n    {name}\n" in doc.replace("\n        ", "\n    "), name
    doc = pydoc.render_doc(ln.ULabel.filter, renderer=pydoc.plaintext)
    for lookup in ("icontains", "startswith", "in", "isnull", "regex", "range"):
        assert f"``{lookup}``" in doc


# -- done when: a LaminDB 2.x script runs after changing its imports ---------------------------------
LAMINDB_SCRIPT = """
import lamindb as ln
import bionty as bt

transform = ln.Transform(key="scripts/annotate.py", kind="script").save()
run = ln.Run(transform).save()

labels = [ln.ULabel(name=name) for name in ["benchmark", "prediction", "test"]]
ln.save(labels, batch_size=1000)
assert ln.ULabel(name="benchmark").id == labels[0].id        # returns the saved record

df = ln.ULabel.filter(name__startswith="b").to_dataframe(include="created_by__handle")
assert df["name"].tolist() == ["benchmark"]
assert ln.ULabel.filter(ln.Q(name="test") | ln.Q(name="prediction")).count() == 2
assert ln.ULabel.search("predict").to_list("name")[0] == "prediction"
assert sorted(ln.ULabel.filter().to_list("name")) == ["benchmark", "prediction", "test"]
try:
    ln.ULabel.get(name="nope")
except ln.ULabel.DoesNotExist:
    pass
try:
    ln.ULabel.get(name="nope")
except ln.errors.ObjectDoesNotExist:
    pass

records = [
    bt.CellType(name="T cell", ontology_id="CL:0000084", synonyms="T-cell|T lymphocyte"),
    bt.CellType(name="B cell", ontology_id="CL:0000236", synonyms="B lymphocyte"),
]
ln.save(records)
assert bt.CellType.validate(["T cell", "T-cell"], mute=True).tolist() == [True, False]
assert bt.CellType.standardize(["T-cell", "b lymphocyte"], from_source=False) == ["T cell", "B cell"]
result = bt.CellType.inspect(["T cell", "T lymphocyte", "foo"], mute=True, from_source=False)
assert result.validated == ["T cell"] and result.synonyms_mapper == {"T lymphocyte": "T cell"}
found = bt.CellType.from_values(["T cell", "B lymphocyte"], field=bt.CellType.name, mute=True)
assert sorted(r.name for r in found) == ["B cell", "T cell"]
assert bt.CellType.lookup().t_cell.ontology_id == "CL:0000084"
t_cell = bt.CellType.get(name="T cell")
t_cell.add_synonym("T cells", force=True)  # force: LaminDB's conflict check needs IPython
assert "T cells" in bt.CellType.get(name="T cell").synonyms
text = t_cell.describe(return_str=True)
assert "T cell" in text
ln.ULabel.get(name="test").delete(permanent=True)
assert ln.ULabel.filter(name="test").count() == 0
"""


def test_a_lamindb_2x_script_runs_after_changing_its_imports(instance):
    ported = LAMINDB_SCRIPT.replace("import lamindb as ln", "import registry as ln").replace(
        "import bionty as bt", "import registry.bio as bt"
    )
    assert ported.count("import registry") == 2  # only the imports changed
    exec(compile(ported, "lamindb_script.py", "exec"), {})


LAMINDB_VENV = Path(__file__).resolve().parent.parent / "benchmarks" / ".venv-lamindb" / "bin"


@pytest.mark.slow
@pytest.mark.skipif(not (LAMINDB_VENV / "lamin").exists(), reason="no LaminDB venv (benchmarks/.venv-lamindb)")
def test_the_same_script_runs_on_lamindb_itself(tmp_path):
    """The script is real LaminDB code: it passes on LaminDB 2.x (offline SQLite instance)."""
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "LAMIN_ENV": os.environ.get("LAMIN_ENV", "prod")}
    run = {"cwd": home / "work", "env": env, "capture_output": True, "text": True, "timeout": 600}
    init = subprocess.run(
        [LAMINDB_VENV / "lamin", "init", "--storage", tmp_path / "inst", "--modules", "bionty"], **run
    )
    assert init.returncode == 0, init.stderr
    script = tmp_path / "script.py"
    script.write_text(LAMINDB_SCRIPT)
    done = subprocess.run([LAMINDB_VENV / "python", script], **run)
    assert done.returncode == 0, done.stderr[-3000:]
