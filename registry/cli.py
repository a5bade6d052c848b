"""Command line: ``registry init | info | sql | validate | import-source | doctor | compact | demo``.

Every command exits 0 on success and non-zero on an error, printing one line that names the
problem and the fix (``--debug`` shows the traceback instead). ``validate`` exits 1 when
values stay invalid and 2 on usage errors, so it fits pipelines and pre-commit hooks.
Reading commands never create an instance; ``registry init PATH`` (and ``demo``) do.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from enum import StrEnum
from pathlib import Path

import click
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="registry: LaminDB-style registries on Arrow, Delta Lake and DuckDB.",
)
console = Console()
errors = Console(stderr=True, highlight=False)
_STATE = {"debug": False}

PATH_HELP = "instance directory (default: $REGISTRY_DIR or ~/.registry/default)"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class UsageProblem(Exception):
    """A mistake in how a command was called: exit status 2."""


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    from .errors import RegistryError

    if isinstance(e, (RegistryError, OSError, UsageProblem)):
        return text
    return f"{type(e).__name__}: {text} (run with --debug for the traceback)"


def _fail(e: BaseException, code: int) -> None:
    if _STATE["debug"]:
        raise e
    errors.print(f"error: {_one_line(e)}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _command(fn):
    """Turn any exception into one line on stderr and exit status 1 (2 for usage problems)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            errors.print("interrupted")
            raise typer.Exit(130) from None
        except UsageProblem as e:
            _fail(e, 2)
        except Exception as e:  # noqa: BLE001 - the one place every error becomes a line
            _fail(e, 1)

    return wrapper


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"registry {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
    debug: bool = typer.Option(False, "--debug", help="show full tracebacks instead of one-line errors"),
):
    """registry: LaminDB-style registries on Arrow, Delta Lake and DuckDB."""
    _STATE["debug"] = debug


# -- instances ------------------------------------------------------------------------------------
def _root(path: str | None) -> Path:
    from .settings import default_dir

    return (Path(path).expanduser() if path else default_dir()).resolve()


def _open(path: str | None, *, create: bool = False):
    """Open the instance at ``path`` (default instance if None); never create one unless asked."""
    from .errors import InstanceError

    root = _root(path)
    if not create and not (root / "instance.json").exists():
        why = "is not a registry instance" if root.exists() else "does not exist"
        raise InstanceError(f"'{root}' {why}; create an instance with: registry init {root}")
    import registry as ln

    ln.init(root)
    inst = ln.settings.instance
    ln.ULabel._ensure_tables(inst)
    return ln, inst


@app.command()
@_command
def init(
    path: str = typer.Argument(..., help="directory of the new (or existing) instance"),
    name: str | None = typer.Option(None, help="a name for Record.using(name)"),
):
    """Create an instance in PATH (or open it if it exists)."""
    existed = (_root(path) / "instance.json").exists()
    ln, inst = _open(path, create=True)
    if name:
        ln.init(inst.root, name=name)
    verb = "opened existing" if existed else "created"
    console.print(f"{verb} instance {inst.root} (user: {ln.settings.user.handle})", highlight=False)


# -- output ---------------------------------------------------------------------------------------
def _plain(frame):
    """Nested columns as JSON text, so CSV can hold them."""
    import polars as pl

    nested = [c for c, t in frame.schema.items() if t.is_nested() or t == pl.Object]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(c).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.String) for c in nested
    )


def _emit(table, fmt: Format, output: str | None, limit: int | None = None, title: str | None = None) -> None:
    """Print or write an Arrow table as a rich table, CSV or JSON (to stdout or ``output``)."""
    import polars as pl

    frame = pl.from_arrow(table) if not isinstance(table, pl.DataFrame) else table
    if isinstance(frame, pl.Series):
        frame = frame.to_frame()
    if fmt == Format.table and output and Path(output).suffix.lower() in (".csv", ".json"):
        fmt = Format(Path(output).suffix.lower()[1:])
    if fmt == Format.csv:
        text = _plain(frame).write_csv()
    elif fmt == Format.json:
        text = json.dumps(frame.to_dicts(), default=str, indent=1) + "\n"
    else:
        out = Console(file=open(output, "w"), width=200) if output else console  # noqa: SIM115
        t = Table(title=title, show_lines=False)
        for name in frame.columns:
            t.add_column(name)
        shown = frame if limit is None else frame.head(limit)
        for row in shown.iter_rows():
            t.add_row(*("" if v is None else str(v) for v in row))
        out.print(t)
        if limit is not None and frame.height > limit:
            out.print(f"… {frame.height - limit:,} more rows (use --limit, or --format csv)")
        if output:
            out.file.close()
        return
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


FORMAT_OPT = typer.Option(Format.table, "--format", "-f", help="table, csv or json")
OUTPUT_OPT = typer.Option(None, "--output", "-o", help="write to this file instead of the terminal")


# -- info -----------------------------------------------------------------------------------------
@app.command()
@_command
def info(
    path: str | None = typer.Option(None, help=PATH_HELP),
    fmt: Format = FORMAT_OPT,
    output: str | None = OUTPUT_OPT,
):
    """Show the instance, the user and rows, version and files per table."""
    import pyarrow as pa

    ln, inst = _open(path)
    rows = []
    for name in sorted(inst.table_names()):
        snap = inst.snapshot(name)
        tab = inst.table(name)
        rows.append({"table": name, "rows": snap.num_rows, "version": tab.version, "files": tab.file_count})
    table = pa.Table.from_pylist(rows)
    if fmt == Format.json or (output and Path(output).suffix.lower() == ".json"):
        user = ln.settings.user.handle
        text = json.dumps({"instance": str(inst.root), "user": user, "tables": rows}, indent=1) + "\n"
        Path(output).write_text(text) if output else sys.stdout.write(text)
        return
    _emit(table, fmt, output, title=f"instance {inst.root}")
    if fmt == Format.table and not output:
        console.print(f"user: {ln.settings.user.handle}", highlight=False)


# -- sql ------------------------------------------------------------------------------------------
CONSOLE_HELP = """\
.tables            list the tables with their row counts (also: SHOW TABLES)
.schema NAME       columns and types of table NAME
.help              this help
.exit / .quit      leave (or Ctrl-D)
Anything else is SQL (DuckDB dialect, read-only); end a statement with ';'."""


def _tables_frame(inst):
    import pyarrow as pa

    rows = [{"table": n, "rows": inst.snapshot(n).num_rows} for n in sorted(inst.table_names())]
    return pa.Table.from_pylist(rows, schema=pa.schema([("table", pa.string()), ("rows", pa.int64())]))


def _schema_frame(inst, name: str):
    import pyarrow as pa

    from .errors import InvalidArgument, did_you_mean

    names = sorted(inst.table_names())
    if name not in names:
        raise InvalidArgument(f"no table {name!r}" + (did_you_mean(name, names) or "") + "; list them with .tables")
    schema = inst.snapshot(name).schema
    return pa.Table.from_pylist([{"column": f.name, "type": str(f.type)} for f in schema])


def _console_command(inst, text: str):
    """The console's own commands (``.tables``, ``.schema``, ``SHOW TABLES``); None: it is SQL."""
    stripped = text.strip().rstrip(";").strip()
    low = " ".join(stripped.lower().split())
    if low in (".tables", "show tables", ".table"):
        return _tables_frame(inst)
    if low.startswith(".schema"):
        parts = stripped.split()
        if len(parts) != 2:
            from .errors import InvalidArgument

            raise InvalidArgument("usage: .schema NAME (list the names with .tables)")
        return _schema_frame(inst, parts[1])
    if low in (".help", "help", ".h", "?"):
        return CONSOLE_HELP
    return None


@app.command()
@_command
def sql(
    query: str | None = typer.Argument(None, help="SQL to run; omit for an interactive console"),
    path: str | None = typer.Option(None, help=PATH_HELP),
    limit: int = typer.Option(50, help="rows to print as a table"),
    fmt: Format = FORMAT_OPT,
    output: str | None = OUTPUT_OPT,
):
    """Run read-only SQL (DuckDB dialect) over the registry tables: ulabel, user, celltype, …"""
    ln, inst = _open(path)

    def run(q: str) -> None:
        special = _console_command(inst, q)
        if isinstance(special, str):
            console.print(special, markup=False, highlight=False)
            return
        out = special if special is not None else ln.sql(q, instance=inst)
        _emit(out, fmt, output, limit=limit)

    if query is not None:
        run(query)
        return
    interactive = sys.stdin.isatty()
    if interactive:
        console.print(
            f"tables: {', '.join(sorted(inst.table_names()))}\n.help for help, .exit to quit", highlight=False
        )
    failed = 0
    buf = ""
    while True:
        try:
            line = input("registry> " if not buf else "      ...> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        line = line.rstrip("\n")
        if not buf and line.strip() in (".exit", ".quit", "exit", "quit"):
            break
        if not buf and (line.strip().startswith(".") or line.strip().lower().rstrip(";").strip() == "show tables"):
            statement = line
        else:
            buf += line + "\n"
            if not buf.strip().endswith(";"):
                continue
            statement, buf = buf.strip().rstrip(";"), ""
        if not statement.strip():
            continue
        try:
            run(statement)
        except Exception as e:  # noqa: BLE001 - keep the console alive
            if _STATE["debug"]:
                raise
            failed += 1
            errors.print(f"error: {_one_line(e)}", markup=False, soft_wrap=True)
    if buf.strip():
        try:
            run(buf.strip().rstrip(";"))
        except Exception as e:  # noqa: BLE001
            failed += 1
            errors.print(f"error: {_one_line(e)}", markup=False, soft_wrap=True)
    if failed and not interactive:
        raise typer.Exit(1)


# -- validate ---------------------------------------------------------------------------------------
def _parse_columns(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        col, sep, field = spec.partition("=")
        if not sep or not col.strip() or not field.strip():
            raise UsageProblem(f"--column takes COL=REGISTRY.FIELD (e.g. cell_type=bt.CellType.name), got {spec!r}")
        out[col.strip()] = field.strip()
    return out


_TIER_STYLE = {"validated": "green", "case": "yellow", "synonym": "yellow", "fuzzy": "red", "new": "red"}


def _summary(curator, title: str) -> Table:
    from .curators.report import TIERS

    t = Table(title=title)
    for c in ("column", "field", "distinct", *TIERS, "missing"):
        t.add_column(c, justify="left" if c in ("column", "field") else "right")
    for key, r in curator.reports.items():
        counts = [r.count(tier) for tier in TIERS]
        cells = [
            f"[{_TIER_STYLE[tier]}]{k:,}[/]" if k and tier != "validated" else f"{k:,}"
            for tier, k in zip(TIERS, counts, strict=True)
        ]
        t.add_row(key, r.field, f"{r.n_unique:,}", *cells, f"{r.n_missing:,}")
    return t


def _write_report(frame, out: str) -> None:
    suffix = Path(out).suffix.lower()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".json":
        Path(out).write_text(json.dumps(frame.to_dicts(), indent=1) + "\n")
    elif suffix in (".csv", ".tsv"):
        frame.write_csv(out, separator="," if suffix == ".csv" else "\t")
    else:
        raise UsageProblem(f"--report writes .csv, .tsv, .parquet or .json; got '{out}'")


COLUMN_OPT = typer.Option(
    ...,
    "--column",
    "-c",
    help="COL=REGISTRY.FIELD, e.g. cell_type=bt.CellType.name (repeatable; var_index for genes)",
)
ADD_NEW_OPT = typer.Option(
    [], "--add-new", help="save the unknown values of this column as records (repeatable; 'all')"
)


@app.command()
@_command
def validate(
    file: str = typer.Argument(..., help="a .parquet, .csv, .tsv or .h5ad file"),
    column: list[str] = COLUMN_OPT,
    path: str | None = typer.Option(None, help=PATH_HELP),
    report: str | None = typer.Option(
        None, help="write one row per distinct value (tier, suggestion) to .csv/.parquet/.json"
    ),
    standardize: str | None = typer.Option(None, help="write the file with casing/synonym variants fixed to this path"),
    add_new: list[str] = ADD_NEW_OPT,
    organism: str | None = typer.Option(None, help="organism for registries that have one (e.g. human)"),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="progress bar (default: on large files)"
    ),
):
    """Validate columns of a dataset against registry fields; exit 0 if all valid, 1 if not, 2 on usage errors."""
    from .curators import AnnDataCurator, DataFrameCurator
    from .curators.curator import VAR_INDEX
    from .curators.dataset import file_kind
    from .errors import FieldError, InstanceError, InvalidArgument
    from .logging import logger

    try:
        fields = _parse_columns(column)
        for col in add_new:
            if col != "all" and col not in fields:
                raise UsageProblem(f"--add-new {col}: not one of the --column names ({', '.join(fields)})")
        if not Path(file).exists():
            raise UsageProblem(f"no such file: '{file}'")
        kind = file_kind(file)
        if standardize is not None:
            out_kind = file_kind(standardize)
            if (kind == "h5ad") != (out_kind == "h5ad"):
                raise UsageProblem(
                    f"--standardize {standardize}: write a {'.h5ad' if kind == 'h5ad' else '.parquet/.csv/.tsv'} file"
                )
        if report is not None and Path(report).suffix.lower() not in (".csv", ".tsv", ".parquet", ".json"):
            raise UsageProblem(f"--report writes .csv, .tsv, .parquet or .json; got '{report}'")
        ln, inst = _open(path)
        curator: AnnDataCurator | DataFrameCurator
        if kind == "h5ad":
            var = fields.pop(VAR_INDEX, None)
            curator = AnnDataCurator(file, obs=fields, var_index=var, organism=organism, progress=progress)
        else:
            curator = DataFrameCurator(file, columns=fields, organism=organism, progress=progress)
    except (InvalidArgument, FieldError, InstanceError, FileNotFoundError) as e:
        raise UsageProblem(str(e)) from None

    level = logger.level
    logger.setLevel("ERROR")  # the command prints its own summary
    try:
        t0 = time.perf_counter()
        curator.validate()
        dt = time.perf_counter() - t0
        n_rows = max((r.n_rows for r in curator.reports.values()), default=0)
        console.print(_summary(curator, f"{Path(file).name}: {n_rows:,} rows, validated in {dt:.2f} s"))
        for key, r in curator.reports.items():
            shown = r.table.filter(r.table["tier"] != "validated").head(5)
            for row in shown.iter_rows(named=True):
                if row["standardized"]:
                    hint = f" → {row['standardized']}"
                elif row["suggestion"]:
                    hint = f", did you mean {row['suggestion']!r}?"
                else:
                    hint = ""
                console.print(
                    f"  {key}: {row['value']!r} ({row['tier']}, {row['count']:,} rows){hint}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
        if report:
            _write_report(curator.report(), report)
            console.print(f"wrote report: {report}", highlight=False)
        if add_new:
            keys = list(curator.fields) if "all" in add_new else add_new
            records = curator.add_new_from(keys)
            console.print(f"saved {len(records):,} new records for {', '.join(keys)}", highlight=False)
        if standardize:
            curator.standardize(output=standardize)
            n_fixed = sum(len(r.mapper) for r in curator.reports.values())
            console.print(f"wrote {standardize} ({n_fixed:,} distinct values standardized)", highlight=False)
    finally:
        logger.setLevel(level)
    remaining = {}
    for key, r in curator.reports.items():
        bad = r.new if standardize else r.non_validated
        if bad:
            remaining[key] = bad
    if remaining:
        parts = [
            f"{k} ({len(v):,}: {', '.join(map(repr, v[:3]))}{', …' if len(v) > 3 else ''})"
            for k, v in remaining.items()
        ]
        fix = "" if standardize else " --standardize OUT fixes casing/synonyms,"
        errors.print(
            f"invalid values remain in {', '.join(parts)};{fix} --add-new COL saves new ones, --report OUT lists all",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print("all values validated", highlight=False)


# -- import-source / doctor / compact ---------------------------------------------------------------
@app.command("import-source")
@_command
def import_source(
    entity: str = typer.Argument(..., help="a bio registry, e.g. CellType, Tissue, Disease, Gene"),
    organism: str | None = typer.Option(None, help="organism (Gene: human, mouse, …)"),
    source: str | None = typer.Option(None, help="source name or version (default: the shipped one)"),
    path: str | None = typer.Option(None, help=PATH_HELP),
):
    """Import a public reference (ontology, gene table) into a bio registry."""
    from .curators import resolve_field

    try:
        model, _ = resolve_field(entity)
    except Exception as e:  # noqa: BLE001
        raise UsageProblem(str(e)) from None
    fn = getattr(model, "import_source", None)
    if fn is None:
        from . import errors as errs

        raise getattr(errs, "SourceNotAvailable", errs.RegistryError)(
            f"{model.__name__} has no public source to import in this version; "
            f"add records with ln.save([...]) or {model.__name__}.from_values(values, create=True).save()"
        )
    ln, inst = _open(path)
    before = len(model._snapshot(inst))
    t0 = time.perf_counter()
    kwargs = {k: v for k, v in (("source", source), ("organism", organism)) if v is not None}
    fn(**kwargs)  # shows its own progress bar
    after = len(model._snapshot(inst))
    console.print(
        f"{model.__name__}: {after - before:,} new records ({after:,} in registry) in {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )


@app.command()
@_command
def doctor(
    path: str | None = typer.Option(None, help=PATH_HELP),
    repair: bool = typer.Option(False, "--repair", help="repair what can be repaired"),
):
    """Check an instance's files and logs; exit 0 when healthy, 1 when problems remain."""
    from .errors import InstanceError

    root = _root(path)
    if not (root / "instance.json").exists():
        raise InstanceError(f"'{root}' is not a registry instance; create one with: registry init {root}")
    try:
        from .storage import doctor as doctor_mod
    except ImportError:
        raise InstanceError(
            "registry doctor is not available in this build (registry.storage.doctor is missing)"
        ) from None
    rep = doctor_mod.check(root, repair=repair)
    console.print(rep.format(), markup=False, highlight=False)
    if not rep.ok:
        raise typer.Exit(1)


@app.command()
@_command
def compact(path: str | None = typer.Option(None, help=PATH_HELP)):
    """Rewrite every table as one file of live rows and delete unreferenced files."""
    ln, inst = _open(path)
    out = inst.compact()
    console.print({k: v for k, v in out.items() if v})


@app.command()
@_command
def demo(
    n: int = typer.Option(1_000_000, help="how many messy values to curate"),
    path: str | None = typer.Option(None, help=PATH_HELP),
):
    """Import the Cell Ontology, then validate, inspect, standardize and search a column of messy labels."""
    ln, inst = _open(path, create=True)
    import registry.bio as bt
    from registry.bio.models import import_cell_ontology
    from registry.bio.sources import messy_values

    console.rule(f"[bold]registry demo[/] on {inst.root}")
    timings = Table(title=f"curating {n:,} cell-type labels against bt.CellType", show_lines=False)
    for col in ("step", "seconds", "result"):
        timings.add_column(col, justify="right" if col == "seconds" else "left")

    def step(name, fn, describe):
        t0 = time.perf_counter()
        with console.status(f"{name} …"):
            out = fn()
        dt = time.perf_counter() - t0
        timings.add_row(name, f"{dt:.3f}", describe(out))
        return out

    step(
        "import Cell Ontology (first run only)",
        import_cell_ontology,
        lambda k: f"{k:,} new CellType records; {len(bt.CellType._snapshot()):,} in registry",
    )
    values = step(
        "generate messy labels",
        lambda: messy_values(n),
        lambda v: "50% names, 20% synonyms, 10% UPPER, 10% typos, 10% unknown",
    )
    ok = step(
        "CellType.validate(values)",
        lambda: bt.CellType.validate(values, mute=True),
        lambda r: f"{r.mean():.1%} validated (exact, case-sensitive)",
    )
    res = step(
        "CellType.inspect(values)",
        lambda: bt.CellType.inspect(values, mute=True),
        lambda r: f"{len(r.validated):,} valid / {len(r.non_validated):,} not, {len(r.synonyms_mapper):,} mappable",
    )
    std = step(
        "CellType.standardize(values)",
        lambda: bt.CellType.standardize(values, mute=True),
        lambda s: f"{int((np.asarray(s, dtype=object) != values).sum()):,} values changed",
    )
    ok2 = step(
        "validate(standardized)",
        lambda: bt.CellType.validate(std, mute=True),
        lambda r: f"{r.mean():.1%} validated after standardize",
    )
    hits = step(
        "CellType.search('lymphocite')",
        lambda: bt.CellType.search("lymphocite").df(),
        lambda d: f"top hit: {d['name'].iloc[0]!r}",
    )
    console.print(timings)
    del ok, ok2, hits

    table = res.table if hasattr(res, "table") else None
    if table is not None:
        import polars as pl

        t = table if isinstance(table, pl.DataFrame) else pl.from_pandas(table)
        counts = t.group_by("tier").len().sort("len", descending=True)
        tiers = Table(title="inspect: unique values by match tier")
        tiers.add_column("tier")
        tiers.add_column("unique values", justify="right")
        for tier, k in counts.iter_rows():
            tiers.add_row(str(tier), f"{k:,}")
        console.print(tiers)
        sample = t.filter(pl.col("tier") == "fuzzy").head(5)
        if len(sample):
            fz = Table(title="typos: fuzzy suggestions from inspect")
            for c in ("value", "suggestion"):
                fz.add_column(c)
            for row in sample.iter_rows(named=True):
                sug = row.get("suggestions") or row.get("name")
                fz.add_row(str(row["value"]), str(sug[0] if isinstance(sug, list) and sug else sug))
            console.print(fz)
    console.print(
        "\nnext: [bold]python -m registry sql \"SELECT name, synonyms FROM celltype WHERE name ILIKE '%T cell%' LIMIT 5\"[/]"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
