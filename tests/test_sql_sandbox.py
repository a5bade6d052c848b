"""The SQL console (``registry.sql``) reads the registry tables and nothing else.

Every hostile statement below is refused with ``SQLRefused`` and a one-line reason, and the
test checks that no file changed anywhere it could reach: the instance (tables, Delta logs,
state), the output directory the statements aim at, and the working directory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import registry as ln
from registry.errors import RegistryError, SQLError, SQLRefused


def _files(*roots: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                out[os.path.join(dirpath, name)] = (-1, "dir")
            for name in filenames:
                p = os.path.join(dirpath, name)
                out[p] = (os.path.getsize(p), hashlib.sha1(Path(p).read_bytes()).hexdigest())
    return out


def _hostile(inst_root: Path, out: Path) -> list[str]:
    log = inst_root / "tables" / "ulabel" / "_delta_log"
    parquet = next((inst_root / "tables" / "ulabel").glob("*.parquet"))
    return [
        f"COPY (SELECT 1) TO '{out}/a.csv'",
        f"COPY ulabel TO '{out}/b.parquet' (FORMAT parquet)",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{log}/00000000000000000099.json'",
        f"EXPLAIN COPY (SELECT 1) TO '{out}/c.csv'",
        f"explain analyze copy (select 1) to '{out}/d.csv'",
        f"ATTACH '{out}/x.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        f"LOAD '{out}/evil.duckdb_extension'",
        f"EXPORT DATABASE '{out}/export'",
        f"IMPORT DATABASE '{out}'",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        f"SET temp_directory = '{out}'",
        "RESET enable_external_access",
        "PRAGMA enable_profiling",
        f"PRAGMA profiling_output = '{out}/profile.txt'",
        "/* comment */ PRAGMA enable_profiling",
        "CREATE TABLE t AS SELECT 1 AS a",
        "CREATE TEMP TABLE t AS SELECT 1 AS a",
        "CREATE MACRO m(a) AS a",
        "INSERT INTO ulabel (id, name) VALUES (999, 'x')",
        "UPDATE ulabel SET name = 'x'",
        "DELETE FROM ulabel",
        "DROP VIEW ulabel",
        "DROP TABLE ulabel",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        f"SELECT * FROM read_parquet('{parquet}')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM read_json_auto('/etc/passwd')",
        "SELECT * FROM glob('/root/*')",
        "SELECT * FROM glob('/etc/*')",
        f"SELECT * FROM read_json('{inst_root}/state.json')",
        "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')",
        "CALL pragma_version()",
        "CHECKPOINT",
        "VACUUM",
        "BEGIN TRANSACTION",
        "USE memory",
        "DETACH memory",
        "SELECT 1; DELETE FROM ulabel",
        "SELECT 1; SELECT 2",
        "WITH x AS (INSERT INTO ulabel (id, name) VALUES (999, 'x') RETURNING *) SELECT * FROM x",
        "WITH x AS (DELETE FROM ulabel RETURNING id) SELECT count(*) FROM x",
        "SELECT (WITH q AS (UPDATE ulabel SET name = 'y' RETURNING id) SELECT count(*) FROM q)",
        "EXPLAIN ANALYZE INSERT INTO ulabel (id, name) VALUES (999, 'x')",
        "EXPLAIN ANALYZE DELETE FROM ulabel",
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "PREPARE p AS SELECT 1",
    ]


@pytest.fixture
def filled(instance, tmp_path, monkeypatch):
    ln.save([ln.ULabel(name=f"label {i}") for i in range(20)])
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # DuckDB would spill to ./.tmp; the console must not
    out = tmp_path / "out"
    out.mkdir()
    return instance, out, cwd


def test_hostile_statements_are_refused_and_nothing_on_disk_changes(filled):
    inst, out, cwd = filled
    statements = _hostile(inst.root, out)
    assert len(statements) >= 20
    before = _files(inst.root, out, cwd)
    rows_before = ln.sql("SELECT id, name FROM ulabel ORDER BY id").to_pylist()
    refused = []
    for statement in statements:
        with pytest.raises(SQLRefused) as info:
            ln.sql(statement)
        message = str(info.value)
        assert "\n" not in message and message, statement
        refused.append(statement)
    assert len(refused) == len(statements)
    assert _files(inst.root, out, cwd) == before
    assert ln.sql("SELECT id, name FROM ulabel ORDER BY id").to_pylist() == rows_before
    assert ln.ULabel.filter().count() == 20


def test_a_file_named_as_a_table_is_not_found(filled):
    # DuckDB reads a quoted path as a file only with external access; the sandbox sees no such table
    with pytest.raises(SQLError, match="does not exist"):
        ln.sql("SELECT * FROM '/etc/passwd'")


def test_refusals_say_why():
    with pytest.raises(SQLRefused, match="read-only"):
        ln.sql("DELETE FROM ulabel")
    with pytest.raises(SQLRefused, match="one statement"):
        ln.sql("SELECT 1; SELECT 2")
    with pytest.raises(SQLRefused, match="files, network"):
        ln.sql("SELECT * FROM read_text('/etc/passwd')")
    with pytest.raises(SQLRefused, match="wrapping a write"):
        ln.sql("WITH x AS (DELETE FROM ulabel RETURNING id) SELECT * FROM x")


def test_refusals_are_typed_as_permission_and_value_errors():
    with pytest.raises(PermissionError):
        ln.sql("COPY (SELECT 1) TO 'x.csv'")
    with pytest.raises(ValueError):
        ln.sql("SELEC 1")
    assert issubclass(SQLRefused, SQLError) and issubclass(SQLError, RegistryError)


def test_errors_are_one_line_and_typed(filled):
    with pytest.raises(SQLError) as info:
        ln.sql("SELECT nme FROM ulabel")
    assert "\n" not in str(info.value) and "nme" in str(info.value)
    with pytest.raises(SQLError):
        ln.sql("SELEC 1")
    with pytest.raises(ln.errors.InvalidArgument):
        ln.sql(42)


def test_reads_still_work(filled):
    assert ln.sql("SELECT count(*) AS n FROM ulabel").to_pylist() == [{"n": 20}]
    joined = ln.sql(
        'SELECT u.name, us.handle FROM ulabel u JOIN "user" us ON u.created_by_id = us.id ORDER BY u.id LIMIT 2'
    )
    assert joined.column("handle").to_pylist() == ["testuser", "testuser"]
    names = set(ln.sql("SHOW TABLES").column(0).to_pylist())
    assert {"ulabel", "user", "artifact_ulabels"} <= names
    assert "name" in ln.sql("DESCRIBE ulabel").column(0).to_pylist()
    assert "name" in ln.sql("PRAGMA table_info('ulabel')").column("name").to_pylist()
    assert ln.sql("EXPLAIN SELECT * FROM ulabel").num_rows >= 1
    assert ln.sql("EXPLAIN ANALYZE SELECT count(*) FROM ulabel").num_rows >= 1
    cte = ln.sql("WITH a AS (SELECT id FROM ulabel WHERE id <= 3) SELECT count(*) AS n FROM a")
    assert cte.to_pylist() == [{"n": 3}]
    assert ln.sql("SELECT 1 AS x;").to_pylist() == [{"x": 1}]


def test_console_follows_new_commits(filled):
    assert ln.sql("SELECT count(*) AS n FROM ulabel").to_pylist() == [{"n": 20}]
    ln.ULabel(name="one more").save()
    assert ln.sql("SELECT count(*) AS n FROM ulabel").to_pylist() == [{"n": 21}]
    ln.ULabel.get(name="one more").delete()
    assert ln.sql("SELECT count(*) AS n FROM ulabel WHERE name = 'one more'").to_pylist() == [{"n": 0}]


def test_console_leaves_the_filter_engine_working(filled):
    with pytest.raises(SQLRefused):
        ln.sql("DELETE FROM ulabel")
    assert ln.ULabel.filter(name__startswith="label 1").count() == 11
    ln.ULabel(name="after").save()
    assert ln.ULabel.filter(name="after").count() == 1


def test_sql_on_another_instance_by_path(tmp_path):
    other = tmp_path / "other"
    ln.init(other)
    ln.ULabel(name="elsewhere").save()
    ln.init(tmp_path / "main")
    assert ln.sql("SELECT name FROM ulabel", instance=other).to_pylist() == [{"name": "elsewhere"}]
    assert ln.sql("SELECT count(*) AS n FROM ulabel").to_pylist() == [{"n": 0}]


def test_attach_registers_every_registry_in_a_users_connection(filled):
    import duckdb

    con = duckdb.connect()
    names = ln.attach(con)
    assert {"ulabel", "user", "artifact_ulabels", "celltype"} <= set(names)
    assert con.sql("SELECT count(*) FROM ulabel").fetchall() == [(20,)]
    user = con.sql('SELECT handle FROM "user"').fetchall()
    assert user == [("testuser",)]
    # the user's connection keeps its own abilities: attach changes no setting
    assert con.sql("SELECT current_setting('enable_external_access')").fetchall() == [(True,)]
    ln.ULabel(name="later").save()
    ln.attach(con)
    assert con.sql("SELECT count(*) FROM ulabel").fetchall() == [(21,)]


def test_attach_refuses_what_is_not_a_connection(filled):
    with pytest.raises(ln.errors.InvalidArgument):
        ln.attach("duckdb")
