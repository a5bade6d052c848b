"""Foundation figures: bulk save, single-record save, get latency, cold open.

LaminDB 2.12 on this kind of machine: 58 s to create and 9 s to save 10^5 records, 14 ms per
``get`` (121 ms at 10^6). Run: ``python -m benchmarks.bench_storage [--max-n 1000000]``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import Bench, parser, sizes

LAMINDB_CREATE_1E5 = 58.0
LAMINDB_SAVE_1E5 = 9.0
LAMINDB_GET = 0.014


def main() -> None:
    args = parser(__doc__).parse_args()
    import registry as ln

    bench = Bench("storage")
    root = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    state = {}

    for n in sizes(args.max_n):
        names = [f"label {i}" for i in range(n)]

        def setup(n=n, names=names):
            path = root / f"bulk-{n}-{time.perf_counter_ns()}"
            ln.init(path)
            state["records"] = [ln.ULabel(name=x) for x in names]

        def construct(names=names):
            state["built"] = [ln.ULabel(name=x) for x in names]

        peer = {"peer": LAMINDB_CREATE_1E5 * n / 1e5, "peer_name": "LaminDB (scaled)"} if n == 10**5 else {}
        bench.measure("construct n ULabel records", n, construct, repeat=args.repeat, **peer)
        peer = {"peer": LAMINDB_SAVE_1E5, "peer_name": "LaminDB"} if n == 10**5 else {}
        bench.measure(
            "ln.save(records) bulk, one commit",
            n,
            lambda: ln.save(state["records"]),
            setup=setup,
            repeat=args.repeat,
            **peer,
        )

    # Latency on the largest registry built above.
    n = sizes(args.max_n)[-1]
    big = root / "big"
    ln.init(big)
    records = [ln.ULabel(name=f"label {i}") for i in range(n)]
    ln.save(records)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, n, 200)
    uids = [records[i].uid for i in picks]
    ln.ULabel.get(name="label 0"), ln.ULabel.get(uids[0]), ln.ULabel.get(1)  # build lookup indexes once

    def per_call(fn, k):
        t0 = time.perf_counter()
        for i in range(k):
            fn(i)
        return (time.perf_counter() - t0) / k

    for label, fn in [
        ("get(id) latency", lambda i: ln.ULabel.get(int(picks[i]) + 1)),
        ("get(uid) latency", lambda i: ln.ULabel.get(uids[i])),
        ("get(name=...) latency", lambda i: ln.ULabel.get(name=f"label {picks[i]}")),
        ("get(uid prefix) latency", lambda i: ln.ULabel.get(uids[i][:6])),
    ]:
        bench.measure(
            label,
            n,
            lambda fn=fn: per_call(fn, 200) * 200,
            repeat=args.repeat,
            per=200,
            note="per call, 200 random keys",
            peer=LAMINDB_GET if "name" in label else None,
            peer_name="LaminDB",
        )
    counter = iter(range(10**9))
    bench.measure(
        "single-record save latency",
        n,
        lambda: per_call(lambda i: ln.ULabel(name=f"single {next(counter)}").save(), 20) * 20,
        repeat=args.repeat,
        per=20,
        note="per call (one Delta commit each)",
    )

    # Copy-on-write changes: one record updated / deleted rewrites one bounded file.
    ids = iter((rng.permutation(n - 1000) + 500).tolist())

    def update_one(_):
        r = ln.ULabel.get(next(ids))
        r.description = "changed"
        r.save()

    bench.measure(
        "single-record update latency",
        n,
        lambda: per_call(update_one, 20) * 20,
        repeat=args.repeat,
        per=20,
        note="per call: get + save of one changed record (one Delta commit rewriting one file)",
    )
    bench.measure(
        "single-record delete latency",
        n,
        lambda: per_call(lambda i: ln.ULabel.get(next(ids)).delete(), 20) * 20,
        repeat=args.repeat,
        per=20,
        note="per call: get + delete (row and its link rows in one transaction)",
    )

    # A reader whose state.json hint lags the log: reads must not reload the table each time.
    inst = ln.settings.instance
    state = (inst.root / "state.json").read_bytes()
    ln.ULabel(name="after the hint").save()
    (inst.root / "state.json").write_bytes(state)
    reader = ln.ULabel.using(str(inst.root))
    reader.count()
    bench.measure(
        "count() with state.json lagging the log",
        n,
        lambda: per_call(lambda i: reader.count(), 20) * 20,
        repeat=args.repeat,
        per=20,
        note="per call, separate read-only handle",
    )

    # Cold open: a new process opens the instance and loads the 10^n-row snapshot.
    code = textwrap.dedent(f"""
        import time
        t0 = time.perf_counter()
        import registry as ln
        t1 = time.perf_counter()
        ln.init({str(big)!r})
        rows = len(ln.ULabel._snapshot())
        t2 = time.perf_counter()
        print(t1 - t0, t2 - t1, rows)
    """)
    imports, opens = [], []

    def cold():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        imports.append(float(out[0]))
        opens.append(float(out[1]))

    for _ in range(args.repeat):
        cold()
    bench.rows.append(
        {
            "operation": "cold open + load snapshot (new process)",
            "n": n,
            "median_s": float(np.median(opens)),
            "min_s": min(opens),
            "runs": len(opens),
            "rows_per_s": n / float(np.median(opens)),
            "note": f"import registry: {np.median(imports):.2f} s extra",
        }
    )
    print(f"  cold open {np.median(opens):.3f} s (import {np.median(imports):.3f} s)")
    bench.report()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
