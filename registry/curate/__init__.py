"""Curation: validate, inspect, standardize, from_values, lookup and synonyms, vectorised.

Every entry point takes a *source* first — a registry class (all its records) or a query set
(only its rows), ``records.source.Source`` — which is how ``ULabel.validate(...)`` and
``ULabel.filter(...).validate(...)`` delegate here (``api.CanCurate`` holds the public
signatures). The algorithms are pure array functions (``matching``, ``validation``,
``standardization``, ``fuzzy``) on a reference polars DataFrame, testable without an
instance; ``scope.prepare`` turns a source into that DataFrame (the cached snapshot when the
query set is the whole registry, so derived lookup structures are cached on the table too).

Where this differs from LaminDB 2.12, on purpose:

- ``validate``: ``None``/NaN are never valid (LaminDB compares them as ``""``); one summary
  log line; mixed or non-string values raise ``InvalidArgument`` (a ``TypeError``) naming them.
- ``inspect``: also reports, per unique value, the tier that matched (exact, casing, synonym),
  the record's uid and typo suggestions (``InspectResult.table``, ``.unmatched``,
  ``.suggest()``); casing is reported for every registry, not only those with synonyms; logs
  print the exact next call.
- ``standardize``: the casing tier applies to every field and registry (LaminDB skips it for
  registries without synonyms); values that map to nothing are reported (count, examples,
  next call) instead of passing through silently; with ``keep=False`` candidates are
  de-duplicated and case variants of one synonym are grouped together; ``public_aware`` is
  accepted, but there are no public sources yet.
- ``from_values``: records come back in input order (LaminDB: database order); no parameter
  limit (LaminDB failed past ~57k values on SQLite); ``create=True`` also resolves casing and
  synonyms (``"T-cell"`` returns the existing ``T cell``) and creates one record per distinct
  new value; skipped values are a warning with the call that would create them.
- ``lookup``: built lazily (keys in a dict, records materialised on first access), so 10^6
  records take about a second instead of minutes; ``ln_`` and ``bt_`` prefixes both resolve.
- ``add_synonym``: keeps the stored order (existing first, new appended) instead of Python
  set order, checks conflicts with one vectorised pass, and needs no IPython.
"""

from __future__ import annotations

from .attribute_lookup import Lookup, lookup
from .creation import from_values
from .inspect_result import InspectResult
from .record_list import RecordList
from .standardization import standardize
from .validation import inspect, validate

__all__ = ["validate", "inspect", "standardize", "from_values", "lookup", "InspectResult", "Lookup", "RecordList"]
