"""``RecordList``: what ``from_values`` returns, with ``.save()`` and ``.df()``.

Like LaminDB's ``SQLRecordList`` it is a ``collections.UserList`` (ordered, indexable,
iterable, comparable with lists; ``isinstance(x, list)`` is False in both). Unlike it, the
records already in the registry are not Python objects until someone looks at them:
``from_values`` over 10^5 identifiers would otherwise spend more time creating 10^5
objects (~1 µs each) than matching the values. ``len``, ``save`` and ``df`` work without
creating them; indexing, iterating or changing the list creates them all, once.
"""

from __future__ import annotations

from collections import UserList
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..records.persistence import save

if TYPE_CHECKING:
    import pandas as pd


class RecordList(UserList):
    """An ordered list of records with two conveniences.

    ``records.save()`` saves them all in one commit (``ln.save``) and returns the list, so
    ``labels = ln.ULabel.from_values([...], create=True).save()`` works as in LaminDB's hint.
    ``records.df()`` (alias ``to_dataframe()``) shows their stored columns as a pandas
    DataFrame, unsaved records included (their ``id`` is missing).
    """

    def __init__(self, records=None):
        self._data: list | None = [] if records is None else list(records)
        self._pending: _Pending | None = None

    @classmethod
    def _lazy(cls, pending: _Pending) -> RecordList:
        """A list whose existing records are created on first access (see ``_Pending``)."""
        out = cls()
        out._data, out._pending = None, pending
        return out

    def _pending_part(self) -> _Pending:
        assert self._pending is not None  # _data is None exactly while records are pending
        return self._pending

    @property
    def data(self) -> list:
        if self._data is None:
            self._data = self._pending_part().build()
            self._pending = None
        return self._data

    @data.setter
    def data(self, value: list) -> None:
        self._data, self._pending = value, None

    # UserList leaves these to Sequence's index-by-index defaults; a list does them in C
    def __iter__(self):
        return iter(self.data)

    def __reversed__(self):
        return reversed(self.data)

    def __contains__(self, item) -> bool:
        return item in self.data

    def __len__(self) -> int:
        return self._pending_part().n if self._data is None else len(self._data)

    def __bool__(self) -> bool:
        return len(self) > 0

    def _records_to_save(self) -> list:
        """What ``ln.save`` must look at: records loaded from the registry and never touched
        have nothing to write, so a list that has not been materialized only offers its new ones."""
        return list(self._pending_part().new) if self._data is None else self._data

    def save(self) -> RecordList:
        if len(self):
            save(self._records_to_save())
        return self

    def df(self) -> pd.DataFrame:
        import pandas as pd

        if self._data is None and not self._pending_part().new:
            return self._pending_part().frame()
        if not self:
            return pd.DataFrame()
        records = self.data
        model = type(records[0])
        columns = [c for c in model._schema.columns if c != "updated_at"]
        for r in records:
            r._materialize()
        data = {c: [r.__dict__.get(c) for r in records] for c in columns}
        return pd.DataFrame(data, columns=columns)

    to_dataframe = df

    def __repr__(self) -> str:
        return f"RecordList({self.data!r})"


class _Pending:
    """Records not created yet: ``n`` of them, made by ``build()``.

    ``new`` are the records that exist as objects already (new, unsaved ones); ``frame``
    renders the existing ones as a DataFrame without creating them (only used when ``new``
    is empty).
    """

    __slots__ = ("n", "build", "new", "frame")

    def __init__(self, n: int, build: Callable[[], list], new: list, frame: Callable[[], pd.DataFrame]):
        self.n, self.build, self.new, self.frame = n, build, new, frame
