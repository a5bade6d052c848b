"""Time one workload within a budget and append its result as a JSON line (stdlib only).

The LaminDB side imports this from its own interpreter, so it must not import anything outside
the standard library. A budget is enforced with ``SIGALRM``: Python code is interrupted at the
next bytecode, a long C call (one SQL statement) at its end; the runner also kills the whole
process past its own limit, and the lines written so far survive.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import signal
import statistics
import sys
import time
from collections.abc import Callable


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise ``Timeout`` inside the block once ``seconds`` have passed (main thread only)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the process's own address space;
    ``ru_maxrss`` (the fallback) can carry the parent's peak across fork + exec."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status") as fh:
            line = next(x for x in fh if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Writes one JSON line per workload to ``out`` (appending), tagged with system and size."""

    def __init__(self, out: str, system: str, n: int, budget: float, warm_runs: int = 3):
        self.out, self.system, self.n, self.budget, self.warm_runs = out, system, n, budget, warm_runs

    def emit(self, row: dict) -> dict:
        row = {
            "system": self.system,
            "n": self.n,
            **row,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "load1": round(os.getloadavg()[0], 2),
        }
        with open(self.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        first, warm = row.get("first_s"), row.get("warm_s")
        shown = row["status"] if row["status"] != "ok" else f"first {_fmt(first)}  warm {_fmt(warm)}"
        print(f"  [{self.system:>8} n={self.n:>9,}] {row['workload']:<18} {shown}", file=sys.stderr, flush=True)
        return row

    def run(
        self,
        workload: str,
        fn: Callable[[], object],
        *,
        setup: Callable[[], object] | None = None,
        warm: bool = True,
        rows: int | None = None,
        note: str = "",
        budget: float | None = None,
        warm_fn: Callable[[], object] | None = None,
        per: int = 1,
        cold: Callable[[], object] | None = None,
        warm_runs: int | None = None,
        progress: Callable[[], float] | None = None,
    ) -> dict:
        """First call, then up to ``warm_runs`` warm calls (median), all within the budget.

        ``setup`` runs untimed before every call, ``cold`` before the first one only.
        ``warm_fn`` (default ``fn``) makes ``per`` calls; the warm figure is per call.
        ``progress`` (share of the work done, 0-1) is recorded with a timeout, so the report
        can give the rate reached before the budget ran out. A first call past the budget is recorded as
        ``status: timeout``; warm calls stop early when the next one would not fit.
        """
        budget = self.budget if budget is None else budget
        row = {"workload": workload, "rows": rows if rows is not None else self.n, "note": note, "budget_s": budget}
        t_start = time.perf_counter()
        times: list[float] = []
        cpu: list[float] = []  # process CPU seconds (all threads): robust to other processes' load
        try:
            with deadline(budget):
                for k in range(1 + ((self.warm_runs if warm_runs is None else warm_runs) if warm else 0)):
                    if k and time.perf_counter() - t_start + times[-1] * 1.2 > budget:
                        break
                    if setup is not None:
                        setup()
                    if not k and cold is not None:
                        cold()
                    gc.collect()
                    call = fn if not k or warm_fn is None else warm_fn
                    div = per if k and warm_fn is not None else 1
                    c0, t0 = time.process_time(), time.perf_counter()
                    call()
                    cpu.append((time.process_time() - c0) / div)
                    times.append((time.perf_counter() - t0) / div)
        except Timeout:
            if not times:
                done = {"progress": round(progress(), 4)} if progress is not None else {}
                return self.emit({**row, "status": "timeout", "first_s": None, "warm_s": None, **done})
        except Exception as exc:  # a failing workload is a result, not a crash of the run
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if not times:
                return self.emit({**row, "status": "error", "error": msg, "first_s": None, "warm_s": None})
            row["note"] = (note + "; " if note else "") + f"warm run failed: {msg}"
        return self.emit(
            {
                **row,
                "status": "ok",
                "first_s": times[0],
                "warm_s": statistics.median(times[1:]) if len(times) > 1 else None,
                "warm_runs": len(times) - 1,
                "first_cpu_s": cpu[0] if cpu else None,
                "warm_cpu_s": statistics.median(cpu[1 : len(times)]) if len(times) > 1 else None,
            }
        )


def lookup_attr(names: list[str]) -> str:
    """The attribute ``lookup()`` gives the first plain name (letters, digits, spaces) in both systems."""
    import re

    name = next(x for x in names if re.fullmatch(r"[a-z][a-z0-9 ]*", x))
    return name.replace(" ", "_")


def _fmt(s):
    if s is None:
        return "-"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def machine() -> dict:
    """Cores, memory and load, for the results' header."""
    mem = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) * 1024
    return {
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "loadavg": os.getloadavg(),
        "python": sys.version.split()[0],
        "platform": sys.platform,
    }
