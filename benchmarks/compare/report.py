"""``python -m benchmarks report``: one table (operation x size) and log-log plots from results/compare.json.

Writes ``results/compare.md`` (the table, the targets met or missed, and the profile notes for
the missed ones) and ``results/compare.png`` (time against size, one line per system; solid =
warm call, dashed = first call; a triangle at the budget = LaminDB timed out). Ratios are
taken within the one run, so the machine's noise mostly cancels.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
NOTES = Path(__file__).resolve().parent / "NOTES.md"
SYSTEMS = ("registry", "lamindb", "floor")
LABEL = {"registry": "registry (this project)", "lamindb": "LaminDB", "floor": "floor"}
ORDER = [
    "construct",
    "save",
    "open",
    "get",
    "filter_df",
    "count",
    "df_include",
    "validate",
    "inspect",
    "standardize",
    "from_values",
    "lookup",
    "search",
    "search_batch",
    "ontology_import",
    "import_source",
]
TITLE = {
    "construct": "construct n records",
    "save": "bulk save (ln.save)",
    "open": "import + open + count (new process)",
    "get": "get(name=...)",
    "filter_df": "filter(name=...).df()",
    "count": "filter(name__startswith).count()",
    "df_include": "df(include=created_by__handle), all rows",
    "validate": "validate(n values)",
    "inspect": "inspect(n values)",
    "standardize": "standardize(n values)",
    "from_values": "from_values(n names)",
    "lookup": "lookup() + attribute",
    "search": "search(one typo query)",
    "search_batch": "search(1,000 queries)",
    "ontology_import": "Cell Ontology import",
    "import_source": "bt.CellType.import_source()",
}
CURATION = ("validate", "inspect", "standardize", "from_values")


def load(path: Path, clock: str = "wall") -> dict:
    """The results keyed by (workload, n, system); ``clock="cpu"`` reads process CPU seconds instead."""
    doc = json.loads(Path(path).read_text())
    cells: dict = {}
    for r in doc["rows"]:
        if clock == "cpu" and r.get("status") == "ok":
            r = {**r, "first_s": r.get("first_cpu_s"), "warm_s": r.get("warm_cpu_s")}
            if r["first_s"] is None:
                continue
        cells[(r["workload"], r["n"], r["system"])] = r
    doc["cells"] = cells
    return doc


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def cell_text(r: dict | None) -> str:
    """'first / warm' for one system, or why there is no figure."""
    if r is None:
        return ""
    if r["status"] == "timeout":
        est = f" (≈ {fmt_s(r['budget_s'] / r['progress'])} at the rate reached)" if r.get("progress") else ""
        return f"timeout > {r['budget_s']:.0f} s{est}"
    if r["status"] == "error":
        return "error"
    if r.get("warm_s") is None:
        return fmt_s(r["first_s"])
    return f"{fmt_s(r['first_s'])} / {fmt_s(r['warm_s'])}"


def best(r: dict | None, which: str) -> float | None:
    if r is None or r["status"] != "ok":
        return None
    if which == "warm" and r.get("warm_s") is not None:
        return r["warm_s"]
    return r["first_s"]


def ratio_text(ours: dict | None, other: dict | None) -> str:
    """ours / other for warm (and first when it differs); '< x' when the other timed out."""
    if ours is None or other is None or ours["status"] != "ok":
        return ""
    if other["status"] == "timeout":
        return f"< {best(ours, 'warm') / other['budget_s']:.2g}×"
    if other["status"] != "ok":
        return ""
    w = best(ours, "warm") / best(other, "warm")
    f = ours["first_s"] / other["first_s"]
    if ours.get("warm_s") is None or other.get("warm_s") is None:
        return f"{f:.2g}×"
    return f"{w:.2g}× ({f:.2g}×)"


def table(doc: dict) -> list[list[str]]:
    cells = doc["cells"]
    ns = sorted({n for (_, n, _) in cells})
    rows = []
    for w in ORDER:
        for n in ns:
            got = {s: cells.get((w, n, s)) for s in SYSTEMS}
            if not any(got.values()):
                continue
            rows.append(
                [
                    TITLE.get(w, w),
                    f"{n:,}",
                    cell_text(got["registry"]),
                    cell_text(got["lamindb"]),
                    cell_text(got["floor"]),
                    ratio_text(got["registry"], got["lamindb"]),
                    ratio_text(got["registry"], got["floor"]),
                ]
            )
    return rows


HEAD = ["operation", "n", "registry", "LaminDB", "floor", "registry/LaminDB", "registry/floor"]


def targets(doc: dict) -> list[tuple[str, str, bool | None, str]]:
    """(target, size, met?, figure) for the issue's targets at 10^5 and 10^6."""
    cells = doc["cells"]
    out = []
    for n in (10**5, 10**6):
        for w in (*CURATION, "search", "search_batch"):
            ours, floor = cells.get((w, n, "registry")), cells.get((w, n, "floor"))
            if not ours or not floor or ours["status"] != "ok" or floor["status"] != "ok":
                continue
            if w.startswith("search"):
                r = best(ours, "warm") / best(floor, "warm")
                out.append((f"{w} warm ≤ 3× rapidfuzz pass", f"{n:,}", r <= 3, f"{r:.2f}×"))
                continue
            rw = best(ours, "warm") / best(floor, "warm")
            rf = ours["first_s"] / floor["first_s"]
            out.append((f"{w} warm ≤ 2× floor", f"{n:,}", rw <= 2, f"{rw:.2f}×"))
            out.append((f"{w} first ≤ 4× floor", f"{n:,}", rf <= 4, f"{rf:.2f}×"))
    save = cells.get(("save", 10**6, "registry"))
    if save and save["status"] == "ok":
        s = best(save, "warm")
        out.append(("bulk save < 1 s", "1,000,000", s < 1, f"{fmt_s(s)} (first {fmt_s(save['first_s'])})"))
    op = cells.get(("open", 10**6, "registry"))
    if op and op["status"] == "ok":
        out.append(("import registry + open < 0.5 s", "1,000,000", op["first_s"] < 0.5, fmt_s(op["first_s"])))
    return out


def target_rows(wall: dict, cpu: dict | None) -> list[str]:
    """The targets table: each target's figure and verdict on the wall clock and on CPU time."""
    tw = targets(wall)
    tc = {(t, n): (ok, fig) for t, n, ok, fig in targets(cpu)} if cpu else {}
    rows = ["| target | n | wall | met (wall) | CPU | met (CPU) |", "|---|---:|---:|---|---:|---|"]
    for t, n, ok, fig in tw:
        c_ok, c_fig = tc.get((t, n), (None, ""))
        verdict = "" if c_ok is None else ("yes" if c_ok else "**no**")
        rows.append(f"| {t} | {n} | {fig} | {'yes' if ok else '**no**'} | {c_fig} | {verdict} |")
    return rows


def markdown(doc: dict, other: dict | None = None) -> str:
    """The run's header, the operation x size table and the targets (``other``: the CPU-clock view)."""
    meta = doc["meta"]
    m = meta["machine"]
    v = meta["versions"]
    lam = meta.get("lamindb", {})
    lines = [
        f"Run `{meta['command']}` on {meta['when']}: {m['cores']} cores, "
        f"{(m['memory_bytes'] or 0) / 2**30:.0f} GiB, load {m['loadavg'][0]:.1f} at the start; "
        f"registry {v.get('registry_git')}, polars {v.get('polars')}, pyarrow {v.get('pyarrow')}, "
        f"duckdb {v.get('duckdb')}, rapidfuzz {v.get('rapidfuzz')}"
        + (f"; LaminDB {lam.get('lamindb')} + bionty {lam.get('bionty')} (Django {lam.get('django')})" if lam else "")
        + f"; whole run {meta.get('total_s', 0):.0f} s.",
        "",
        f"Clock: {'wall seconds' if doc.get('clock', 'wall') == 'wall' else 'process CPU seconds (all threads)'}. "
        "Each cell is `first call / warm call` (warm: median of up to 3 repeats); ratios are "
        "registry time ÷ the other's time, warm (first in parentheses): below 1× means faster.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(HEAD) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table(doc)]
    if targets(doc):
        lines += ["", "**Targets (issue 14), measured in this run** (ratios are registry ÷ floor):", ""]
        lines += target_rows(doc, other)
    return "\n".join(lines)


def scale_section(path: Path = RESULTS / "scale.json") -> str:
    """The scale run's figures (``python -m benchmarks scale``), if it was run."""
    if not path.exists():
        return ""
    doc = json.loads(path.read_text())
    lines = [
        "",
        "",
        f"**Scale** (`{doc['meta']['command'].strip()}`, {doc['meta']['when']}, registry only):",
        "",
        "| workload | rows | first / warm | rows/s | peak RSS | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in doc["rows"]:
        t = best(r, "first")
        rate = f"{r['rows'] / t:,.0f}" if t and r.get("rows", 1) > 1 else ""
        lines.append(
            f"| {r['workload']} | {r['rows']:,} | {cell_text(r)} | {rate} | {r['peak_rss_mb']:,.0f} MB | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def plot(doc: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = doc["cells"]
    works = [w for w in ORDER if any(k[0] == w for k in cells) and w not in ("ontology_import", "import_source")]
    cols = 4
    rows = math.ceil(len(works) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    colour = {"registry": "tab:blue", "lamindb": "tab:red", "floor": "tab:gray"}
    for ax, w in zip(axes.flat, works, strict=False):
        for s in SYSTEMS:
            pts = sorted((n, r) for (ww, n, ss), r in cells.items() if ww == w and ss == s)
            if not pts:
                continue
            ok = [(n, r) for n, r in pts if r["status"] == "ok"]
            warm = [(n, r["warm_s"]) for n, r in ok if r.get("warm_s") is not None]
            first = [(n, r["first_s"]) for n, r in ok]
            if warm:
                ax.plot(*zip(*warm, strict=True), "o-", color=colour[s], label=f"{LABEL[s]} warm")
            if first:
                ax.plot(*zip(*first, strict=True), "x--", color=colour[s], alpha=0.6, label=f"{LABEL[s]} first")
            to = [(n, r["budget_s"]) for n, r in pts if r["status"] == "timeout"]
            if to:
                ax.plot(*zip(*to, strict=True), "^", color=colour[s], ms=9, label=f"{LABEL[s]} timeout")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(TITLE.get(w, w), fontsize=9)
        ax.set_xlabel("registry size n", fontsize=8)
        ax.set_ylabel("seconds", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(works) :]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8)
    fig.suptitle(f"`{doc['meta']['command']}` ({doc['meta']['when']})", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- compare:begin (python -m benchmarks report --readme) -->", "<!-- compare:end -->"


def to_readme(md: str, readme: Path = README) -> None:
    """Replace the generated block of README.md (between the markers) with ``md``."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{md.strip()}\n{END}{tail}")


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser(prog="python -m benchmarks report", description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS / "compare.json")
    p.add_argument("--out-dir", type=Path, default=None, help="where compare.md / compare.png go (default: beside)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--readme", action="store_true", help="also replace the generated block in README.md")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall seconds, or process CPU seconds (all threads; robust to other processes' load)",
    )
    a = p.parse_args(argv)
    doc = load(a.results, a.clock)
    doc["clock"] = a.clock
    other = load(a.results, "cpu") if a.clock == "wall" else None
    out_dir = a.out_dir or a.results.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    md = markdown(doc, other) + scale_section()
    if NOTES.exists():
        md += "\n\n" + NOTES.read_text().strip()
    stem = a.results.stem + ("" if a.clock == "wall" else "-cpu")
    (out_dir / f"{stem}.md").write_text(md + "\n")
    print(md)
    if a.readme:
        to_readme(markdown(doc, other) + scale_section())
    if not a.no_plot:
        png = plot(doc, out_dir / f"{stem}.png")
        print(f"\nwrote {out_dir / f'{stem}.md'} and {png}")
    return md
