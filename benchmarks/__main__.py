"""Run every benchmark suite in turn: ``python -m benchmarks [--max-n N]``."""

from __future__ import annotations

import subprocess
import sys

SUITES = ["bench_storage", "bench_query", "bench_curate", "bench_search"]


def main() -> None:
    extra = sys.argv[1:]
    failed = []
    for suite in SUITES:
        print(f"\n=== {suite} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{suite}", *extra]).returncode:
            failed.append(suite)
    if failed:
        sys.exit(f"failed suites: {', '.join(failed)}")


if __name__ == "__main__":
    main()
