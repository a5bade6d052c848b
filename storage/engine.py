"""A DuckDB connection holding native copies of an instance's table snapshots.

Native tables, not registered Arrow views: a point query on a registered view scans the
whole Arrow table every time (14.6 ms at 10^6 rows), on a native table it is ~7 ms, with an
ART index 0.4 ms. Tables load lazily on the first query that names them and follow the
snapshot's version: an own-process insert is appended, anything else reloads the table.

Users' SQL (the console, ``registry.sql``) never runs here: :class:`Console` is a second,
sandboxed DuckDB database that sees the snapshots read-only and nothing of the host.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Protocol

import pyarrow as pa

from .table import Table


class TableSource(Protocol):
    """What the engine reads: named tables and their latest snapshots (an ``Instance`` is one).

    A protocol, so the engine depends on the tables it is handed, not on the instance above it.
    """

    def table_names(self) -> set[str]: ...

    def table(self, name: str) -> Table: ...

    def snapshot(self, name: str) -> pa.Table: ...


ART_INDEX_MIN_ROWS = 50_000  # below this DuckDB scans as fast as it probes an ART index


class Engine:
    """Runs SQL over the instance's tables; values are always bound parameters."""

    def __init__(self, source: TableSource):
        import duckdb  # imported with the first query, not with ``import registry`` (~75 ms)

        self.source = source
        self.con = duckdb.connect(":memory:", config={"threads": 2})
        self._loaded: dict[str, int] = {}
        self._indexed: set[tuple[str, str]] = set()
        self._lock = threading.RLock()
        self._console: Console | None = None

    def execute(
        self,
        sql: str,
        params: list | tuple | None = None,
        tables: Mapping[str, pa.Table | pa.Array] | None = None,
        reads: Iterable[str] | None = None,
    ) -> pa.Table:
        """Run ``sql`` with ``params``; ``tables`` are Arrow data registered for this query only,
        ``reads`` the source's tables the statement reads (brought up to date first; the
        compiler lists them, see ``registry.query.Compiled``). Without ``reads`` every table of
        the source is brought up to date.

        DuckDB's own errors (a bad regex, a value it cannot convert) come out as ``StatementError``.
        """
        import duckdb

        with self._lock:
            self._sync(self.source.table_names() if reads is None else reads)
            registered = []
            try:
                for name, data in (tables or {}).items():
                    if isinstance(data, (pa.Array, pa.ChunkedArray)):
                        data = pa.table({"v": data})
                    self.con.register(name, data)
                    registered.append(name)
                return self.con.sql(sql, params=list(params or [])).to_arrow_table()
            except duckdb.Error as e:
                raise StatementError(_one_line(e)) from None
            finally:
                for name in registered:
                    self.con.unregister(name)

    def query(self, sql: str) -> pa.Table:
        """Run a user's read-only statement (the SQL console) in the sandbox (see :class:`Console`)."""
        if self._console is None:
            self._console = Console(self.source)
        return self._console.query(sql)

    def ensure_index(self, table: str, column: str) -> None:
        """Build an ART index on ``table.column`` once it is worth it (point lookups on big tables)."""
        with self._lock:
            self._sync((table,))
            key = (table, column)
            if key in self._indexed:
                return
            n = self.con.sql(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            if n >= ART_INDEX_MIN_ROWS:
                self.con.sql(f'CREATE INDEX "ix_{table}_{column}" ON "{table}" ("{column}")')
                self._indexed.add(key)

    def _sync(self, names: Iterable[str]) -> None:
        """Bring the native copies of ``names`` up to the tables' latest snapshots."""
        known = self.source.table_names()
        for name in names:
            if name not in known:
                continue  # not a table of the source (DuckDB reports it if the statement needs it)
            table = self.source.table(name)
            snap = self.source.snapshot(name)
            have = self._loaded.get(name)
            if have == table.version:
                continue
            change = table.last_change
            if (
                have is not None
                and change is not None
                and change.from_version == have
                and change.to_version == table.version
            ):
                if len(change.removed_ids):
                    self.con.register("__removed", pa.table({"v": pa.array(change.removed_ids, pa.int64())}))
                    self.con.sql(f'DELETE FROM "{name}" WHERE id IN (SELECT v FROM __removed)')
                    self.con.unregister("__removed")
                if change.inserted is not None and change.inserted.num_rows:
                    self.con.register("__inserted", change.inserted)
                    self.con.sql(f'INSERT INTO "{name}" SELECT * FROM __inserted')
                    self.con.unregister("__inserted")
            else:
                self.con.register("__snapshot", snap)
                self.con.sql(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM __snapshot')
                self.con.unregister("__snapshot")
                self._indexed = {k for k in self._indexed if k[0] != name}
            self._loaded[name] = table.version

    def close(self) -> None:
        self.con.close()
        if self._console is not None:
            self._console.close()


class StatementError(ValueError):
    """A console statement could not run (syntax, unknown table or column, runtime error)."""


class StatementRefused(StatementError, PermissionError):
    """A console statement was refused: the console reads the registry tables and nothing else."""


# DuckDB's own sandbox switches. The filesystem, extensions and Python variables are out of
# reach, and ``lock_configuration`` means no statement can switch any of this back on.
CONSOLE_CONFIG: dict[str, str | int | float | list[str]] = {
    "threads": 2,
    "temp_directory": "",  # never spill to disk
    "python_enable_replacements": False,  # no reading the caller's Python variables by name
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
# Set after the options above (DuckDB refuses to change some of them once these are set).
CONSOLE_LOCKS = (
    "SET enable_external_access = false",  # no files, no network, no ATTACH/INSTALL/LOAD
    "SET lock_configuration = true",  # and no statement can switch anything back on
)
# PRAGMAs that only describe the catalog; every other PRAGMA (and SET, CALL, ...) is refused.
READ_PRAGMAS = frozenset(
    {"show_tables", "show_tables_expanded", "table_info", "show", "version", "platform", "database_list"}
)
# Query-node kinds of DuckDB's parse tree that only read.
READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+|\([^)]*\)\s*)?", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_WRITE_HINT = "the SQL console is read-only; write through Python, e.g. ln.save(...), record.delete()"


class Console:
    """A second DuckDB database for users' SQL, sandboxed by DuckDB's own switches.

    The registry tables are registered Arrow snapshots (views DuckDB cannot write to) on a
    connection opened with external access disabled and the configuration locked. Each
    statement must be a single SELECT (or EXPLAIN of one, or a catalog PRAGMA) and runs in a
    read-only transaction that is rolled back, so nothing, not even DuckDB's in-memory
    catalog, changes.
    """

    def __init__(self, source: TableSource):
        import duckdb

        self.source = source
        self.con = duckdb.connect(":memory:", config=dict(CONSOLE_CONFIG))
        for statement in CONSOLE_LOCKS:
            self.con.execute(statement)
        self._views: dict[str, pa.Table] = {}
        self._lock = threading.RLock()

    def query(self, sql: str) -> pa.Table:
        """Run one read-only statement; :class:`StatementRefused` or :class:`StatementError` otherwise."""
        import duckdb

        if not isinstance(sql, str):
            raise StatementError(f"SQL must be a string, got {type(sql).__name__}")
        with self._lock:
            statement = self._check(sql)
            self._refresh()
            self.con.execute("BEGIN TRANSACTION READ ONLY")
            try:
                rel = self.con.sql(statement)
                return rel.to_arrow_table() if rel is not None else pa.table({})
            except duckdb.Error as e:
                raise _console_error(e) from None
            finally:
                self.con.execute("ROLLBACK")

    def _check(self, sql: str) -> str:
        """The statement's text if it is one read-only statement, else raise saying why."""
        import duckdb

        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as e:
            raise StatementError(_one_line(e)) from None
        if len(statements) != 1:
            raise StatementRefused(
                f"run one statement at a time (got {len(statements)}); the console takes a single SELECT"
            )
        st = statements[0]
        kind = st.type.name
        if kind == "SELECT":
            writes = self._writes_inside(st.query)
            if writes:
                raise StatementRefused(f"a SELECT wrapping a write ({writes}) refused: {_WRITE_HINT}")
            return st.query
        if kind == "PRAGMA":
            m = _PRAGMA.match(st.query)
            name = m.group(1).lower() if m else "?"
            if name in READ_PRAGMAS:
                return st.query
            raise StatementRefused(
                f"PRAGMA {name} refused: {_WRITE_HINT}; catalog PRAGMAs allowed: {', '.join(sorted(READ_PRAGMAS))}"
            )
        if kind == "EXPLAIN":
            inner = _EXPLAIN.sub("", st.query, count=1)
            try:
                inner_kinds = [s.type.name for s in self.con.extract_statements(inner)]
            except duckdb.Error:
                inner_kinds = ["?"]
            if inner_kinds == ["SELECT"]:
                return st.query
            raise StatementRefused(f"EXPLAIN of a {'/'.join(inner_kinds)} statement refused: {_WRITE_HINT}")
        raise StatementRefused(f"{kind} statements are refused: {_WRITE_HINT}")

    def _writes_inside(self, sql: str) -> str:
        """Kinds of the query nodes in ``sql`` that are not reads (a CTE may hold an INSERT), or ``""``.

        Reads DuckDB's own parse tree (``json_serialize_sql``), not the text.
        """
        import duckdb

        try:
            tree = json.loads(self.con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
        except (duckdb.Error, TypeError, ValueError):
            return ""  # the read-only transaction still stops any write
        found, stack = set(), [tree]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if key in ("node", "query_node") and isinstance(value, dict):
                        kind = value.get("type")
                        if isinstance(kind, str) and kind not in READ_NODES:
                            found.add(kind.removesuffix("_QUERY_NODE").removesuffix("_NODE"))
                    stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)
        return "/".join(sorted(found))

    def _refresh(self) -> None:
        """Register every table's latest snapshot (zero-copy; only tables that moved)."""
        for name in sorted(self.source.table_names()):
            snap = self.source.snapshot(name)
            if self._views.get(name) is not snap:
                self.con.register(name, snap)
                self._views[name] = snap

    def close(self) -> None:
        self.con.close()


def _one_line(e: Exception, limit: int = 300) -> str:
    """DuckDB's message without its multi-line source excerpt, cut to ``limit`` characters."""
    lines = str(e).strip().splitlines() or [type(e).__name__]
    text = " ".join(lines[0].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _console_error(e: Exception) -> StatementError:
    import duckdb

    msg = _one_line(e)
    if isinstance(e, duckdb.PermissionException):
        return StatementRefused(
            "the SQL console reads only the registry tables (files, network and extensions are disabled): " + msg
        )
    if isinstance(e, duckdb.TransactionException) and "read-only" in msg:
        return StatementRefused(f"the statement would write: {_WRITE_HINT}")
    if isinstance(e, duckdb.InvalidInputException) and "configuration has been locked" in msg:
        return StatementRefused("the console's settings are locked: " + msg)
    return StatementError(msg)
