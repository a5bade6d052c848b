"""``CanSearch``: ranked, typo-tolerant text search, as a registry classmethod and a query-set method."""

from __future__ import annotations

from ..records.source import as_queryset, sourcemethod
from . import search


class CanSearch:
    """The ``search`` method of registries and query sets."""

    @sourcemethod
    def search(self, string, *, field=None, limit: int | None = 20, case_sensitive: bool = False):
        """Records ranked by how well their text fields match ``string``: exact and synonym hits
        first, then word and substring matches, then typo-tolerant ones.

        Parameters
        ----------
        string
            The query.
        field
            A field or list of fields to search; default: every text field.
        limit
            At most this many records (``None``: all matches).
        case_sensitive
            Match case exactly.

        Returns
        -------
        QuerySet
            Ordered by score; ``.df()`` shows the ``score`` column.

        Examples
        --------
        >>> ln.save([ln.ULabel(name=n) for n in ["lymphocyte", "T cell", "B cell"]])
        >>> ln.ULabel.search("lymphocite").to_list("name")[0]
        'lymphocyte'
        >>> ln.ULabel.search("cell", limit=2).count()
        2
        """
        model = as_queryset(self).model
        string = model._search_query(string) if hasattr(model, "_search_query") else string
        return search(self, string, field=field, limit=limit, case_sensitive=case_sensitive)


__all__ = ["CanSearch"]
