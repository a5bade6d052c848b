"""This project's side: ``python -m benchmarks.compare.side_ours --phase save|read|ontology ...``.

Only the public API (``import registry as ln``, ``import registry.bio as bt``) is timed. The one
private call is the curation cache reset before a workload's first call (so "first" is a cold
index build, as after a restart); it is looked up defensively and skipped if it moved.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from benchmarks.compare.timing import Recorder, lookup_attr

SYSTEM = "registry"


def _clear_caches():
    try:
        from registry.curate.scope import clear_cache
    except ImportError:  # moved: first calls are then only as cold as the process is
        return
    clear_cache()


def phase_save(rec: Recorder, data: Path, inst: Path) -> None:
    import pyarrow.parquet as pq

    import registry as ln
    import registry.bio as bt

    t = pq.read_table(data / "registry.parquet")
    names, oids, syns = (t.column(c).to_pylist() for c in ("name", "ontology_id", "synonyms"))
    state: dict = {"k": 0}

    def construct():
        state["recs"] = [
            bt.CellType(name=a, ontology_id=b, synonyms=c) for a, b, c in zip(names, oids, syns, strict=True)
        ]

    rec.run("construct", construct, warm_fn=construct, note="records from Python values")
    paths = []

    def fresh():
        path = inst if not paths else inst.with_name(f"{inst.name}-warm{len(paths)}")
        shutil.rmtree(path, ignore_errors=True)
        paths.append(path)
        ln.init(path)
        if len(paths) > 1:
            construct()

    rec.warm_runs, warm_runs = 1, rec.warm_runs
    rec.run("save", lambda: ln.save(state["recs"]), setup=fresh, note="ln.save(records): one commit")
    rec.warm_runs = warm_runs
    for p in paths[1:]:
        shutil.rmtree(p, ignore_errors=True)


def phase_read(rec: Recorder, data: Path, inst: Path, t_import0: float) -> None:
    c0, t0 = time.process_time(), time.perf_counter()
    import registry as ln
    import registry.bio as bt

    t1 = time.perf_counter()
    ln.init(inst)
    count = bt.CellType.filter().count()
    t2 = time.perf_counter()
    assert count == rec.n, (count, rec.n)
    rec.emit(
        {
            "workload": "open",
            "status": "ok",
            "first_s": t2 - t0,
            "first_cpu_s": time.process_time() - c0,
            "warm_s": None,
            "rows": rec.n,
            "note": f"import registry {t1 - t0:.3f} s + open and load {t2 - t1:.3f} s (new process)",
        }
    )
    import pyarrow.parquet as pq

    values = pq.read_table(data / "values.parquet").column(0).to_pylist()
    fv = pq.read_table(data / "from_values.parquet").column(0).to_pylist()
    keys = pq.read_table(data / "keys.parquet").column(0).to_pylist()
    queries = pq.read_table(data / "queries.parquet").column(0).to_pylist()
    single = (data / "single_query.txt").read_text()
    prefix = (data / "prefix.txt").read_text()

    def get_all():
        for k in keys:
            bt.CellType.get(name=k)

    rec.run("get", lambda: bt.CellType.get(name=keys[0]), warm_fn=get_all, per=len(keys), rows=1)
    rec.run("filter_df", lambda: bt.CellType.filter(name=keys[1]).df(), rows=1)
    rec.run("count", lambda: bt.CellType.filter(name__startswith=prefix).count(), rows=rec.n)
    rec.run("df_include", lambda: bt.CellType.filter().df(include=["created_by__handle"], limit=None))
    cold = _clear_caches
    rec.run("validate", lambda: bt.CellType.validate(values, mute=True), cold=cold)
    rec.run("inspect", lambda: bt.CellType.inspect(values, mute=True), cold=cold)
    rec.run("standardize", lambda: bt.CellType.standardize(values, mute=True), cold=cold)
    rec.run("from_values", lambda: bt.CellType.from_values(fv, mute=True), cold=cold)
    attr = lookup_attr(keys)
    rec.run("lookup", lambda: getattr(bt.CellType.lookup(), attr), cold=cold, note=f"lookup().{attr}")
    rec.run("search", lambda: bt.CellType.search(single).df(), cold=cold, note=f"typo query {single!r}, limit 20")
    if rec.n > BATCH_MAX[0]:
        return
    rec.run(
        "search_batch",
        lambda: bt.CellType.search(queries, limit=5),
        cold=cold,
        rows=len(queries),
        warm_runs=1,
        note=f"{len(queries):,} queries in one call, limit 5",
    )


BATCH_MAX = [10**5]


def phase_ontology(rec: Recorder, inst: Path) -> None:
    import registry as ln
    import registry.bio as bt
    from registry.bio.models import import_cell_ontology
    from registry.bio.sources import cell_ontology

    terms = cell_ontology().num_rows
    rec.n = terms
    paths = []

    def fresh():
        path = inst.with_name(f"{inst.name}-{len(paths)}")
        shutil.rmtree(path, ignore_errors=True)
        paths.append(path)
        ln.init(path)

    rec.warm_runs, warm_runs = 2, rec.warm_runs
    rec.run(
        "ontology_import",
        import_cell_ontology,
        setup=fresh,
        note="shipped Cell Ontology -> bt.CellType (+ parents links), fresh instance",
    )
    if hasattr(bt.CellType, "import_source"):
        rec.run(
            "import_source",
            bt.CellType.import_source,
            setup=fresh,
            note="bt.CellType.import_source(), fresh instance",
        )
    rec.warm_runs = warm_runs
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)


def main() -> None:
    t_import0 = time.perf_counter()
    p = argparse.ArgumentParser()
    p.add_argument("--phase", required=True, choices=["save", "read", "ontology"])
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--data", type=Path)
    p.add_argument("--inst", type=Path, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--warm-runs", type=int, default=3)
    p.add_argument("--batch-max", type=int, default=10**5)
    a = p.parse_args()
    BATCH_MAX[0] = a.batch_max
    import logging

    logging.getLogger("registry").setLevel(logging.CRITICAL)
    rec = Recorder(a.out, SYSTEM, a.n, a.budget, a.warm_runs)
    if a.phase == "save":
        phase_save(rec, a.data, a.inst)
    elif a.phase == "read":
        phase_read(rec, a.data, a.inst, t_import0)
    else:
        phase_ontology(rec, a.inst)


if __name__ == "__main__":
    main()
