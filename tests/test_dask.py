"""registry.dask: validate / standardize on a Dask DataFrame equal the single-machine calls."""

from __future__ import annotations

import pytest

dd = pytest.importorskip("dask.dataframe")

import pandas as pd  # noqa: E402

import registry as ln  # noqa: E402
import registry.bio as bt  # noqa: E402
from registry import dask as rd  # noqa: E402


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    inst = ln.init(tmp_path_factory.mktemp("dask") / "instance")
    bt.CellType.import_source(progress=False)
    return inst


def test_dask_validate_and_standardize_equal_single_machine(cl):
    import random

    frame = bt.CellType.filter().to_polars()
    names = frame["name"].drop_nulls().to_list()
    syns = [s for x in frame["synonyms"].drop_nulls().to_list() for s in x.split("|") if s]
    rng = random.Random(5)
    values = [
        rng.choice([rng.choice(names), rng.choice(syns), rng.choice(names).upper(), "not a cell", "", None])
        for _ in range(3000)
    ]
    ddf = dd.from_pandas(pd.DataFrame({"cell_type": values}), npartitions=4)
    out = rd.standardize(rd.validate(ddf, "cell_type", bt.CellType.name), "cell_type", bt.CellType.name, output="std")
    got = out.compute(scheduler="threads")
    assert got["cell_type_validated"].tolist() == bt.CellType.validate(values, mute=True).tolist()
    want = bt.CellType.standardize(values, mute=True)
    assert [None if pd.isna(v) else v for v in got["std"].tolist()] == want
    assert sum(a != b for a, b in zip(want, values, strict=True)) > 100
    with pytest.raises(ln.errors.InvalidArgument, match="no column"):
        rd.validate(ddf, "nope", bt.CellType.name)
