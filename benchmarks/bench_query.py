"""Query engine speed on a large ULabel registry: selective filters, count, huge ``in`` lists, df(include).

    python -m benchmarks.bench_query [--max-n 1000000] [--repeat 5]

Targets (issue 3) at 10^6 records, snapshot warm: a selective ``filter(...).df()`` and
``count()`` in single-digit milliseconds; ``filter(name__in=<10^5 values>)`` well under a
second; ``df(include=["created_by__name"])`` of 10^5 rows under a second. Every operation
runs once untimed first (loads the DuckDB table, builds lazy indexes), then ``repeat`` times.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import Bench, parser


def build(path: Path, n: int, n_users: int = 1000) -> None:
    import registry as ln

    ln.init(path)
    t0 = time.perf_counter()
    ln.save([ln.User(handle=f"user{i}", name=f"User {i}") for i in range(n_users)])
    user_ids = ln.User.filter().values_list("id", flat=True)
    rng = np.random.default_rng(0)
    creators = rng.choice(np.asarray(user_ids), size=n).tolist()
    order = rng.permutation(n).tolist()  # names in random order, so no scan gets lucky on sorted data
    ln.save(
        [
            ln.ULabel(name=f"label {i}", description=f"group {i % 1000}", created_by_id=c)
            for i, c in zip(order, creators, strict=True)
        ]
    )
    print(f"built {n:,} ULabels in {time.perf_counter() - t0:.1f} s", flush=True)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    n = args.max_n
    repeat = max(args.repeat, 3)
    import registry as ln

    bench = Bench("query")
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "inst", n)
        ln.init(Path(tmp) / "inst")
        mid = n // 2

        def measure(op, fn, rows=None, note=""):
            fn()  # warm: table load into DuckDB, lazy index build
            bench.measure(op, n, fn, repeat=repeat, rows=rows or 1, note=note)

        measure(
            "filter(name=x).df()", lambda: ln.ULabel.filter(name=f"label {mid}").df(), note="unique column, ART index"
        )
        measure("filter(name=x).count()", lambda: ln.ULabel.filter(name=f"label {mid}").count())
        measure("filter(name=x).first()", lambda: ln.ULabel.filter(name=f"label {mid}").first())
        prefix = f"label {mid // 100}"
        measure(
            "filter(name__startswith=p).df()",
            lambda: ln.ULabel.filter(name__startswith=prefix).df(),
            note=f"prefix '{prefix}'",
        )
        measure(
            "filter(description=x).count()",
            lambda: ln.ULabel.filter(description="group 7").count(),
            note=f"{n // 1000:,} hits, no index",
        )
        measure("filter(description=x).df()", lambda: ln.ULabel.filter(description="group 7").df(), rows=n // 1000)
        measure(
            "filter(name__icontains=s).count()",
            lambda: ln.ULabel.filter(name__icontains="99999").count(),
            note="full scan",
        )
        measure(
            "filter(created_by__handle=x).count()",
            lambda: ln.ULabel.filter(created_by__handle="user7").count(),
            note="FK subquery",
        )
        measure("exclude(created_by__handle=x).count()", lambda: ln.ULabel.exclude(created_by__handle="user7").count())
        measure("count() all", lambda: ln.ULabel.filter().count(), note="snapshot, no SQL")
        measure("Registry.df() (limit 100)", lambda: ln.ULabel.df())

        m = min(10**5, n)
        rng = np.random.default_rng(1)
        hits = rng.choice(n, size=m // 2, replace=False)
        values = [f"label {i}" for i in hits] + [f"missing {i}" for i in range(m - m // 2)]
        measure(
            f"filter(name__in=<{m:,}>).count()",
            lambda: ln.ULabel.filter(name__in=values).count(),
            rows=m,
            note="Arrow table join",
        )
        measure(f"filter(name__in=<{m:,}>).to_arrow()", lambda: ln.ULabel.filter(name__in=values).to_arrow(), rows=m)
        measure(f"filter(name__in=<{m:,}>).df()", lambda: ln.ULabel.filter(name__in=values).df(), rows=m // 2)

        measure(
            f"filter(id__lte={m:,}).df(include=created_by__name)",
            lambda: ln.ULabel.filter(id__lte=m).df(include=["created_by__name"]),
            rows=m,
        )
        measure(f"filter(id__lte={m:,}).df()", lambda: ln.ULabel.filter(id__lte=m).df(), rows=m)
        measure(f"[:{m:,}] list() records", lambda: ln.ULabel.filter().order_by("id")[:m].list(), rows=m)
    bench.report()


if __name__ == "__main__":
    main()
