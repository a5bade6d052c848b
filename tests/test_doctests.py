"""Every docstring example in the ``registry`` package runs, in a fresh instance per docstring.

``pytest --doctest-modules registry`` runs the same examples (see the root ``conftest.py``);
this module puts them in the default test run. Each docstring gets its own instance in a
temporary directory (also the working directory), ``ln`` and ``bt`` imported, and
``REGISTRY_DIR`` pointing into the temporary directory, so no example touches ``~/.registry``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import registry

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["registry"]
    for info in pkgutil.walk_packages(registry.__path__, "registry."):
        if info.name.endswith(("__main__", ".conftest")):
            continue
        names.append(info.name)
    return sorted(names)


def _examples() -> list[tuple[str, doctest.DocTest]]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    out = []
    for name in _modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples:
                out.append((test.name, test))
    return out


EXAMPLES = _examples()


@pytest.mark.parametrize("test", [t for _, t in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_docstring_example(test: doctest.DocTest, tmp_path, monkeypatch):
    import registry as ln
    import registry.bio as bt

    monkeypatch.setenv("REGISTRY_DIR", str(tmp_path / "default"))
    monkeypatch.chdir(tmp_path)
    ln.init(tmp_path / "instance")
    test.globs = {**test.globs, "ln": ln, "bt": bt}
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(test, out=report.append)
    assert result.attempted == sum(1 for ex in test.examples if not ex.options.get(doctest.SKIP))
    assert result.failed == 0, "".join(report)


def test_there_are_examples():
    # the default run must actually exercise docstrings (a broken finder would pass silently)
    assert len(EXAMPLES) >= 20
    assert any(name.endswith("Record.filter") for name, _ in EXAMPLES)
