"""What a type checker sees of the public surface; checked by mypy in tests/test_typing.py, never run.

Each ``assert_type`` line pins one promise of the API (issue 12, "a typed public surface"): fields
are generic descriptors, query sets are generic in their model, ``filter``/``get`` keep the class
they were called on, ``standardize`` returns what its input and ``return_mapper`` say.
"""

from __future__ import annotations

import datetime as dt
from typing import assert_type

import registry as ln
import registry.bio as bt
from registry.fields import DateTime, Integer, String

# fields: on an instance the value (None until set), on the class the field itself (for field=)
label = ln.ULabel(name="x")
assert_type(label.name, str | None)
assert_type(label.id, int | None)
assert_type(label.created_at, dt.datetime | None)
assert_type(ln.ULabel.name, String)
assert_type(ln.ULabel.id, Integer)
assert_type(ln.ULabel.created_at, DateTime)
assert_type(bt.Gene(symbol="TP53").symbol, str | None)

# query sets keep their model through the chain
labels = ln.ULabel.filter(name__startswith="x")
assert_type(ln.ULabel.filter(), ln.QuerySet[ln.ULabel])
assert_type(labels, ln.QuerySet[ln.ULabel])
assert_type(labels.exclude(name="y").order_by("name").all(), ln.QuerySet[ln.ULabel])
assert_type(ln.ULabel.filter(ln.Q(name="x") | ln.Q(name="y")), ln.QuerySet[ln.ULabel])
assert_type(bt.Gene.filter(symbol="TP53"), ln.QuerySet[bt.Gene])
assert_type(labels.first(), ln.ULabel | None)
assert_type(labels.one(), ln.ULabel)
assert_type(labels.one_or_none(), ln.ULabel | None)
assert_type(labels.get(name="x"), ln.ULabel)
assert_type(labels.list(), list[ln.ULabel])
assert_type(labels.count(), int)
for each in labels:
    assert_type(each, ln.ULabel)

# get, on the class
assert_type(ln.ULabel.get(name="x"), ln.ULabel)
assert_type(ln.ULabel.get("abcd1234"), ln.ULabel)
assert_type(bt.Gene.get(symbol="TP53"), bt.Gene)
assert_type(label.save(), ln.ULabel)

# standardize: a string gives a string, a list a list, return_mapper a mapping
assert_type(ln.ULabel.standardize("x"), str)
assert_type(ln.ULabel.standardize(["x", "y"]), list[str])
assert_type(ln.ULabel.standardize(["x", "y"], return_mapper=True), dict[str, str])
assert_type(labels.standardize(["x"]), list[str])
assert_type(bt.Gene.standardize(["tp53"], field=bt.Gene.symbol), list[str])
