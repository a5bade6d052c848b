"""The public classes: ``Record``, the base of every registry, and ``QuerySet``, both with curation
and search.

``records/`` builds them without knowing curation or search exist (``SQLRecord``,
``BasicQuerySet``); ``curate`` and ``search`` write their methods once (``CanCurate``,
``CanSearch``); this module puts them together, one floor above all three.
"""

from __future__ import annotations

from typing import ClassVar

from .curate.api import CanCurate
from .curate.synonyms import HasSynonyms
from .records.persistence import save
from .records.queryset import BasicQuerySet
from .records.record import SQLRecord, class_only
from .search.api import CanSearch


class QuerySet(BasicQuerySet, CanCurate, CanSearch):
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


__all__ = ["Record", "QuerySet", "HasSynonyms", "save", "class_only"]
