"""The command line: demo on a small column, the SQL console, info."""

from __future__ import annotations

from typer.testing import CliRunner

from registry.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_demo_curates_and_reports(tmp_path):
    result = runner.invoke(app, ["demo", "--n", "2000", "--path", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3,324 new CellType records" in out
    assert "validated after standardize" in out
    assert "top hit: 'lymphocyte'" in out
    again = runner.invoke(app, ["demo", "--n", "100", "--path", str(tmp_path / "demo")])
    assert "0 new CellType records" in again.output  # the import is idempotent


def test_sql_runs_parameterless_queries_over_registry_tables(tmp_path):
    import registry as ln

    ln.init(tmp_path / "sql")
    ln.save([ln.ULabel(name=n) for n in ("alpha", "beta")])
    result = runner.invoke(app, ["sql", "SELECT name FROM ulabel ORDER BY name DESC", "--path", str(tmp_path / "sql")])
    assert result.exit_code == 0, result.output
    assert result.output.index("beta") < result.output.index("alpha")
    bad = runner.invoke(app, ["sql", "SELECT nope FROM ulabel", "--path", str(tmp_path / "sql")])
    assert bad.exit_code == 0 and "error" in bad.output
    write = runner.invoke(app, ["sql", "DELETE FROM ulabel", "--path", str(tmp_path / "sql")])
    assert "read-only (DELETE refused)" in write.output
    assert len(ln.ULabel._snapshot(ln.settings.instance)) == 2


def test_info_lists_tables(tmp_path):
    result = runner.invoke(app, ["info", "--path", str(tmp_path / "info")])
    assert result.exit_code == 0, result.output
    assert "ulabel" in result.output and "celltype" in result.output
