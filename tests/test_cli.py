"""The command line, run as users run it: ``python -m registry ...`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import polars as pl
import pytest

import registry as ln
import registry.bio as bt


def run(*args, cwd=None, stdin: str | None = None, env_dir=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", REGISTRY_USER="tester")
    if env_dir is not None:
        env["REGISTRY_DIR"] = str(env_dir)
    return subprocess.run(
        [sys.executable, "-m", "registry", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env=env,
        timeout=300,
    )


def invoke(*args):
    """The same app in-process (no interpreter start-up): for the many small variations."""
    from typer.testing import CliRunner

    from registry.cli import app

    result = CliRunner(env={"COLUMNS": "200", "REGISTRY_USER": "tester"}).invoke(app, [str(a) for a in args])
    result.returncode = result.exit_code
    return result


def one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def inst(tmp_path):
    path = tmp_path / "inst"
    ln.init(path)
    ln.save(
        [
            bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte", ontology_id="CL:0000084"),
            bt.CellType(name="B cell", synonyms="B lymphocyte", ontology_id="CL:0000236"),
            ln.ULabel(name="donor A"),
            ln.ULabel(name="donor B"),
            bt.Gene(symbol="CD3E", ensembl_gene_id="ENSG00000198851"),
        ]
    )
    return path


def test_version_and_help():
    from registry import __version__

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"registry {__version__}"
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("init", "info", "sql", "validate", "import-source", "doctor", "compact", "demo"):
        assert command in proc.stdout


def test_reading_commands_never_create_an_instance_and_init_does(tmp_path):
    typo = tmp_path / "typo"
    for i, args in enumerate(
        (["info", "--path", typo], ["sql", "SELECT 1", "--path", typo], ["doctor", "--path", typo])
    ):
        proc = run(*args) if i == 0 else invoke(*args)
        assert proc.returncode == 1, proc
        assert "registry init" in one_error_line(proc)
        assert not typo.exists()
    # without --path the default instance ($REGISTRY_DIR) is not created either
    proc = run("info", env_dir=tmp_path / "default")
    assert proc.returncode == 1 and not (tmp_path / "default").exists()
    proc = run("init", typo)
    assert proc.returncode == 0 and "created instance" in proc.stdout
    assert (typo / "instance.json").exists()
    proc = invoke("info", "--path", typo, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["user"] == "tester" and {"table": "user", "rows": 1} in [
        {k: t[k] for k in ("table", "rows")} for t in info["tables"]
    ]


def test_info_csv_to_a_file(inst, tmp_path):
    out = tmp_path / "info.csv"
    proc = run("info", "--path", inst, "--format", "csv", "--output", out)
    assert proc.returncode == 0, proc.stderr
    table = pl.read_csv(out)
    assert table.filter(pl.col("table") == "ulabel")["rows"].item() == 2
    assert table.filter(pl.col("table") == "celltype")["rows"].item() == 2


def test_sql_errors_exit_non_zero_with_one_line(inst):
    proc = run("sql", "SELEC", "--path", inst)
    assert proc.returncode == 1
    assert "syntax error" in one_error_line(proc)
    proc = invoke("sql", "DELETE FROM ulabel", "--path", inst)
    assert proc.returncode == 1
    assert "refused" in one_error_line(proc)
    assert len(ln.ULabel._snapshot_pl()) == 2
    proc = invoke("sql", "SELECT name FROM ulabel ORDER BY name DESC", "--path", inst, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"name": "donor B"}, {"name": "donor A"}]
    proc = run("--debug", "sql", "SELEC", "--path", inst)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_console_lists_tables_and_schemas(inst, tmp_path):
    script = ".tables\nSHOW TABLES;\n.schema ulabel\n.help\nSELECT count(*) AS n\nFROM celltype;\n"
    proc = run("sql", "--path", inst, stdin=script)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("celltype") >= 3  # in .tables, SHOW TABLES and the query's FROM? (tables twice at least)
    assert "created_by_id" in out and ".schema NAME" in out
    proc = run("sql", "--path", inst, stdin=".schema ulabl\nSELECT 1;\n")
    assert proc.returncode == 1 and "did you mean 'ulabel'" in proc.stderr
    out_csv = tmp_path / "t.csv"
    proc = invoke("sql", "SHOW TABLES", "--path", inst, "--format", "csv", "--output", out_csv)
    assert proc.returncode == 0
    assert "ulabel" in pl.read_csv(out_csv)["table"].to_list()


def _dataset(tmp_path):
    df = pd.DataFrame(
        {
            "cell_type": ["T cell", "T-cell", "t cell", "B cel", "my novel cell", "T cell"],
            "donor": ["donor A", "Donor A", "donor C", "donor A", "donor B", "donor B"],
            "x": range(6),
        }
    )
    path = tmp_path / "data.parquet"
    df.to_parquet(path)
    return path


def test_validate_summary_report_and_exit_statuses(inst, tmp_path):
    data = _dataset(tmp_path)
    report = tmp_path / "report.csv"
    cols = ["-c", "cell_type=bt.CellType.name", "-c", "donor=ULabel.name"]
    proc = run("validate", data, *cols, "--path", inst, "--report", report)
    assert proc.returncode == 1, proc.stderr
    assert "bt.CellType.name" in proc.stdout and "'T-cell' (synonym, 1 rows) → T cell" in proc.stdout
    assert "invalid values remain" in proc.stderr
    rep = pl.read_csv(report)
    assert rep.height == 5 + 4  # one row per distinct value and column
    assert dict(zip(rep["value"], rep["tier"], strict=True))["B cel"] == "fuzzy"
    assert rep.filter(pl.col("value") == "B cel")["suggestion"].item() == "B cell"
    for ext in (".json", ".parquet"):
        proc = invoke("validate", data, *cols, "--path", inst, "--report", tmp_path / f"r{ext}")
        assert proc.returncode == 1
    assert len(json.loads((tmp_path / "r.json").read_text())) == rep.height
    assert pl.read_parquet(tmp_path / "r.parquet").height == rep.height

    out = tmp_path / "fixed.csv"
    proc = run("validate", data, *cols, "--path", inst, "--standardize", out, "--add-new", "all")
    assert proc.returncode == 0, proc.stderr
    fixed = pl.read_csv(out)
    assert fixed["cell_type"].to_list() == ["T cell", "T cell", "T cell", "B cel", "my novel cell", "T cell"]
    assert fixed["donor"].to_list()[1] == "donor A"
    proc = run("validate", out, *cols, "--path", inst)
    assert proc.returncode == 0 and "all values validated" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["-c", "cell_type"], "COL=REGISTRY.FIELD"),
        (["-c", "cell_typo=bt.CellType.name"], "did you mean 'cell_type'"),
        (["-c", "cell_type=bt.CelType.name"], "no registry 'CelType'"),
        (["-c", "cell_type=bt.CellType.nam"], "no field 'nam'"),
        (["-c", "cell_type=bt.CellType.name", "--add-new", "donor"], "--add-new donor"),
        (["-c", "cell_type=bt.CellType.name", "--report", "r.xlsx"], "--report"),
    ],
)
def test_validate_usage_errors_exit_2(inst, tmp_path, args, message):
    proc = invoke("validate", _dataset(tmp_path), *args, "--path", inst)
    assert proc.returncode == 2, proc
    assert message in proc.stderr


def test_validate_missing_file_or_instance_exit_2(inst, tmp_path):
    proc = run("validate", tmp_path / "nope.parquet", "-c", "a=ULabel.name", "--path", inst)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = invoke("validate", _dataset(tmp_path), "-c", "donor=ULabel.name", "--path", tmp_path / "nope")
    assert proc.returncode == 2 and "registry init" in proc.stderr


def test_validate_h5ad(inst, tmp_path):
    ad = pytest.importorskip("anndata")
    import numpy as np

    obs = pd.DataFrame({"cell_type": pd.Categorical(["T cell", "T-cell", "B cell"])}, index=["a", "b", "c"])
    var = pd.DataFrame(index=["ENSG00000198851", "ensg00000198851"])
    path = tmp_path / "x.h5ad"
    ad.AnnData(X=np.ones((3, 2), dtype=np.float32), obs=obs, var=var).write_h5ad(path)
    cols = ["-c", "cell_type=bt.CellType.name", "-c", "var_index=bt.Gene.ensembl_gene_id"]
    proc = run("validate", path, *cols, "--path", inst, "--standardize", tmp_path / "y.h5ad")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "var_index" in proc.stdout
    y = ad.read_h5ad(tmp_path / "y.h5ad")
    assert list(y.obs["cell_type"].astype(str)) == ["T cell", "T cell", "B cell"]
    proc = run("validate", path, *cols, "--path", inst, "--standardize", tmp_path / "y.parquet")
    assert proc.returncode == 2 and ".h5ad" in proc.stderr


def test_import_source_and_doctor(inst):
    proc = invoke("import-source", "NoSuchThing", "--path", inst)
    assert proc.returncode == 2 and "no registry 'NoSuchThing'" in proc.stderr
    proc = run("import-source", "ULabel", "--path", inst)
    assert proc.returncode == 1 and "no public source" in one_error_line(proc)
    proc = run("doctor", "--path", inst)
    try:
        import registry.storage.doctor  # noqa: F401
    except ImportError:
        assert proc.returncode == 1 and "not available" in one_error_line(proc)
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_source_fills_a_registry(inst):
    proc = run("import-source", "CellType", "--path", inst)
    assert proc.returncode == 0, proc.stderr
    assert "new records" in proc.stdout
    ln.init(inst)
    assert bt.CellType.filter().count() > 1000


def test_doctor_reports_damage_and_repairs_it(inst):
    ln.save(ln.ULabel(name="donor C"))  # the newest ulabel log entry, which we tear
    logs = sorted((inst / "tables" / "ulabel" / "_delta_log").glob("*.json"))
    newest = logs[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    proc = invoke("doctor", "--path", inst)
    assert proc.returncode == 1 and "PROBLEM" in proc.stdout
    proc = run("doctor", "--path", inst, "--repair")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "repaired" in proc.stdout
    assert invoke("doctor", "--path", inst).returncode == 0


def test_demo_curates_and_reports(tmp_path):
    proc = run("demo", "--n", "2000", "--path", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    assert "new CellType records" in proc.stdout
    assert "validated after standardize" in proc.stdout
    assert "top hit: 'lymphocyte'" in proc.stdout
