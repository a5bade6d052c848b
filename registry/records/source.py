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

if TYPE_CHECKING:
    from .record import SQLRecord

Source: TypeAlias = "type[SQLRecord] | BasicQuerySet"
"""A registry class (all its records) or a query set (only its records)."""


def as_queryset(source: Source | Any) -> BasicQuerySet:
    """The query set a source stands for (a registry: all its records on the default instance)."""
    if isinstance(source, BasicQuerySet):
        return source
    if isinstance(source, RecordMeta):
        return queryset(source)
    if isinstance(type(source), RecordMeta):
        name = type(source).__name__
        raise InvalidArgument(
            f"{name}.<method>() is a class method and must be called on the {name} class, not on a {name} object"
        )
    raise InvalidArgument(f"expected a registry class or a QuerySet, got {type(source).__name__}")


class _SourceMethod:
    """Binds its function to the registry class or to the query set it is reached through; on a
    record it refuses (LaminDB's ``strict_classmethod``)."""

    def __init__(self, func: Callable[..., Any]):
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]  # a descriptor, not a function

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        if instance is None:
            return self.func.__get__(owner, type(owner))
        if isinstance(owner, RecordMeta):
            name, cls = self.func.__name__, owner.__name__

            def refuse(*args: Any, **kwargs: Any) -> Any:
                raise InvalidArgument(
                    f"{cls}.{name}() is a class method and must be called on the {cls} class, not on a {cls} object"
                )

            return refuse
        return self.func.__get__(instance, owner)


if TYPE_CHECKING:
    # A type checker sees a classmethod: the signature (overloads included) and return types of
    # the registry's call are those of the query set's call.
    sourcemethod = classmethod
else:
    sourcemethod = _SourceMethod


__all__ = ["Source", "as_queryset", "sourcemethod"]
