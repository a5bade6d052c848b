"""What curation and search read from: a registry class or a query set, as one typed source.

``ln.ULabel.validate(...)`` reads every ULabel, ``ln.ULabel.filter(...).validate(...)`` only the
query set. The methods are written once, on ``CanCurate`` and ``CanSearch``, with ``sourcemethod``:
bound to the class on a registry and to the query set on a query set. ``as_queryset`` is the one
place that turns either into a query set, so the layers above never ask "class or query set?".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import InvalidArgument
from .declaration import RecordMeta
from .queryset import BasicQuerySet, queryset
from .record import ClassOnlyMethod, SQLRecord, not_on_a_record

Source: TypeAlias = "type[SQLRecord] | BasicQuerySet"
"""A registry class (all its records) or a query set (only its records)."""


def as_queryset(source: Source | Any) -> BasicQuerySet:
    """The query set a source stands for (a registry: all its records on the default instance)."""
    if isinstance(source, BasicQuerySet):
        return source
    if isinstance(source, RecordMeta):
        return queryset(source)
    if isinstance(type(source), RecordMeta):
        raise not_on_a_record(type(source), "<method>")
    raise InvalidArgument(f"expected a registry class or a QuerySet, got {type(source).__name__}")


class _SourceMethod(ClassOnlyMethod):
    """A class-only method that, reached through a query set, binds to the query set instead (on a
    record it refuses, as every registry class method)."""

    def __init__(self, func: Callable[..., Any]):
        super().__init__(func)
        functools.update_wrapper(self, func)  # type: ignore[arg-type]  # a descriptor, not a function

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        if instance is not None and not isinstance(owner, RecordMeta):
            return self.func.__get__(instance, owner)  # a query set
        return super().__get__(instance, owner)


if TYPE_CHECKING:
    # A type checker sees a classmethod: the signature (overloads included) and return types of
    # the registry's call are those of the query set's call.
    sourcemethod = classmethod
else:
    sourcemethod = _SourceMethod


__all__ = ["Source", "as_queryset", "sourcemethod"]
