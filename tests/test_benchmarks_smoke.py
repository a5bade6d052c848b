"""Smoke test of the comparison harness: ``compare`` at 10^3 for this project and the floor (no
LaminDB), then ``report``. Checks the structure of the JSON and the report, never a speed."""

from __future__ import annotations

import importlib.util
import json

import pytest

from benchmarks.compare import report, runner

HAS_MPL = importlib.util.find_spec("matplotlib") is not None  # the `bench` extra

WORKLOADS = {
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
}


@pytest.mark.slow  # four subprocesses each importing the stack: ~20 s of CPU
def test_compare_and_report_structure(tmp_path):
    out = tmp_path / "compare.json"
    runner.main(
        ["--sizes", "1e3", "--systems", "registry,floor", "--no-ontology", "--warm-runs", "1", "--out", str(out)]
    )
    doc = json.loads(out.read_text())
    meta = doc["meta"]
    assert meta["sizes"] == [1000] and meta["systems"] == ["registry", "floor"]
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["memory_bytes"] > 0
    assert meta["versions"]["polars"] and meta["versions"]["duckdb"]
    got = {(r["system"], r["workload"]) for r in doc["rows"]}
    for system in ("registry", "floor"):
        assert {w for s, w in got if s == system} == WORKLOADS, system
    for r in doc["rows"]:
        assert r["n"] == 1000 and r["status"] == "ok", r
        assert r["first_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["warm_s"] is None or r["warm_s"] > 0

    md = report.main(["--results", str(out)] + ([] if HAS_MPL else ["--no-plot"]))
    assert (tmp_path / "compare.md").read_text().strip() == md.strip()
    if HAS_MPL:
        assert (tmp_path / "compare.png").stat().st_size > 10_000
    header = "| " + " | ".join(report.HEAD) + " |"
    lines = md.splitlines()
    assert header in lines
    body = [x for x in lines[lines.index(header) + 2 :] if x.startswith("| ")]
    table_rows = [x for x in body if x.count("|") == len(report.HEAD) + 1]
    assert len(table_rows) >= len(WORKLOADS)  # one row per workload at the one size
    for w in WORKLOADS:
        assert any(x.startswith(f"| {report.TITLE[w]} | 1,000 |") for x in table_rows), w


def test_report_marks_timeouts_and_ratios(tmp_path):
    """A LaminDB timeout shows as '> budget' with an upper-bound ratio; ratios are ours/other."""
    rows = [
        {"system": "registry", "n": 10, "workload": "inspect", "status": "ok", "first_s": 0.2, "warm_s": 0.1},
        {"system": "floor", "n": 10, "workload": "inspect", "status": "ok", "first_s": 0.1, "warm_s": 0.05},
        {"system": "lamindb", "n": 10, "workload": "inspect", "status": "timeout", "budget_s": 30},
    ]
    doc = {"rows": rows, "meta": {}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    cells = report.load(path)["cells"]
    row = report.table({"cells": cells})[0]
    assert row[3] == "timeout > 30 s"
    assert row[5] == f"< {0.1 / 30:.2g}×"
    assert row[6] == "2× (2×)"
