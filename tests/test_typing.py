"""The package type-checks: mypy at pyproject.toml's [tool.mypy] strictness finds no error.

The check runs over the shipped layout (a copy of ``registry/`` with ``storage/`` as
``registry/storage/``, what the wheel holds), so imports resolve as a user's type checker resolves
them. ``tests/typing/public_api.py`` pins what a user's type checker sees of the public surface with
``assert_type`` lines. mypy's cache lives in pytest's cache folder: copies keep their files' mtimes,
so a second run only re-checks what changed.
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
PUBLIC_API = ROOT / "tests" / "typing" / "public_api.py"


@pytest.fixture
def mypy_cache(request, tmp_path_factory) -> pathlib.Path:
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    return cache.mkdir("mypy") if cache is not None else tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture
def shipped(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__", "*.parquet")
    shutil.copytree(ROOT / "registry", tmp_path / "registry", ignore=ignore)
    shutil.copytree(ROOT / "storage", tmp_path / "registry" / "storage", ignore=ignore)
    return tmp_path


def _mypy(tree: pathlib.Path, cache: pathlib.Path, *targets: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MYPYPATH": str(tree)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache)]
        + ["--no-error-summary", "--show-error-codes", *targets],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_package_type_checks(shipped, mypy_cache):
    proc = _mypy(shipped, mypy_cache, "-p", "registry")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_public_surface_has_the_promised_types(shipped, mypy_cache):
    shutil.copy(PUBLIC_API, shipped / "public_api.py")
    proc = _mypy(shipped, mypy_cache, "public_api.py")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    # the package's own errors are test_the_package_type_checks's to report
    errors = [line for line in proc.stdout.splitlines() if line.startswith("public_api.py")]
    assert not errors, "\n".join(errors)


def test_py_typed_ships_with_the_package():
    """PEP 561: without the marker, a user's type checker ignores the annotations."""
    assert (ROOT / "registry" / "py.typed").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["registry"]
