"""Render ``benchmarks/results/*.json`` as Markdown tables (for README.md): ``python -m benchmarks.summary``."""

from __future__ import annotations

import json

from benchmarks.harness import RESULTS, _fmt_s

ORDER = ["storage", "query", "curate", "search"]


def render(suite: str) -> str:
    data = json.loads((RESULTS / f"{suite}.json").read_text())
    lines = [
        f"**{suite}** ({data['meta']['when']})",
        "",
        "| operation | n | median | vs peer | note |",
        "|---|---:|---:|---:|---|",
    ]
    for r in data["rows"]:
        peer = f"{r['ratio_vs_peer']:.1f}× faster than {r['peer']}" if "ratio_vs_peer" in r else ""
        lines.append(f"| {r['operation']} | {r['n']:,} | {_fmt_s(r['median_s'])} | {peer} | {r.get('note', '')} |")
    return "\n".join(lines)


def main() -> None:
    print("\n\n".join(render(s) for s in ORDER if (RESULTS / f"{s}.json").exists()))


if __name__ == "__main__":
    main()
