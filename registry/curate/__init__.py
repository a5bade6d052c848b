"""Curation: validate, inspect, standardize, from_values, lookup and synonyms, vectorised.

Every entry point takes a *scope* first — a Record class (the whole registry) or a QuerySet
(only its rows) — which is how ``ULabel.validate(...)`` and ``ULabel.filter(...).validate(...)``
delegate here. The algorithms themselves are pure polars functions in ``matching``,
``validation``, ``standardization`` and ``fuzzy``, testable without an instance.
"""

from __future__ import annotations

from .attribute_lookup import Lookup, lookup
from .creation import from_values
from .inspect_result import InspectResult
from .record_list import RecordList
from .standardization import standardize
from .validation import inspect, validate

__all__ = ["validate", "inspect", "standardize", "from_values", "lookup", "InspectResult", "Lookup", "RecordList"]
