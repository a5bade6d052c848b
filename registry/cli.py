"""Command line: ``registry demo`` (bulk validation on the default instance), ``registry sql``
(a DuckDB SQL console over the registries), ``registry info`` and ``registry compact``."""

from __future__ import annotations

import time

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, help="registry: LaminDB-style registries on Arrow, Delta Lake and DuckDB.")
console = Console()


def _open(path: str | None):
    import registry as ln

    if path:
        ln.init(path)
    inst = ln.settings.instance

    ln.ULabel._ensure_tables(inst)
    return ln, inst


@app.command()
def demo(
    n: int = typer.Option(1_000_000, help="how many messy values to curate"),
    path: str | None = typer.Option(None, help="instance directory (default: $REGISTRY_DIR or ~/.registry/default)"),
):
    """Import the Cell Ontology, then validate, inspect, standardize and search a column of messy labels."""
    ln, inst = _open(path)
    import registry.bio as bt
    from registry.bio.sources import import_cell_ontology, messy_values

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


@app.command()
def sql(
    query: str | None = typer.Argument(None, help="SQL to run; omit for an interactive console"),
    path: str | None = typer.Option(None, help="instance directory"),
    limit: int = typer.Option(50, help="rows to print"),
):
    """Run SQL (DuckDB dialect) over the registry tables: ulabel, user, celltype, artifact_ulabels, …"""
    ln, inst = _open(path)

    def run(q: str):
        try:
            out = ln.sql(q, instance=inst)
        except Exception as e:  # show the engine's message, keep the console alive
            console.print(f"[red]error:[/] {e}")
            return
        _print_arrow(out, limit)

    if query:
        run(query)
        return
    console.print(f"tables: {', '.join(sorted(inst.table_names()))}\nend statements with ';', quit with .exit")
    buf = ""
    while True:
        try:
            line = input("registry> " if not buf else "      ...> ")
        except EOFError:
            break
        if line.strip() in (".exit", ".quit", "exit", "quit"):
            break
        buf += line + "\n"
        if buf.strip().endswith(";"):
            run(buf.strip().rstrip(";"))
            buf = ""


@app.command()
def info(path: str | None = typer.Option(None, help="instance directory")):
    """Show the instance, user and row counts per registry."""
    ln, inst = _open(path)
    t = Table(title=f"instance {inst.root}")
    t.add_column("table")
    t.add_column("rows", justify="right")
    t.add_column("version", justify="right")
    t.add_column("files", justify="right")
    for name in sorted(inst.table_names()):
        snap = inst.snapshot(name)
        tab = inst.table(name)
        t.add_row(name, f"{snap.num_rows:,}", str(tab.version), str(tab.file_count))
    console.print(t)
    console.print(f"user: {ln.settings.user.handle}")


@app.command()
def compact(path: str | None = typer.Option(None, help="instance directory")):
    """Rewrite every table as one file of live rows and delete unreferenced files."""
    ln, inst = _open(path)
    out = inst.compact()
    console.print({k: v for k, v in out.items() if v})


def _print_arrow(out, limit: int) -> None:
    t = Table(show_lines=False)
    for name in out.column_names:
        t.add_column(name)
    for row in out.slice(0, limit).to_pylist():
        t.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(t)
    if out.num_rows > limit:
        console.print(f"… {out.num_rows - limit:,} more rows (use --limit)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
