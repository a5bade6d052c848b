"""``Query``: the pure, immutable description of a query set (filters, ordering, slice, ranking).

A ``QuerySet`` wraps one of these plus a model and an instance; the translator turns it into
SQL. Each ``filter()`` call is kept as its own ``Q`` so that conditions on a many-valued
relation in *separate* calls may match different related records, while conditions in *one*
call must match the same one (Django's rule for ``filter(a).filter(b)`` vs ``filter(a, b)``).

Built with the schema map (``Query("ULabel", schemas)``), a ``Query`` resolves each field path
once, when the filter is added: a typo fails at ``filter()`` time, and the compiler and the
analysis (``registry.query.analysis``) use the resolved ``paths`` instead of resolving again.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..errors import FieldError, InvalidArgument, ValidationError
from ..schema import SchemaMap
from .paths import Path, resolve
from .q import Q, positional_error

NO_PATHS: Mapping[str, Path] = MappingProxyType({})


@dataclass(frozen=True, eq=False)
class Query:
    """Immutable query state; every method returns a new ``Query``.

    ``rank`` is an Arrow table with columns ``id``, ``score`` and ``pos`` (0, 1, …) restricting
    the rows to ``id`` and ordering them by ``pos`` (search results); ``None`` otherwise.
    ``paths`` maps every field path of ``wheres`` to its resolution from ``registry`` when the
    query has ``schemas`` (else it stays empty and the compiler resolves the paths itself).
    """

    registry: str
    schemas: SchemaMap | None = field(default=None, repr=False)
    wheres: tuple[Q, ...] = ()
    ordering: tuple[str, ...] = ()
    low: int = 0
    high: int | None = None
    distinct: bool = False
    rank: Any = None  # pyarrow.Table | None
    paths: Mapping[str, Path] = field(default_factory=lambda: NO_PATHS, repr=False)

    @property
    def is_sliced(self) -> bool:
        return self.low != 0 or self.high is not None

    @property
    def is_all(self) -> bool:
        """No filter, ordering, slice or ranking: the whole registry in id order."""
        return not self.wheres and not self.ordering and not self.is_sliced and self.rank is None

    def filter(self, *args: Any, **kwargs: Any) -> Query:
        for arg in args:
            if not isinstance(arg, Q):
                raise positional_error(arg, "filter")
        paths = self._resolve(kwargs, args)
        q = Q(*args, **kwargs)
        if not q:
            return self
        if self.is_sliced:
            raise InvalidArgument("cannot filter a query set once it is sliced; filter first, then slice")
        return replace(self, wheres=self.wheres + (q,), paths=paths)

    def exclude(self, *args: Any, **kwargs: Any) -> Query:
        for arg in args:
            if not isinstance(arg, Q):
                raise positional_error(arg, "exclude")
        paths = self._resolve(kwargs, args)
        q = Q(*args, **kwargs)
        if not q:
            return self
        if self.is_sliced:
            raise InvalidArgument("cannot exclude from a query set once it is sliced; exclude first, then slice")
        return replace(self, wheres=self.wheres + (~q,), paths=paths)

    def _resolve(self, keys: Iterable[str], nodes: Iterable[Q]) -> Mapping[str, Path]:
        """``paths`` plus the resolutions of ``keys`` and of the leaves of ``nodes`` (in that
        order, so the first bad path named is the first one written); unchanged without schemas."""
        if self.schemas is None:
            return self.paths
        try:
            schema = self.schemas[self.registry]
        except KeyError:
            raise FieldError(f"unknown registry '{self.registry}'; known: {', '.join(sorted(self.schemas))}") from None
        new: dict[str, Path] = {}
        for key in [*keys, *(k for node in nodes for k, _ in node.leaves())]:
            if key not in self.paths and key not in new:
                new[key] = resolve(self.schemas, schema, key)
        return MappingProxyType({**self.paths, **new}) if new else self.paths

    def order_by(self, *fields: str) -> Query:
        for f in fields:
            if not isinstance(f, str) or not f.lstrip("-"):
                raise InvalidArgument(f"order_by() takes field names such as 'name' or '-created_at', got {f!r}")
        if self.is_sliced:
            raise InvalidArgument("cannot reorder a query set once it is sliced; order first, then slice")
        return replace(self, ordering=tuple(fields))

    def reverse_ordering(self, default: tuple[str, ...] = ("id",)) -> Query:
        ordering = self.ordering or default
        flipped = tuple(f[1:] if f.startswith("-") else "-" + f for f in ordering)
        return replace(self, ordering=flipped)

    def with_distinct(self, on: bool = True) -> Query:
        return replace(self, distinct=on)

    def with_rank(self, rank: Any) -> Query:
        return replace(self, rank=rank)

    def slice(self, start: int | None, stop: int | None) -> Query:
        """Compose a Python slice with the current one (``qs[10:20][2:5]`` is rows 12–14)."""
        for v in (start, stop):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise InvalidArgument(f"query sets are sliced with integers, got {v!r}")
            if v is not None and v < 0:
                raise ValidationError(
                    "negative indexing is not supported on query sets; use .last() or order_by('-field')"
                )
        low, high = self.low, self.high
        new_low = low + (start or 0)
        if stop is None:
            new_high = high
        else:
            new_high = low + stop
            if high is not None:
                new_high = min(new_high, high)
        if high is not None:
            new_low = min(new_low, high)
        if new_high is not None and new_high < new_low:
            new_high = new_low
        return replace(self, low=new_low, high=new_high)

    def __getitem__(self, k: builtins.slice) -> Query:
        if not isinstance(k, slice) or k.step not in (None, 1):
            raise InvalidArgument("a Query is sliced as query[start:stop]")
        return self.slice(k.start, k.stop)
