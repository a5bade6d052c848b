"""``RecordList``: the list ``from_values`` returns, with ``.save()`` and ``.df()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class RecordList(list):
    """A plain ``list`` of records with two conveniences.

    ``records.save()`` saves them all in one commit (``ln.save``) and returns the list, so
    ``labels = ln.ULabel.from_values([...], create=True).save()`` works as in LaminDB's hint.
    ``records.df()`` (alias ``to_dataframe()``) shows their stored columns as a pandas
    DataFrame, unsaved records included (their ``id`` is missing).
    """

    def save(self) -> RecordList:
        if self:
            from ..record import save

            save(list(self))
        return self

    def df(self) -> pd.DataFrame:
        import pandas as pd

        if not self:
            return pd.DataFrame()
        model = type(self[0])
        columns = [c for c in model._schema.columns if c != "updated_at"]
        for r in self:
            r._materialize()
        data = {c: [r.__dict__.get(c) for r in self] for c in columns}
        return pd.DataFrame(data, columns=columns)

    to_dataframe = df

    def __repr__(self) -> str:
        return f"RecordList({list.__repr__(self)})"
