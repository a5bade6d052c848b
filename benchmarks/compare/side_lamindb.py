"""LaminDB's side, run by the venv's interpreter (``benchmarks/.venv-lamindb``), never by ours.

    HOME=<tmp> PYTHONPATH=<repo> .venv-lamindb/bin/python -m benchmarks.compare.side_lamindb --phase ...

The instance is a local SQLite one made offline without login (``lamin init --storage DIR
--modules bionty`` under a throw-away ``$HOME``, by the runner). ``from_source=False`` wherever
LaminDB would otherwise go to the network, and ``ln.settings.creation.search_names = False``
(its faster creation mode: no similar-name query per record). When constructing the records
runs past its budget, the registry is filled for the read workloads with one SQL
``executemany`` into the same table (uids then are ``b`` + a counter; noted in the results).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.compare.timing import Recorder, lookup_attr

SYSTEM = "lamindb"


def _import():
    import lamindb as ln

    ln.settings.creation.search_names = False
    import bionty as bt

    return ln, bt


def phase_save(rec: Recorder, data: Path) -> None:
    import pyarrow.parquet as pq

    ln, bt = _import()
    t = pq.read_table(data / "registry.parquet")
    names, oids, syns = (t.column(c).to_pylist() for c in ("name", "ontology_id", "synonyms"))
    state: dict = {}

    def construct():
        state["recs"] = recs = []
        for a, b, c in zip(names, oids, syns, strict=True):
            recs.append(bt.CellType(name=a, ontology_id=b, synonyms=c))

    r = rec.run(
        "construct",
        construct,
        warm=False,
        note="records from Python values (search_names=False)",
        progress=lambda: len(state.get("recs") or []) / len(names),
    )
    if r["status"] == "ok":
        r = rec.run("save", lambda: ln.save(state["recs"]), warm=False, note="ln.save(records)")
    if r["status"] != "ok":
        state.clear()
        populate(ln, bt, names, oids, syns)
    assert bt.CellType.filter().count() == rec.n


def populate(ln, bt, names, oids, syns) -> None:
    """Fill the registry through SQL when the ORM path ran out of budget (not timed)."""
    from django.db import connection, transaction

    bt.CellType.filter().delete(permanent=True)
    head = min(100, len(names))
    ln.save([bt.CellType(name=names[i], ontology_id=oids[i], synonyms=syns[i]) for i in range(head)])
    table = bt.CellType._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} LIMIT 1")
        cols = [d[0] for d in cur.description]
        template = list(cur.fetchone())
    keep = [c for c in cols if c != "id"]
    pos = {c: keep.index(c) for c in ("uid", "name", "ontology_id", "synonyms")}
    base = [template[cols.index(c)] for c in keep]

    def rows():
        for i in range(head, len(names)):
            row = list(base)
            row[pos["uid"]] = f"b{i:013d}"
            row[pos["name"]], row[pos["ontology_id"]], row[pos["synonyms"]] = names[i], oids[i], syns[i]
            yield row

    sql = f"INSERT INTO {table} ({', '.join(keep)}) VALUES ({', '.join(['%s'] * len(keep))})"
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(sql, rows())


def phase_read(rec: Recorder, data: Path) -> None:
    c0, t0 = time.process_time(), time.perf_counter()
    ln, bt = _import()
    t1 = time.perf_counter()
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
            "note": f"import lamindb+bionty {t1 - t0:.3f} s + count {t2 - t1:.3f} s (new process)",
        }
    )
    import pyarrow.parquet as pq

    values = pq.read_table(data / "values.parquet").column(0).to_pylist()
    fv = pq.read_table(data / "from_values.parquet").column(0).to_pylist()
    keys = pq.read_table(data / "keys.parquet").column(0).to_pylist()
    queries = pq.read_table(data / "queries.parquet").column(0).to_pylist()
    single = (data / "single_query.txt").read_text()
    prefix = (data / "prefix.txt").read_text()
    CT = bt.CellType

    def get_all():
        for k in keys:
            CT.get(name=k)

    rec.run("get", lambda: CT.get(name=keys[0]), warm_fn=get_all, per=len(keys), rows=1)
    rec.run("filter_df", lambda: CT.filter(name=keys[1]).to_dataframe(), rows=1)
    rec.run("count", lambda: CT.filter(name__startswith=prefix).count())
    rec.run("df_include", lambda: CT.filter().to_dataframe(include=["created_by__handle"], limit=None))
    rec.run("validate", lambda: CT.validate(values, mute=True))
    rec.run("inspect", lambda: CT.inspect(values, mute=True, from_source=False))
    rec.run("standardize", lambda: CT.standardize(values, mute=True, from_source=False))
    rec.run("from_values", lambda: CT.from_values(fv, mute=True))
    attr = lookup_attr(keys)
    rec.run("lookup", lambda: getattr(CT.lookup(), attr), note=f"lookup().{attr} (rebuilt on every call)")
    rec.run("search", lambda: CT.search(single).to_dataframe(), note=f"query {single!r}, limit 20")
    if rec.n <= BATCH_MAX[0]:
        done: list = []
        rec.run(
            "search_batch",
            lambda: done.clear() or [done.append(CT.search(q, limit=5).to_dataframe()) for q in queries],
            progress=lambda: len(done) / len(queries),
            rows=len(queries),
            warm_runs=1,
            note=f"{len(queries):,} search calls (no batch API)",
        )


BATCH_MAX = [10**5]


def phase_ontology(rec: Recorder) -> None:
    import pyarrow.parquet as pq

    ln, bt = _import()
    CL = Path(__file__).resolve().parents[2] / "registry" / "data" / "cell_ontology.parquet"
    terms = pq.read_table(CL).to_pylist()
    rec.n = len(terms)

    def load():
        bt.CellType.filter().delete(permanent=True)
        ln.save(
            [
                bt.CellType(
                    name=t["name"], ontology_id=t["ontology_id"], synonyms=t["synonyms"], description=t["description"]
                )
                for t in terms
            ]
        )

    rec.run(
        "ontology_import",
        load,
        warm=False,
        note="shipped Cell Ontology terms -> bt.CellType + ln.save (no parents; import_source needs the network)",
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--phase", required=True, choices=["save", "read", "ontology"])
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--data", type=Path)
    p.add_argument("--out", required=True)
    p.add_argument("--budget", type=float, default=60)
    p.add_argument("--warm-runs", type=int, default=3)
    p.add_argument("--batch-max", type=int, default=10**5)
    a = p.parse_args()
    BATCH_MAX[0] = a.batch_max
    rec = Recorder(a.out, SYSTEM, a.n, a.budget, a.warm_runs)
    if a.phase == "save":
        phase_save(rec, a.data)
    elif a.phase == "read":
        phase_read(rec, a.data)
    else:
        phase_ontology(rec)


if __name__ == "__main__":
    main()
