"""SQL over the registries: the sandboxed console (``registry.sql``) and ``attach`` for a user's DuckDB.

``sql`` runs one read-only DuckDB statement over every registry table and nothing else (no
files, no network, no extensions, no writes; see ``storage.engine.Console``). ``attach``
hands the same tables to a DuckDB connection the user owns, offline: each registry becomes a
view on this process's Arrow snapshot, with no Delta extension to download.
"""

from __future__ import annotations

import os

import pyarrow as pa

from .errors import InvalidArgument, SQLError, SQLRefused
from .model_map import registry_class
from .records.queryset import open_read_only
from .settings import settings
from .storage import Instance
from .storage.engine import StatementError, StatementRefused


def sql(query: str, instance: Instance | str | os.PathLike | None = None) -> pa.Table:
    """Run one read-only SQL statement (DuckDB dialect) over the registry tables.

    Tables are named as the registries (``ulabel``, ``user``, ``celltype``, link tables such as
    ``artifact_ulabels``). Returns an Arrow table (``.to_pandas()``, ``polars.from_arrow``).
    Raises ``SQLRefused`` for anything but a single SELECT (or EXPLAIN of one, or a catalog
    PRAGMA) and for any file or network access; ``SQLError`` for a statement that fails.

    >>> ln.sql("SELECT count(*) AS n FROM ulabel")  # doctest: +SKIP
    """
    inst = _instance(instance)
    if not isinstance(query, str):
        raise InvalidArgument(f"registry.sql() takes the SQL text as a str, got {type(query).__name__}")
    try:
        return inst.engine.query(query)
    except StatementRefused as e:
        raise SQLRefused(str(e)) from None
    except StatementError as e:
        raise SQLError(str(e)) from None


def attach(con, instance: Instance | str | os.PathLike | None = None) -> list[str]:
    """Register every registry table as a view in the DuckDB connection ``con``; returns the names.

    The views show the tables as committed when ``attach`` is called (call it again to see
    later commits). Nothing is downloaded and nothing is copied: DuckDB scans the Arrow
    snapshot in place.

    >>> import duckdb
    >>> con = duckdb.connect()  # doctest: +SKIP
    >>> ln.attach(con)  # doctest: +SKIP
    >>> con.sql("SELECT name FROM ulabel LIMIT 3").fetchall()  # doctest: +SKIP
    """
    if not (hasattr(con, "register") and hasattr(con, "sql")):
        raise InvalidArgument(f"attach() takes a DuckDB connection (duckdb.connect()), got {type(con).__name__}")
    inst = _instance(instance)
    names = sorted(inst.table_names())
    for name in names:
        con.register(name, inst.snapshot(name))
    return names


def _instance(spec) -> Instance:
    """The instance to read, with every registry's table registered on it."""
    if spec is None:
        inst = settings.instance
    elif isinstance(spec, Instance):
        inst = spec
    else:
        inst = open_read_only(spec)
    registry_class("User")._ensure_tables(inst)
    return inst


__all__ = ["sql", "attach"]
