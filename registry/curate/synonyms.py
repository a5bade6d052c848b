"""``add_synonym`` / ``remove_synonym`` / ``set_abbr`` on one record.

Synonyms are stored as one ``|``-joined string. Before adding, we check that no *other*
record already owns the synonym with one vectorised ``is_in`` over the registry's exploded
synonyms (cached per snapshot), instead of LaminDB's full table scan per call (which also
needed IPython installed to run at all). Unlike LaminDB, which re-joins a Python ``set``,
the stored order is stable: existing synonyms first, new ones appended in the order given.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..errors import FieldError, InvalidArgument, ValidationError, shorten
from ..model_map import concrete
from ..records.queryset import queryset
from .inputs import as_values
from .reporting import logger
from .scope import resolve


def _require(record, field: str, what: str) -> None:
    model = type(record)
    if field not in model._schema.fields:
        with_field = _registries_with(field)
        raise FieldError(
            f"{model.__name__} has no {field} field, so {what} is not available"
            + (f"; registries with {field}: {', '.join(with_field)}" if with_field else "")
        )


def _registries_with(field: str) -> list[str]:
    return sorted(m.__name__ for m in concrete() if field in m._schema.fields)


def _as_list(synonym: Any) -> list[str]:
    """Synonyms given as str, list, array or Series -> distinct non-empty strings, in order."""
    if synonym is None:
        return []
    vals = as_values(synonym, "str", field_label="synonyms").series
    vals = vals.filter(vals.is_not_null() & (vals != "")).unique(maintain_order=True)
    return vals.to_list()


def split(synonyms: str | None) -> list[str]:
    """``"a|b"`` -> ``["a", "b"]``; None/empty -> ``[]``."""
    if not synonyms:
        return []
    return [s for s in synonyms.split("|") if s]


def _check_pipes(new: list[str]) -> None:
    bad = [s for s in new if "|" in s]
    if bad:
        raise ValidationError(
            f"a synonym can't contain '|': {bad[0]!r}; add the parts separately, e.g. "
            f"record.add_synonym({bad[0].split('|')!r})"
        )


def _check_conflicts(record, new: list[str]) -> None:
    """Raise if another record of the registry already has one of ``new`` as a synonym."""
    model = type(record)
    # the record's own instance (a whole-registry query set there), else the default one
    sc = resolve(model if record._instance is None else queryset(model, record._instance))
    index = sc.index(model._schema.name_field, "synonyms")
    ex = index.exploded_synonyms()
    if ex.height == 0:
        return
    hits = ex.filter(pl.col("__synonym").is_in(pl.Series(new, dtype=pl.String).implode()))
    if hits.height == 0:
        return
    frame = index.frame
    hits = hits.with_columns(
        __id=frame.get_column("id").gather(hits.get_column("__row")),
        __uid=frame.get_column("uid").gather(hits.get_column("__row")) if "uid" in frame.columns else pl.lit(None),
    )
    if record.id is not None:
        hits = hits.filter(pl.col("__id") != record.id)
    if hits.height == 0:
        return
    rows = hits.head(5).to_dicts()
    owners = "; ".join(
        f"{r['__synonym']!r} belongs to {model.__name__} {r['__name']!r} (uid {r['__uid']})" for r in rows
    )
    first = rows[0]
    logger.error(
        f"input synonyms {sorted(set(hits.get_column('__synonym').to_list()))} already associated with other records"
    )
    raise ValidationError(
        f"you are trying to assign a synonym to record {record!r} that another record already has: {owners}. "
        f"Remove it there first, e.g. {model.__name__}.get({first['__uid']!r}).remove_synonym({first['__synonym']!r}), "
        f"or pass force=True"
    )


def add_synonym(record, synonym, force: bool = False, save: bool | None = None):
    """Add one or several synonyms to ``record`` (see ``HasSynonyms.add_synonym``).

    Args:
        synonym: a string, or a list / array / Series of strings.
        force: skip the check that no other record already has the synonym.
        save: save the record afterwards; default (None) saves it if it is already saved.

    Raises:
        FieldError: the registry has no ``synonyms`` field.
        ValidationError: a synonym contains ``|``, or belongs to another record (unless ``force``).
    """
    _require(record, "synonyms", "add_synonym")
    new = _as_list(synonym)
    if not new:
        return None
    _check_pipes(new)
    if not force:
        _check_conflicts(record, new)
    existing = split(record.synonyms)
    have = set(existing)
    merged = existing + [s for s in new if s not in have]
    record.synonyms = "|".join(merged) if merged else None
    if save is None:
        save = record.id is not None
    if save:
        record.save()
    return None


def remove_synonym(record, synonym):
    """Remove synonyms from ``record``; unknown ones are ignored. Saves a saved record."""
    _require(record, "synonyms", "remove_synonym")
    drop = set(_as_list(synonym))
    if not drop:
        return None
    kept = [s for s in split(record.synonyms) if s not in drop]
    record.synonyms = "|".join(kept) if kept else None
    if record.id is not None:
        record.save()
    return None


def set_abbr(record, value: str):
    """Set ``abbr`` and add it as a synonym (unless it equals the name); saves a saved record."""
    _require(record, "abbr", "set_abbr")
    if not isinstance(value, str):
        raise InvalidArgument(f"set_abbr expects a string, got {type(value).__name__} {shorten(value)}")
    name = getattr(record, type(record)._schema.name_field, None)
    if value != name and "synonyms" in type(record)._schema.fields:
        # checked before anything changes, so a conflict leaves the record untouched
        add_synonym(record, value, save=False)
    record.abbr = value
    if record.id is not None:
        record.save()
    return None


class HasSynonyms:
    """Mixin for registries with a ``synonyms`` field: add_synonym / remove_synonym / set_abbr."""

    def add_synonym(self, synonym, force: bool = False, save: bool | None = None):
        """Add one or more synonyms to this record's ``|``-separated ``synonyms``.

        Parameters
        ----------
        synonym
            A str or a list of str; ``""`` is ignored, a ``|`` inside a synonym is refused.
        force
            Add it even if another record of the registry already has this synonym.
        save
            Save the record; ``None`` (default) saves it if it is already saved.

        Returns
        -------
        None

        Raises
        ------
        ValidationError
            When another record has the synonym (and ``force`` is False).

        Examples
        --------
        >>> t = bt.CellType(name="T cell", synonyms="T-cell").save()
        >>> t.add_synonym("T lymphocyte")
        >>> bt.CellType.get(name="T cell").synonyms
        'T-cell|T lymphocyte'
        """
        return add_synonym(self, synonym, force=force, save=save)

    def remove_synonym(self, synonym):
        """Remove one or more synonyms (absent ones are ignored); saves a saved record.

        Parameters
        ----------
        synonym
            A str or a list of str.

        Returns
        -------
        None

        Examples
        --------
        >>> t = bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte").save()
        >>> t.remove_synonym("T-cell")
        >>> t.synonyms
        'T lymphocyte'
        """
        return remove_synonym(self, synonym)

    def set_abbr(self, value: str):
        """Set ``abbr`` and add it as a synonym (unless it equals the name); saves a saved record.

        Parameters
        ----------
        value
            The abbreviation (unique in the registry).

        Returns
        -------
        None

        Examples
        --------
        >>> t = bt.CellType(name="T cell", synonyms="T lymphocyte").save()
        >>> t.set_abbr("TC")
        >>> t.abbr, t.synonyms
        ('TC', 'T lymphocyte|TC')
        """
        return set_abbr(self, value)
