"""``CanCurate``: validate, inspect, standardize, from_values and lookup, written once.

Mixed into ``registry.Record`` (a classmethod on every registry) and ``registry.QuerySet`` (a
method on every query set) through ``sourcemethod``: the first argument is the source the call
reads from. The work is in the verb modules; this file is the public signatures and their docs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, overload

from ..records.source import as_queryset, sourcemethod
from . import attribute_lookup, creation, standardization, validation


class CanCurate:
    """Curation methods of registries and query sets (LaminDB's ``CanCurate``)."""

    @sourcemethod
    def validate(self, values, field=None, *, mute: bool = False, organism=None, source=None, strict_source=False):
        """Whether each value exists exactly (case-sensitive, no synonyms) in ``field`` of the registry.

        On a query set, only its records count (``ULabel.filter(...).validate(...)``).

        Parameters
        ----------
        values
            A str, a list, a pandas/polars Series or a numpy array of values.
        field
            The field to match, as a name or a field (``bt.CellType.ontology_id``); default: the
            registry's name field (``name``, ``symbol`` for genes, ``handle`` for users).
        mute
            Do not log the summary of what did not validate.
        organism
            For registries with an organism (genes): an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        strict_source
            Accepted for LaminDB 2.x scripts: ``source=`` always restricts the reference here.

        Returns
        -------
        numpy.ndarray of bool, or a numpy bool for a single str.

        See Also
        --------
        inspect : what the non-validated values could be.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="benchmark"), ln.ULabel(name="prediction")])
        >>> ln.ULabel.validate(["benchmark", "Benchmark", "test"], mute=True)
        array([ True, False, False])
        >>> bool(ln.ULabel.validate("prediction"))
        True
        """
        return validation.validate(self, values, field, mute=mute, organism=organism, source=source)

    @sourcemethod
    def inspect(
        self,
        values,
        field=None,
        *,
        mute: bool = False,
        organism=None,
        source=None,
        from_source: bool = True,
        strict_source: bool = False,
    ):
        """Which values validate, which map to a record through casing or synonyms, and close matches.

        Parameters
        ----------
        values
            A str, a list, a pandas/polars Series or a numpy array of values.
        field
            The field to match (name or field object); default: the registry's name field.
        mute
            Do not log the report.
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        from_source, strict_source
            Accepted for LaminDB 2.x scripts; inspect only reports what a public source holds
            (it never adds records), and ``source=`` always restricts the reference.

        Returns
        -------
        InspectResult
            ``.validated`` and ``.non_validated`` (unique values, input order),
            ``.synonyms_mapper`` (value -> standardized name), ``.frac_validated``, ``.df``.

        Examples
        --------
        >>> ln.save([bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte"), bt.CellType(name="B cell")])
        >>> res = bt.CellType.inspect(["T cell", "T-cell", "foo"], mute=True)
        >>> res.validated, res.non_validated
        (['T cell'], ['T-cell', 'foo'])
        >>> res.synonyms_mapper
        {'T-cell': 'T cell'}
        """
        return validation.inspect(self, values, field, mute=mute, organism=organism, source=source)

    # the result's type follows the input's (a str: a str) and return_mapper (a dict)
    @overload
    @sourcemethod
    def standardize(
        self,
        values: Any,
        field: Any = None,
        *,
        return_field: Any = None,
        return_mapper: Literal[True],
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep: Any = "first",
        synonyms_field: str = "synonyms",
        organism: Any = None,
        source: Any = None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ) -> dict[str, str]: ...
    @overload
    @sourcemethod
    def standardize(
        self,
        values: str,
        field: Any = None,
        *,
        return_field: Any = None,
        return_mapper: Literal[False] = False,
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep: Any = "first",
        synonyms_field: str = "synonyms",
        organism: Any = None,
        source: Any = None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ) -> str: ...
    @overload
    @sourcemethod
    def standardize(
        self,
        values: Iterable[Any],
        field: Any = None,
        *,
        return_field: Any = None,
        return_mapper: Literal[False] = False,
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep: Any = "first",
        synonyms_field: str = "synonyms",
        organism: Any = None,
        source: Any = None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ) -> list[str]: ...
    @overload
    @sourcemethod
    def standardize(
        self,
        values: Any,
        field: Any = None,
        *,
        return_field: Any = None,
        return_mapper: bool = False,
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep: Any = "first",
        synonyms_field: str = "synonyms",
        organism: Any = None,
        source: Any = None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ) -> str | list[str] | dict[str, str]: ...
    @sourcemethod
    def standardize(
        self,
        values,
        field=None,
        *,
        return_field=None,
        return_mapper: bool = False,
        case_sensitive: bool = False,
        mute: bool = False,
        public_aware: bool = True,
        keep="first",
        synonyms_field: str = "synonyms",
        organism=None,
        source=None,
        from_source: bool | None = None,
        strict_source: bool = False,
    ):
        """Map synonyms and case variants to the standardized names of ``field``.

        Per value, the first hit wins: an exact match (kept as is), a case-insensitive match
        of ``field`` (unless ``case_sensitive``), a synonym. Values that map to nothing are
        returned unchanged and reported in a warning.

        Parameters
        ----------
        values
            A str (a str is returned), a list, a pandas/polars Series or a numpy array.
        field
            The field holding the standardized names; default: the registry's name field.
        return_field
            Return this field of the matched records instead (e.g. ``"ontology_id"``).
        return_mapper
            Return ``{input: standardized}`` for the values that changed, instead of a list.
        case_sensitive
            Skip the case-insensitive tier.
        mute
            Do not log.
        public_aware
            For bio registries: values not found in the registry are standardized against the
            public source too (LaminDB's ``from_source``).
        keep
            When a synonym belongs to several records: ``"first"``, ``"last"`` (by id) or
            ``False`` (a list of all their names).
        synonyms_field
            The field with ``|``-separated synonyms; ``None`` turns synonym matching off.
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        from_source
            LaminDB 2.x's name for ``public_aware`` (it wins when given).
        strict_source
            Accepted for LaminDB 2.x scripts: ``source=`` always restricts the reference here.

        Returns
        -------
        list, str or dict
            Standardized values in input order (a str for a str), or the mapper.

        Examples
        --------
        >>> ln.save([bt.CellType(name="T cell", synonyms="T-cell|T lymphocyte"), bt.CellType(name="B cell")])
        >>> bt.CellType.standardize(["T-cell", "t cell", "B cell", "foo"], mute=True, public_aware=False)
        ['T cell', 'T cell', 'B cell', 'foo']
        >>> bt.CellType.standardize(["T lymphocyte", "b CELL"], return_mapper=True, mute=True, public_aware=False)
        {'T lymphocyte': 'T cell', 'b CELL': 'B cell'}
        """
        if from_source is not None:
            public_aware = bool(from_source)
        model = as_queryset(self).model
        # a registry with a public reference (bio) standardizes against it too (its hook)
        run = getattr(model, "_standardize_with_public", None) or standardization.standardize
        return run(
            self,
            values,
            field,
            return_field=return_field,
            return_mapper=return_mapper,
            case_sensitive=case_sensitive,
            mute=mute,
            public_aware=public_aware,
            keep=keep,
            synonyms_field=synonyms_field,
            organism=organism,
            source=source,
        )

    @sourcemethod
    def from_values(self, values, field=None, create: bool = False, organism=None, source=None, mute: bool = False):
        """Records for a list of values: the saved ones (synonyms and casing resolved), and with
        ``create=True`` new unsaved records for the rest.

        Parameters
        ----------
        values
            A list, a pandas/polars Series or a numpy array of values.
        field
            The field the values are of; default: the registry's name field.
        create
            Build a new record for every value not found (save them with ``.save()``).
        organism
            For registries with an organism: an ``Organism`` record or its name.
        source
            A ``bt.Source`` record to restrict the reference to.
        mute
            Do not log.

        Returns
        -------
        RecordList
            A list of records with ``.save()`` and ``.df()``.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="benchmark")])
        >>> [r.name for r in ln.ULabel.from_values(["benchmark", "new one"], mute=True)]
        ['benchmark']
        >>> records = ln.ULabel.from_values(["benchmark", "new one"], create=True, mute=True)
        >>> [r.name for r in records.save()]
        ['benchmark', 'new one']
        >>> ln.ULabel.filter().count()
        2
        """
        return creation.from_values(self, values, field, create=create, organism=organism, source=source, mute=mute)

    @sourcemethod
    def lookup(self, field=None, return_field=None, keep="first"):
        """An object with one attribute per value of ``field``, for tab completion (``lookup().t_cell``).

        Attribute names are the values lower-cased with non-alphanumerics as ``_`` (``"T cell"``
        -> ``t_cell``; a leading digit gets the ``ln_``/``bt_`` prefix; keywords a trailing ``_``).

        Parameters
        ----------
        field
            The field whose values name the attributes; default: the registry's name field.
        return_field
            Give this field of the record instead of the record.
        keep
            For values that normalise to the same attribute: ``"first"``, ``"last"`` or
            ``False`` (a list).

        Returns
        -------
        Lookup
            Attribute access, plus ``.dict()`` from raw values to records.

        Examples
        --------
        >>> ln.save([ln.ULabel(name="T cell"), ln.ULabel(name="1st label")])
        >>> labels = ln.ULabel.lookup()
        >>> labels.t_cell.name, labels.ln_1st_label.name
        ('T cell', '1st label')
        >>> ln.ULabel.lookup(return_field="uid").t_cell == labels.t_cell.uid
        True
        """
        return attribute_lookup.lookup(self, field, return_field, keep=keep)


__all__ = ["CanCurate"]
