"""Large-scale behaviour (run with ``pytest -m slow``): a 10^6-record registry end to end."""

from __future__ import annotations

import numpy as np
import pytest
from registry.storage import Instance

import registry as ln

pytestmark = pytest.mark.slow

N = 1_000_000


def test_million_records_save_query_validate_and_reopen(instance):
    names = [f"label {i}" for i in range(N)]
    records = [ln.ULabel(name=x) for x in names]
    ln.save(records)
    assert records[-1].id == N and len({r.uid for r in records[:: N // 1000]}) == 1000
    assert ln.ULabel.get(name="label 123456").id == 123457
    assert ln.ULabel.get(records[999_999].uid) == records[999_999]
    assert ln.ULabel.filter(name__startswith="label 99999").count() == 11
    values = np.array(names[::2] + [f"unknown {i}" for i in range(1000)], dtype=object)
    ok = ln.ULabel.validate(values, mute=True)
    assert ok.sum() == N // 2 and not ok[-1000:].any()
    # row versions and tombstones fold away in compaction; a new handle sees the same rows
    records[0].description = "edited"
    records[0].save()
    records[1].delete()
    instance.compact(["ulabel"])
    fresh = Instance.open(instance.root)
    ln.ULabel._ensure_tables(fresh)
    snap = fresh.snapshot("ulabel")
    assert snap.num_rows == N - 1
    assert snap.column("description")[0].as_py() == "edited"
