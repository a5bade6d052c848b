"""``registry.storage`` in a bare checkout: the repository's ``storage/`` folder under its shipped name.

An install holds ``registry/storage/`` (``package-dir`` in pyproject.toml). A checkout put on
``sys.path`` without installing it (``PYTHONPATH=<repo>``, or an editable install made before
``storage/`` shipped as ``registry.storage``) has the folder beside ``registry/``: load it under
the same name, once, before anything imports it. storage/ uses relative imports only, so it
does not mind its name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any


def _load() -> None:
    name = f"{__package__}.storage"
    if name in sys.modules or importlib.util.find_spec(name) is not None:
        return
    init = Path(__file__).resolve().parent.parent / "storage" / "__init__.py"
    if not init.is_file():
        return
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None  # a .py path always gets a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    parent: Any = sys.modules[__package__]  # a module: attributes are not declared
    parent.storage = module  # what the import system does for a submodule


_load()
