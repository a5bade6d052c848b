"""The installed package: one top-level name, one version, a clean public namespace, quiet logging."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import subprocess
import sys
import tomllib

import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess:
    # from a neutral directory, so the checkout's folders are not on sys.path
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests", timeout=120)


def test_logging_basicconfig_prints_each_line_once():
    proc = _run("import logging; logging.basicConfig(); import registry; registry.logger.warning('only-once')")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("only-once") == 1, proc.stderr
    assert "WARNING:registry:only-once" in proc.stderr  # the application's format wins


def test_logging_without_configuration_prints_with_symbols():
    proc = _run("import registry; registry.logger.warning('plain')")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["! plain"]


def test_logging_without_propagation_still_prints():
    proc = _run(
        "import logging; logging.basicConfig(); import registry; registry.logger.propagate = False; "
        "registry.logger.warning('alone')"
    )
    assert proc.stderr.splitlines() == ["! alone"], proc.stderr


def test_version_comes_from_the_distribution():
    assert registry.__version__ == importlib.metadata.version("registry")


def test_dir_shows_the_public_surface_only():
    names = dir(registry)
    assert {"Q", "QuerySet", "ULabel", "init", "save", "settings", "__version__"} <= set(names)
    assert not {"record", "queryset", "core", "annotations", "_version"} & set(names)
    for name in registry.__all__:
        assert getattr(registry, name) is not None


def test_storage_ships_inside_registry_and_not_at_the_top_level():
    proc = _run(
        "import importlib.util, registry.storage; "
        "assert importlib.util.find_spec('storage') is None; print(registry.storage.__name__)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "registry.storage"


def test_explicit_package_list_covers_every_package_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "registry").rglob("__init__.py")}
    found |= {"registry." + ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "storage").rglob("__init__.py")}
    assert listed == found
    assert config["package-dir"] == {"registry.storage": "storage"}


def test_storage_uses_relative_imports_only():
    for path in (ROOT / "storage").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] not in ("storage", "registry"), f"{path}:{node.lineno}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in ("storage", "registry"), f"{path}:{node.lineno}"


def test_a_bare_checkout_on_sys_path_imports_storage_as_registry_storage():
    # no editable finder (as with PYTHONPATH=<repo> or an editable install older than package-dir)
    proc = _run(
        "import sys; "
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '').lower()]; "
        f"sys.path.insert(0, {str(ROOT)!r}); "
        "import registry, registry.storage.table, registry.storage.doctor; "
        "assert registry.__file__.startswith(sys.path[0]), registry.__file__; "
        "assert registry.storage.table.__name__ == 'registry.storage.table'; "
        "assert 'storage' not in sys.modules; print(registry.storage.__file__)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(ROOT / "storage" / "__init__.py")
