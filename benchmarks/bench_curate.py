"""Curation at scale: validate / inspect / standardize / from_values / lookup vs the polars floor.

Registry: ``bt.CellType`` with R records (name, ontology_id, two synonyms each). Values: a
Python list of n strings, 65% exact names, 20% synonyms, 10% case variants, 5% unknown
(for from_values: every record once, shuffled, with the same share of synonyms/casing).

"cold" runs clear the curation caches before each run (lower-cased keys, exploded synonyms,
lookup keys are rebuilt); "warm" runs reuse them, as repeated calls on an unchanged registry
do. The registry snapshot itself is always warm (loaded once per process).

The floor is a plain polars ``is_in`` of the same list against the name column
(``pl.Series(values).is_in(names)``), the cheapest exact membership test there is.

    python -m benchmarks.bench_curate [--max-n 1000000] [--max-values 10000000]
"""

from __future__ import annotations

import logging
import tempfile
import time

import numpy as np
import polars as pl

from benchmarks.harness import Bench, parser, sizes

# LaminDB 2.12 on this kind of machine (2 cores), R = n = 10^5 and 10^6 (DESIGN.md, issue 4)
PEER = {
    ("validate", 10**5): 0.11,
    ("inspect", 10**5): 2.0,
    ("standardize", 10**5): 0.83,
    ("from_values", 10**5): 2.7,
    ("lookup", 10**5): 4.8,
    ("inspect", 10**6): 23.5,
    ("standardize", 10**6): 11.4,
    ("lookup", 10**6): 200.0,  # "> 200 s": a lower bound
}
PEER_NAME = "LaminDB 2.12"


def names_of(idx: np.ndarray) -> list[str]:
    return [f"cell type {i}" for i in idx]


def build_registry(path: str, r: int) -> float:
    import registry as ln
    import registry.bio as bt

    ln.init(path)
    t0 = time.perf_counter()
    step = 100_000
    for start in range(0, r, step):
        stop = min(r, start + step)
        ln.save(
            [
                bt.CellType(name=f"cell type {i}", ontology_id=f"CL:{i:07d}", synonyms=f"ct-{i}|syn {i}")
                for i in range(start, stop)
            ]
        )
    bt.CellType._snapshot_pl()  # warm the snapshot
    return time.perf_counter() - t0


def make_values(n: int, r: int, seed: int = 0, *, permutation: bool = False) -> list[str]:
    """65% exact, 20% synonyms, 10% upper-case, 5% unknown (unknown only when not a permutation)."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(r)[:n] if permutation else rng.integers(0, r, n)
    kind = rng.random(n)
    out = np.array(names_of(idx), dtype=object)
    syn = (kind >= 0.65) & (kind < 0.85)
    case = (kind >= 0.85) & (kind < 0.95)
    unknown = kind >= 0.95
    out[syn] = [f"ct-{i}" for i in idx[syn]]
    out[case] = [f"CELL TYPE {i}" for i in idx[case]]
    if not permutation:
        out[unknown] = [f"cel typo {i}" for i in idx[unknown]]
    return out.tolist()


def main() -> None:
    p = parser(__doc__.splitlines()[0], default_max=10**6)
    p.add_argument("--max-values", type=int, default=10**7, help="largest value count for the scaling run")
    p.add_argument("--from-values-max", type=int, default=10**5, help="largest from_values size")
    args = p.parse_args()
    rep = args.repeat

    import registry  # noqa: F401  (configures logging)
    from registry.curate.scope import clear_cache

    logging.getLogger("registry").setLevel(logging.CRITICAL)  # the work is done, the lines are not printed
    bench = Bench("curate")

    def measure(op, n, fn, *, cold=True, peer_key=None, note="", setup=None):
        peer = PEER.get((peer_key, n)) if peer_key else None
        return bench.measure(
            op,
            n,
            fn,
            repeat=rep,
            setup=clear_cache if cold else setup,
            note=note,
            peer=peer,
            peer_name=PEER_NAME if peer else "",
        )

    largest_r = None
    for r in sizes(args.max_n):
        registry_sizes(measure, bench, r, args, clear_cache)
        largest_r = r
    if largest_r:  # scaling in the number of values against the largest registry
        print(f"value scaling against {largest_r:,} records")
        for n in sizes(args.max_values):
            value_scaling(measure, bench, n, largest_r, rep)
    bench.report()


def registry_sizes(measure, bench: Bench, r: int, args, clear_cache) -> None:
    """Registry of r records, r values: every operation, cold and warm."""
    import registry.bio as bt

    rep = args.repeat
    tmp = tempfile.mkdtemp(prefix=f"bench_curate_{r}_")
    t_build = build_registry(tmp, r)
    print(f"registry of {r:,} CellType records built in {t_build:.1f} s")
    values = make_values(r, r, seed=1)
    names = bt.CellType._snapshot_pl().get_column("name")

    floor = bench.measure(
        "floor: pl.Series(values).is_in(names)",
        r,
        lambda: pl.Series(values, dtype=pl.String).is_in(names.implode()),
        repeat=rep,
    )
    v = measure("validate", r, lambda: bt.CellType.validate(values), cold=False, peer_key="validate")
    bench.rows[-1]["note"] = f"{v / floor:.2f}x floor"
    c = measure("inspect (cold index)", r, lambda: bt.CellType.inspect(values), peer_key="inspect")
    bench.rows[-1]["note"] = f"{c / floor:.2f}x floor"
    w = measure("inspect (warm index)", r, lambda: bt.CellType.inspect(values), cold=False)
    bench.rows[-1]["note"] = f"{w / floor:.2f}x floor"
    after_commit(measure, bench, "inspect", lambda: bt.CellType.inspect(values), r, c, w)
    s = measure("standardize (cold index)", r, lambda: bt.CellType.standardize(values), peer_key="standardize")
    bench.rows[-1]["note"] = f"{s / floor:.2f}x floor"
    w = measure("standardize (warm index)", r, lambda: bt.CellType.standardize(values), cold=False)
    bench.rows[-1]["note"] = f"{w / floor:.2f}x floor"
    after_commit(measure, bench, "standardize", lambda: bt.CellType.standardize(values), r, s, w)
    if r <= args.from_values_max:
        fv_values = make_values(r, r, seed=2, permutation=True)
        measure(
            "from_values (all exist, cold index)",
            r,
            lambda: bt.CellType.from_values(fv_values),
            peer_key="from_values",
            note="returns one record per value",
        )
        measure(
            "from_values (all exist, warm index)",
            r,
            lambda: bt.CellType.from_values(fv_values),
            cold=False,
            peer_key="from_values",
        )
        measure(
            "from_values + read every record's name",
            r,
            lambda: [rec.name for rec in bt.CellType.from_values(fv_values)],
            cold=False,
            note="records are created on first access",
        )
    measure("lookup() (cold)", r, lambda: bt.CellType.lookup(), peer_key="lookup")
    measure("lookup() (warm)", r, lambda: bt.CellType.lookup(), cold=False)
    lk = bt.CellType.lookup()
    measure("lookup().<attr> first access", r, lambda: lk.__dict__["_cache"].clear() or lk.cell_type_1, cold=False)
    clear_cache()


_saved = [0]


def after_commit(measure, bench: Bench, op: str, fn, r: int, cold: float, warm: float) -> None:
    """``op`` right after saving one new record (untimed): the cached index follows the append.

    Before curate indexes followed commits, this cost what a cold call costs (every derived
    structure rebuilt); the note compares it with both.
    """
    import registry.bio as bt

    def save_one():
        _saved[0] += 1
        k = _saved[0]
        bt.CellType(name=f"new cell type {k}", ontology_id=f"CL:9{k:06d}", synonyms=f"nct-{k}").save()

    fn()  # the index is warm for the current version
    t = measure(f"{op} after saving 1 record", r, fn, cold=False, setup=save_one)
    bench.rows[-1]["note"] = f"{t / cold:.2f}x cold, {t / warm:.2f}x warm"


def value_scaling(measure, bench: Bench, n: int, r: int, rep: int) -> None:
    """n values against the largest registry (warm index): linear in n?"""
    import registry.bio as bt

    values = make_values(n, r, seed=3)
    names = bt.CellType._snapshot_pl().get_column("name")
    floor = bench.measure(
        "scaling: floor is_in", n, lambda: pl.Series(values, dtype=pl.String).is_in(names.implode()), repeat=rep
    )
    v = measure("scaling: validate", n, lambda: bt.CellType.validate(values), cold=False)
    bench.rows[-1]["note"] = f"{v / floor:.2f}x floor"
    w = measure("scaling: inspect (warm index)", n, lambda: bt.CellType.inspect(values), cold=False)
    bench.rows[-1]["note"] = f"{w / floor:.2f}x floor"
    w = measure("scaling: standardize (warm index)", n, lambda: bt.CellType.standardize(values), cold=False)
    bench.rows[-1]["note"] = f"{w / floor:.2f}x floor"


if __name__ == "__main__":
    main()
