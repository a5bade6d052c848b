"""Root pytest configuration: ``pytest --doctest-modules registry`` runs the docstring examples
in a throw-away instance (never ``~/.registry``), with ``ln`` and ``bt`` already imported.

The default test run executes the same examples through ``tests/test_doctests.py``.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("REGISTRY_USER", "testuser")


@pytest.fixture(autouse=True)
def _doctest_instance(request):
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    tmp_path = request.getfixturevalue("tmp_path")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("REGISTRY_DIR", str(tmp_path / "default"))
    monkeypatch.chdir(tmp_path)
    import registry as ln
    import registry.bio as bt

    ln.init(tmp_path / "instance")
    request.getfixturevalue("doctest_namespace").update(ln=ln, bt=bt)
    yield
