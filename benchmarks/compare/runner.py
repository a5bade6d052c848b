"""``python -m benchmarks compare``: every system, every size, one sitting -> results/compare.json.

Order per size: write the data (untimed), then for each system a "save" process (construct +
bulk save) and a fresh "read" process (open, then every read/curation/search workload). The
ontology import runs once per system at the end. LaminDB is installed into its own venv on
first use (``benchmarks/.venv-lamindb``, pinned versions) and gets a fresh offline SQLite
instance per size under a throw-away ``$HOME``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from benchmarks.compare import data
from benchmarks.compare.timing import machine

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
VENV = ROOT / "benchmarks" / ".venv-lamindb"
LAMINDB_PINS = ["lamindb==2.12.1", "bionty==2.5.2"]
SYSTEMS = ("registry", "floor", "lamindb")
MODULE = {"registry": "benchmarks.compare.side_ours", "floor": "benchmarks.compare.side_floor"}


def parse_sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_lamindb(log) -> dict:
    """Create the LaminDB venv if it is missing or broken; return install facts."""
    py = venv_python()
    ok = py.exists() and subprocess.run([py, "-c", "import lamindb, bionty"], capture_output=True).returncode == 0
    info = {"venv": str(VENV), "installed_now": not ok}
    if not ok:
        t0 = time.perf_counter()
        log(f"installing {' '.join(LAMINDB_PINS)} into {VENV} (a few minutes, once)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", *LAMINDB_PINS], check=True)
        info["install_s"] = round(time.perf_counter() - t0, 1)
    out = subprocess.run(
        [py, "-c", "from importlib.metadata import version as v; print(v('lamindb'), v('bionty'), v('django'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    info.update(lamindb=out[0], bionty=out[1], django=out[2])
    return info


class Lamin:
    """A throw-away $HOME holding LaminDB's settings, and one instance per size."""

    def __init__(self, work: Path):
        self.home = work / "lamin-home"
        self.cwd = self.home / "work"  # LaminDB refuses $HOME itself as its working directory
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "PYTHONPATH": str(ROOT),
            "LAMIN_ENV": os.environ.get("LAMIN_ENV", "prod"),
        }

    def init(self, storage: Path) -> None:
        lamin = VENV / "bin" / "lamin"
        subprocess.run(
            [lamin, "init", "--storage", storage, "--modules", "bionty"],
            cwd=self.cwd,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def run(self, args: list, timeout: float) -> int:
        return _run([venv_python(), "-m", "benchmarks.compare.side_lamindb", *args], self.cwd, self.env, timeout)


def _run(cmd: list, cwd, env, timeout: float) -> int:
    try:
        return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"  killed after {timeout:.0f} s: {' '.join(map(str, cmd[1:4]))}", file=sys.stderr)
        return -9


def versions() -> dict:
    out = {"registry_git": _git_rev()}
    for pkg in ("polars", "pyarrow", "duckdb", "rapidfuzz", "deltalake", "numpy", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _git_rev() -> str | None:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or None


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m benchmarks compare", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1e3,1e4,1e5,1e6", help="registry sizes, comma-separated")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="any of registry,floor,lamindb")
    p.add_argument("--budget", type=float, default=30, help="seconds per LaminDB workload before 'timeout'")
    p.add_argument("--ours-budget", type=float, default=300, help="seconds per registry/floor workload")
    p.add_argument("--batch-max", type=int, default=10**5, help="largest size for the 1,000-query search batch")
    p.add_argument("--warm-runs", type=int, default=3, help="warm repeats after each first call (median)")
    p.add_argument("--no-ontology", action="store_true", help="skip the ontology import workload")
    p.add_argument("--out", type=Path, default=RESULTS / "compare.json")
    p.add_argument("--work", type=Path, default=None, help="scratch directory (default: a new temp dir)")
    a = p.parse_args(argv)
    sizes = parse_sizes(a.sizes)
    systems = [s for s in a.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        p.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    t_start = time.perf_counter()
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    lines = work / "rows.jsonl"
    lines.unlink(missing_ok=True)

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    meta = {
        "command": "python -m benchmarks compare " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {**machine(), "node": platform.machine()},
        "versions": versions(),
        "sizes": sizes,
        "systems": systems,
        "budget_s": {"lamindb": a.budget, "registry": a.ours_budget, "floor": a.ours_budget},
    }
    lamin = None
    if "lamindb" in systems:
        meta["lamindb"] = ensure_lamindb(log)
        lamin = Lamin(work)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    common = ["--out", lines, "--warm-runs", a.warm_runs]
    for n in sizes:
        log(f"size {n:,}: writing data")
        d = data.write(work / "data", n)
        for system in systems:
            log(f"size {n:,}: {system}")
            args = ["--n", n, "--data", d, *common]
            if system == "lamindb":
                lamin.init(work / f"lamin-{n}")
                budget = ["--budget", a.budget, "--batch-max", a.batch_max]
                lamin.run(["--phase", "save", *args, *budget], timeout=a.budget * 3 + 600)
                lamin.run(["--phase", "read", *args, *budget], timeout=a.budget * 14 + 120)
            else:
                inst = work / f"{system}-{n}"
                extra = ["--budget", a.ours_budget, "--batch-max", a.batch_max]
                for phase in ("save", "read"):
                    _run(
                        [sys.executable, "-m", MODULE[system], "--phase", phase, *args, "--inst", inst, *extra],
                        ROOT,
                        env,
                        a.ours_budget * 14,
                    )
                shutil.rmtree(inst, ignore_errors=True)
    if not a.no_ontology:
        for system in systems:
            log(f"ontology import: {system}")
            args = ["--phase", "ontology", "--n", 0, *common]
            if system == "lamindb":
                lamin.init(work / "lamin-ontology")
                lamin.run([*args, "--budget", a.budget * 4], timeout=a.budget * 4 + 120)
            else:
                inst = work / f"{system}-ontology"
                _run(
                    [sys.executable, "-m", MODULE[system], *args, "--inst", inst, "--budget", a.ours_budget],
                    ROOT,
                    env,
                    a.ours_budget * 3,
                )
    rows = [json.loads(x) for x in lines.read_text().splitlines()] if lines.exists() else []
    meta["total_s"] = round(time.perf_counter() - t_start, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    tmp.replace(a.out)
    log(f"wrote {a.out} ({len(rows)} rows) in {meta['total_s']:.0f} s")
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return a.out
