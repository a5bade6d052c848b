"""registry: LaminDB's registry API on a columnar engine (Arrow + Delta Lake + DuckDB + polars).

>>> import registry as ln
>>> ln.init("./mydata")  # doctest: +SKIP
>>> ln.save([ln.ULabel(name=f"label {i}") for i in range(3)])  # doctest: +SKIP
>>> ln.ULabel.filter(name__startswith="label").df()  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("registry")  # pyproject.toml is the one source
except PackageNotFoundError:  # a bare checkout on sys.path without an install
    __version__ = "0+unknown"


# first: in a bare checkout it makes storage/ importable as registry.storage
from . import _checkout  # noqa: F401, I001
from . import errors, setup
from .core import Artifact, Run, Transform, ULabel, User
from .logging import logger
from .query import Q
from .record import QuerySet, Record, save
from .settings import settings
from .setup import connect
from .sql_api import attach, sql


def init(path, name: str | None = None, storage_options: dict | None = None):
    """Create or open the instance in directory ``path`` and make it the default.

    ``path`` may be an object-store URL (``s3://bucket/prefix``, ``gs://``, ``az://``); credentials
    come from ``storage_options`` or the environment. The current user (``$REGISTRY_USER`` or the
    OS login) is created on first open.
    """
    return settings.init(path, name=name, storage_options=storage_options)


def __getattr__(name):
    if name in ("bio", "curators"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'registry' has no attribute '{name}'")


from . import bio  # noqa: E402, F401  (registers the bio registries so relations resolve)


def __dir__():
    # the public surface only: internals hidden
    return sorted(__all__)


__all__ = [
    "Artifact",
    "Q",
    "QuerySet",
    "Record",
    "Run",
    "Transform",
    "ULabel",
    "User",
    "bio",
    "curators",
    "errors",
    "connect",
    "init",
    "logger",
    "save",
    "settings",
    "setup",
    "sql",
    "attach",
    "__version__",
]
