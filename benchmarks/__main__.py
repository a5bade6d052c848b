"""Benchmarks.

python -m benchmarks compare [--sizes 1e3,1e4,1e5,1e6]   # this project vs LaminDB vs the floor
python -m benchmarks report                              # table + plots from results/compare.json
python -m benchmarks scale                               # 10^8 streamed values, 10^7 records
python -m benchmarks [--max-n N]                         # the per-suite benchmarks (bench_*.py)
"""

from __future__ import annotations

import subprocess
import sys

SUITES = ["bench_storage", "bench_query", "bench_curate", "bench_search"]


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "compare":
        from benchmarks.compare.runner import main as compare

        compare(argv[1:])
        return
    if argv and argv[0] == "report":
        from benchmarks.compare.report import main as report

        report(argv[1:])
        return
    if argv and argv[0] == "scale":
        from benchmarks.compare.scale import main as scale

        scale(argv[1:])
        return
    failed = []
    for suite in SUITES:
        print(f"\n=== {suite} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{suite}", *argv]).returncode:
            failed.append(suite)
    if failed:
        sys.exit(f"failed suites: {', '.join(failed)}")


if __name__ == "__main__":
    main()
