"""A tiny benchmark harness: median of repeated runs, a rich table, and a JSON file per suite.

>>> bench = Bench("storage")  # doctest: +SKIP
>>> bench.measure("bulk save", 10**5, lambda: ln.save(make(10**5)), setup=...)  # doctest: +SKIP
>>> bench.report()  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


class Bench:
    """Collects (operation, n, median seconds, rows/s, extra) rows for one suite."""

    def __init__(self, name: str):
        self.name = name
        self.rows: list[dict] = []

    def measure(
        self,
        operation: str,
        n: int,
        fn: Callable[[], object],
        *,
        repeat: int = 3,
        setup: Callable[[], object] | None = None,
        rows: int | None = None,
        note: str = "",
        peer: float | None = None,
        peer_name: str = "",
        per: int = 1,
    ) -> float:
        """Run ``fn`` ``repeat`` times (``setup`` before each, untimed); record and return the median.

        ``per``: ``fn`` makes that many calls and the figure is per call (latency).
        ``peer`` is a peer's median seconds for the same work, reported as a ratio.
        """
        times = []
        for _ in range(repeat):
            if setup is not None:
                setup()
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / per)
        median = statistics.median(times)
        count = rows if rows is not None else (1 if per > 1 else n)
        row = {
            "operation": operation,
            "n": n,
            "median_s": median,
            "min_s": min(times),
            "runs": repeat,
            "rows_per_s": count / median if median > 0 else float("inf"),
            "note": note,
        }
        if peer is not None:
            row["peer"] = peer_name
            row["peer_s"] = peer
            row["ratio_vs_peer"] = peer / median if median > 0 else float("inf")
        self.rows.append(row)
        print(f"  {operation:<48} n={n:>10,}  median {median * 1000:10.3f} ms", flush=True)
        return median

    def report(self) -> Path:
        """Print the table and write ``benchmarks/results/<name>.json``."""
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"benchmark: {self.name}")
        for col in ("operation", "n", "median", "rows/s", "vs peer", "note"):
            table.add_column(col, justify="right" if col in ("n", "median", "rows/s", "vs peer") else "left")
        for r in self.rows:
            ratio = f"{r['ratio_vs_peer']:.1f}x {r['peer']}" if "ratio_vs_peer" in r else ""
            table.add_row(
                r["operation"], f"{r['n']:,}", _fmt_s(r["median_s"]), f"{r['rows_per_s']:,.0f}", ratio, r["note"]
            )
        Console(width=160).print(table)
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"{self.name}.json"
        meta = {
            "suite": self.name,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        out.write_text(json.dumps({"meta": meta, "rows": self.rows}, indent=2))
        print(f"wrote {out}")
        return out


def _fmt_s(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def sizes(max_n: int, start: int = 1000) -> list[int]:
    """Powers of ten from ``start`` to ``max_n``."""
    out, n = [], start
    while n <= max_n:
        out.append(n)
        n *= 10
    return out


def parser(description: str, default_max: int = 10**6) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--max-n", type=int, default=default_max, help=f"largest size to run (default {default_max:,})")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median is reported)")
    return p
