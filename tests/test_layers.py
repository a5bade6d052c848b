"""The import layers of pyproject.toml's [tool.importlinter] contracts hold (`lint-imports`).

The contracts name the shipped modules (``registry.storage``), so the check runs over the shipped
layout: a copy of ``registry/`` with ``storage/`` as ``registry/storage/``, which is what the wheel
holds (grimp reads folders; in the checkout the storage folder sits at the top level).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINT_IMPORTS = pathlib.Path(sys.executable).with_name("lint-imports")
if not LINT_IMPORTS.exists():  # a Python not in a venv bin/ next to its scripts
    LINT_IMPORTS = pathlib.Path(shutil.which("lint-imports") or "lint-imports")


def _lint(tree: pathlib.Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the editable install, is `registry`
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _modules(package: pathlib.Path) -> set[str]:
    return {
        p.stem if p.suffix == ".py" else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
    }


def _floors(container: str) -> set[str]:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c.get("containers") == [container]]
    return {name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")}


def test_every_module_of_registry_is_on_a_floor():
    # a new module must be given its place; storage/ ships as registry.storage
    assert _floors("registry") == _modules(ROOT / "registry") | {"storage"}
    assert _floors("registry.records") == _modules(ROOT / "registry" / "records")


@pytest.fixture
def shipped(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__", "*.parquet")
    shutil.copytree(ROOT / "registry", tmp_path / "registry", ignore=ignore)
    shutil.copytree(ROOT / "storage", tmp_path / "registry" / "storage", ignore=ignore)
    return tmp_path


def test_import_contracts_are_kept(shipped):
    proc = _lint(shipped)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("registry/storage/table.py", "from .. import record", "the floors of registry"),
        ("registry/query/q.py", "import duckdb", "does not import DuckDB"),
        ("registry/query/paths.py", "from .. import records", "the floors of registry"),
        ("registry/model_map.py", "from .records import queryset", "the floors of registry"),
        ("registry/records/queryset.py", "from .. import curate", "the floors of registry"),
        ("registry/curate/scope.py", "from .. import record", "the floors of registry"),
        ("registry/search/rank.py", "from .. import cli", "the floors of registry"),
        ("registry/records/persistence.py", "from . import queryset", "the record floor"),
        ("registry/bio/ids.py", "from . import models", "no import cycles"),
    ],
)
def test_an_upward_import_breaks_a_contract(shipped, module, line, contract):
    path = shipped / module
    path.write_text(path.read_text() + f"\n\ndef _upward():\n    {line}\n")
    proc = _lint(shipped)
    assert proc.returncode != 0
    broken = proc.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), proc.stdout
