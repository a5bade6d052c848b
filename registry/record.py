"""The public classes: ``Record``, the base of every registry, and ``QuerySet``, both with curation
and search.

``records/`` builds them without knowing curation or search exist (``SQLRecord``,
``BasicQuerySet``); ``curate`` and ``search`` write their methods once (``CanCurate``,
``CanSearch``); this module puts them together, one floor above all three.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from .curate.api import CanCurate
from .curate.synonyms import HasSynonyms
from .records.persistence import save
from .records.queryset import BasicQuerySet
from .records.record import SQLRecord, class_only
from .search.api import CanSearch

if TYPE_CHECKING:
    from .fields import Field
    from .query import Q

M = TypeVar("M", bound=SQLRecord)  # the registry a query set reads


class QuerySet(BasicQuerySet[M], CanCurate, CanSearch):
    """A lazy query over the records of one registry, with curation and search on its records only.

    >>> qs = ln.ULabel.filter(name__startswith="T").order_by("-created_at")  # doctest: +SKIP
    >>> qs.count(), qs.first(), qs.df()  # doctest: +SKIP
    >>> qs.validate(["T cell", "B cell"])  # doctest: +SKIP
    """


class Record(SQLRecord, CanCurate, CanSearch):
    """Base of every registry. Subclasses declare fields as class attributes.

    >>> from registry.fields import String
    >>> class Sample(ln.Record):  # doctest: +SKIP
    ...     name = String(unique=True)
    """

    _abstract = True
    _queryset_class: ClassVar[type[BasicQuerySet]] = QuerySet

    if TYPE_CHECKING:
        # What a type checker sees of the query classmethods (``SQLRecord`` runs them): they
        # return this floor's QuerySet, the ``_queryset_class`` above, over this registry.
        @classmethod
        def filter(cls, *queries: Q, **expressions: Any) -> QuerySet[Self]: ...
        @classmethod
        def exclude(cls, *queries: Q, **expressions: Any) -> QuerySet[Self]: ...
        @classmethod
        def order_by(cls, *fields: str | Field) -> QuerySet[Self]: ...
        @classmethod
        def all(cls) -> QuerySet[Self]: ...
        @classmethod
        def using(cls, instance: Any = None, *, version: int | None = None, as_of: Any = None) -> QuerySet[Self]: ...
        @classmethod
        def connect(cls, instance: Any) -> QuerySet[Self]: ...


__all__ = ["Record", "QuerySet", "HasSynonyms", "save", "class_only"]
