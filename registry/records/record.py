"""``SQLRecord``: what a record does — construction, save and delete, display, and the query classmethods.

The declaration (fields, tables) is ``declaration.py``, the write path ``persistence.py``, the
lazy rows ``rows.py``, query sets ``queryset.py``. Curation and search are added a floor above,
by ``registry.record.Record``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np

from ..errors import (
    DoesNotExist,
    FieldError,
    FieldValidationError,
    InvalidArgument,
    ValidationError,
    did_you_mean,
    shorten,
)
from ..fields import DateTime, ForeignKey, IdField, Integer, ManyToMany, String
from ..logging import logger
from ..model_map import REGISTRIES, concrete, reverse_name
from ..storage import Instance
from ..storage.remote import retrying
from . import existing, persistence
from .declaration import ModelBase
from .describe import describe_record, describe_registry
from .persistence import check_permanent, check_writable, delete_records, storage_errors
from .queryset import DF_LIMIT, BasicQuerySet, get_by_id, get_one, queryset, related, using
from .related import ManyToManyManager, ReverseForeignKey, ReverseManyToMany


class ClassOnlyMethod:
    """A classmethod that refuses to run on an instance, as LaminDB's ``strict_classmethod``.

    ``ULabel.validate(...)`` works; ``ulabel.validate(...)`` raises a TypeError that says why.
    """

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, instance, owner):
        if instance is not None:
            error = not_on_a_record(owner, self.func.__name__)

            def refuse(*args, **kwargs):
                raise error

            return refuse
        return self.func.__get__(owner, type(owner))


def not_on_a_record(owner: type, method: str) -> InvalidArgument:
    """The error for a registry class method called on one of its records (``label.validate()``)."""
    name = owner.__name__
    return InvalidArgument(
        f"{name}.{method}() is a class method and must be called on the {name} class, not on a {name} object"
    )


if TYPE_CHECKING:
    # A type checker sees a classmethod: ``cls`` is the registry, ``Self`` the registry's records.
    class_only = classmethod
else:
    class_only = ClassOnlyMethod


class Manager:
    """``ULabel.objects``: Django's manager, for code written against LaminDB's Django models.

    ``filter``, ``get``, ``all``, ``exclude`` … are those of a fresh query set on the registry;
    ``create(**fields)`` builds and saves a record.

    Examples
    --------
    >>> ln.ULabel.objects.create(name="managed").name
    'managed'
    >>> ln.ULabel.objects.get(name="managed").name
    'managed'
    >>> ln.ULabel.objects.filter(name="managed").count()
    1
    """

    def __init__(self, model: type[SQLRecord]):
        self.model = model

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.model.all(), name)

    def create(self, **fields) -> SQLRecord:
        """Build a record from ``fields`` and save it; returns the record."""
        return self.model(**fields).save()

    def __repr__(self) -> str:
        return f"<Manager of {self.model.__name__}>"


class _Uid(String):
    """``uid``: an unsaved record gets one on first read, from the registry's ``_initial_uid``.

    Lazy for random uids so that building 10^5 records costs nothing extra, and so that the
    commit may still replace a colliding uid nobody has seen; a uid that was read stays fixed.
    """

    def __get__(self, instance, owner=None):
        value = super().__get__(instance, owner)
        if instance is None or value is not None:
            return value
        d = instance.__dict__
        if "_batch" in d or d.get("id") is not None:
            return value
        value = type(instance)._initial_uid({k: v for k, v in d.items() if not k.startswith("_")})
        if value is not None:
            d["uid"] = value
        return value


_BASE62 = string.digits + string.ascii_letters


class _class_or_record:
    """A method that works on the registry class and on a record (LaminDB's ``describe``)."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, instance, owner):
        return self.func.__get__(owner if instance is None else instance)


class _ObjectsDescriptor:
    """``Registry.objects`` on the class; on a record it is an error, as in Django."""

    def __get__(self, instance, owner):
        if instance is not None:
            raise InvalidArgument(
                f"{owner.__name__}.objects is reached through the class, not a record: {owner.__name__}.objects.filter(...)"
            )
        return Manager(owner)


def _random_uid(cls: type[ModelBase], values: dict) -> str | None:
    """The uid of a new record: random base62 of ``_uid_length`` characters.

    This default runs on the first read of ``record.uid`` (cheap bulk construction, and a
    collision nobody has seen can still be replaced by the commit); a registry that overrides
    ``_initial_uid`` (bio: bionty's deterministic hash of ``values``) gets it at construction.
    """
    return "".join(secrets.choice(_BASE62) for _ in range(cls._uid_length))


class SQLRecord(ModelBase):
    """A record: construction, saving, deleting, display, and the query classmethods (LaminDB's
    ``SQLRecord``). ``registry.Record`` adds curation and search on top; registries subclass that."""

    _abstract = True
    _lookup_prefix = "ln"
    _queryset_class: ClassVar[type[BasicQuerySet]] = BasicQuerySet
    _fast: ClassVar[tuple[dict, dict, tuple]]  # the constructor's per-class tables (_build_fast_types)
    objects = _ObjectsDescriptor()
    _return_existing = False  # LaminDB's CanCurate registries and Transform: see _existing_match

    id = Integer(null=True, unique=True)
    uid = _Uid(null=True, unique=True)
    created_at = DateTime()
    updated_at = DateTime()
    created_by = ForeignKey("User", null=True)

    # -- construction ----------------------------------------------------------------------
    def __init__(self, *args, **kwargs):
        cls = type(self)
        if args:
            kwargs = cls._positional_kwargs(args, kwargs)
        skip = kwargs.pop("_skip_validation", False)  # LaminDB's switch: no lookup of an existing record
        d = self.__dict__
        fast, defaults, required = cls.__dict__.get("_fast") or cls._build_fast_types()
        d.update(defaults)
        for key, value in kwargs.items():
            # Hot path for bulk construction: an exact-type match on a plain field is stored as is.
            rule = fast.get(key)
            if rule is not None and value.__class__ in rule[0] and (rule[1] is None or len(value) <= rule[1]):
                d[key] = value
            else:
                self._set_checked(key, value)
        for name in required:
            if d[name] is None:
                raise ValidationError(f"{cls.__name__} requires '{name}', e.g. {cls.__name__}({name}=...)")
        if cls._return_existing and not skip and "uid" not in kwargs:
            # Hot path of bulk construction: a fresh cached index that says "no such name" ends it here.
            if not existing.surely_absent(cls, kwargs.get(cls._name_field)) and self._become_existing(kwargs):
                return
        if d.get("uid") is None and getattr(cls._initial_uid, "__func__", None) is not _random_uid:
            d["uid"] = cls._initial_uid(kwargs)

    _initial_uid = classmethod(_random_uid)  # bio registries: bionty's hash, set at construction

    # The field values that identify an existing record for these constructor ``values`` (None: do
    # not look). LaminDB matches the name field; Transform overrides it.
    _existing_match = classmethod(existing.match_name_field)

    def _become_existing(self, values: dict) -> bool:
        """Turn this new record into the saved one ``_existing_match`` finds, as LaminDB's constructor
        does; values that differ from the saved ones are set (and logged) so ``save()`` writes them."""
        cls = type(self)
        match = cls._existing_match(values)
        if not match:
            return False
        found = existing.find_existing(cls, match)
        if found is None:
            return False
        d = self.__dict__
        d.clear()
        d.update(found.__dict__)
        shown = " and ".join(match)
        logger.important(
            f"returning {cls.__name__.lower()} with same {shown}: {', '.join(repr(v) for v in match.values())}"
        )
        for key, value in values.items():
            if key in match or value is None:
                continue
            current = getattr(self, key)
            if current != value:
                logger.warning(
                    f"updated {key} of the existing {cls.__name__} from {shorten(current)} to {shorten(value)}"
                )
                setattr(self, key, value)
        return True

    @classmethod
    def _build_fast_types(cls) -> tuple[dict, dict, tuple]:
        """Per-class tables for the constructor: exact-type rules, every column's default, required fields."""
        fast = {}
        for key, f in cls._fields.items():
            if type(f) in (String, Integer) and key not in ("id", "created_at", "updated_at"):
                fast[key] = (frozenset(f.python_types), f.max_length if f.kind == "str" else None)
        defaults = {f.column: f.default for f in cls._value_fields()}
        defaults["_instance"] = None
        cls._fast = (fast, defaults, cls._required())
        return cls._fast

    def _set_checked(self, key: str, value) -> None:
        cls = type(self)
        f = cls._fields.get(key)
        if f is None:
            fk = cls._id_columns().get(key)
            if fk is None:
                raise FieldValidationError(
                    f"unknown field '{key}' on {cls.__name__}{did_you_mean(key, cls._settable_names()) or '.'} "
                    f"Only {', '.join(cls._settable_names())} are valid keyword arguments"
                )
            IdField(fk).__set__(self, value)
            return
        if isinstance(f, ManyToMany):
            raise InvalidArgument(
                f"{cls.__name__}.{key} is many-to-many; save the record, then use record.{key}.add(...)"
            )
        if key in ("id", "created_at", "updated_at"):
            raise InvalidArgument(f"{cls.__name__}.{key} is set automatically when the record is saved")
        f.__set__(self, value)

    @classmethod
    def _positional_kwargs(cls, args: tuple, kwargs: dict) -> dict:
        """Map positional arguments to the fields in ``_positional`` (``Run(transform)``), else refuse
        with LaminDB's hint."""
        names = cls.__dict__.get("_positional", ()) or getattr(cls, "_positional", ())
        if not names or len(args) > len(names):
            example = f"{names[0]}=..." if names else f"{cls._name_field}='...'"
            raise FieldValidationError(
                f"Use keyword arguments instead of positional arguments, e.g.: {cls.__name__}({example})."
                + (f" Only {', '.join(names)} may be positional." if names else "")
            )
        out = dict(kwargs)
        for name, value in zip(names, args, strict=False):
            if name in out:
                raise InvalidArgument(f"{cls.__name__}() got '{name}' both positionally and as a keyword")
            out[name] = value
        return out

    @classmethod
    def _insert_arrow(cls, data, instance: Instance | None = None, tx=None) -> np.ndarray:
        """Insert rows given as columns (Arrow table, polars or pandas frame) in one commit; the new ids."""
        return persistence.insert_arrow(cls, data, instance, tx)

    @classmethod
    def _get_by_id(cls, id_: int, instance: Instance | None = None) -> Self:
        return get_by_id(cls, id_, cls._resolve_instance(instance))

    # -- relations ---------------------------------------------------------------------------
    def _many_to_many(self, field: ManyToMany) -> ManyToManyManager:
        """``artifact.ulabels``: the manager of a many-to-many field (``fields.ManyToMany.__get__``)."""
        source_col, target_col = field.link_columns
        return ManyToManyManager(self, field.link_table, source_col, target_col, field.target_model(), field.name)

    def _related(self, field_spec) -> BasicQuerySet:
        """The related records of a relation given by name or ``FieldSpec`` (lazy)."""
        return related(self, field_spec)

    @classmethod
    def _declared(cls) -> None:
        install_reverse_accessors()

    # -- saving ----------------------------------------------------------------------------
    def save(self) -> Self:
        """Insert this record, or update it if it is saved, in one commit.

        Returns
        -------
        Record
            The record itself, now with ``id``, ``created_at`` and ``created_by``.

        Raises
        ------
        IntegrityError
            A unique field's value is taken by another record, or a foreign key points nowhere.

        Examples
        --------
        >>> label = ln.ULabel(name="saved once").save()
        >>> label.id is not None, ln.ULabel.filter(name="saved once").count()
        (True, 1)
        """
        persistence.save([self])
        return self

    def delete(self, permanent: bool | None = None) -> None:
        """Delete this record and its many-to-many links, for good (there is no trash).

        Parameters
        ----------
        permanent
            ``None`` or ``True`` (LaminDB's spelling): delete. ``False`` raises
            ``ValidationError``: this library keeps no trash branch to move records to.

        Examples
        --------
        >>> label = ln.ULabel(name="to delete").save()
        >>> label.delete(permanent=True)
        >>> ln.ULabel.filter(name="to delete").count()
        0
        """
        check_permanent(permanent, type(self).__name__)
        if self.id is None:
            logger.warning("record is not yet saved, delete has no effect")
            return
        inst = self._instance or type(self)._resolve_instance()
        check_writable(inst)
        cls = type(self)
        cls._ensure_tables(inst)
        # The row and its link rows go in one transaction: a crash leaves both or neither.
        for attempt in retrying(inst):  # object storage: a lost race runs it again on fresh state
            with attempt, storage_errors(), inst.transaction() as tx:
                delete_records(cls, np.array([self.id]), inst, tx)
        self.__dict__["id"] = None

    def refresh_from_db(self) -> None:
        """Reload every field from the latest committed snapshot.

        Returns
        -------
        None

        Examples
        --------
        >>> label = ln.ULabel(name="fresh").save()
        >>> ln.ULabel.filter(name="fresh").one().description is None
        True
        >>> label.refresh_from_db()
        >>> label.name
        'fresh'
        """
        self._materialize()
        if self.id is None:
            raise DoesNotExist(f"{type(self).__name__} record is not saved yet; nothing to refresh")
        fresh = type(self)._get_by_id(self.id, self._instance)
        fresh._materialize()
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_related")})
        self.__dict__.pop("_related_cache", None)

    # -- identity and display --------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        if self.id is None or other.id is None:
            return self is other
        return self.id == other.id and _root(self._instance) == _root(other._instance)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id)) if self.id is not None else id(self)

    def __repr__(self) -> str:
        self._materialize()
        self.uid  # noqa: B018  (an unsaved record shows the uid it will keep)
        parts = []
        d = self.__dict__
        fields = type(self)._fields
        for key, f in fields.items():
            if key == "id" or isinstance(f, ManyToMany) or key == "updated_at":
                continue
            col = f.column
            value = d.get(col)
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                parts.append(f"{col}={value.strftime('%Y-%m-%d %H:%M:%S')}")
            else:
                parts.append(f"{col}={shorten(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __getattr__(self, name: str):
        # Only called for missing attributes: give a did-you-mean instead of a bare AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        cls = type(self)
        choices = list(cls._fields) + list(cls._id_columns()) + [n for n in dir(cls) if not n.startswith("_")]
        raise FieldError(f"'{cls.__name__}' record has no attribute '{name}'{did_you_mean(name, choices)}")

    # -- querying (delegates to the query set) ---------------------------------------------
    @class_only
    def filter(cls, *queries, **expressions) -> BasicQuerySet[Self]:
        """Query records with ``Q`` objects and Django-style field expressions.

        Parameters
        ----------
        *queries
            ``ln.Q`` objects, combined with ``&``, ``|`` and ``~``. A string is refused: use
            ``get("uid")`` for a uid.
        **expressions
            ``field=value`` or ``field__lookup=value``. Lookups: ``exact``, ``iexact``,
            ``contains``, ``icontains``, ``startswith``, ``istartswith``, ``endswith``,
            ``iendswith``, ``in``, ``gt``, ``gte``, ``lt``, ``lte``, ``range``, ``isnull``,
            ``regex``, ``iregex``. Relations are followed with ``__``: ``created_by__handle``,
            ``artifacts__key`` (many-to-many), ``created_ulabels__name`` (reverse).

        Returns
        -------
        QuerySet
            Lazy: nothing runs until rows are asked for (iteration, ``df()``, ``count()`` …).

        See Also
        --------
        get : exactly one record.
        search : ranked, typo-tolerant text search.

        Examples
        --------
        >>> ln.save([ln.ULabel(name=n) for n in ["filter A", "filter B", "other"]])
        >>> ln.ULabel.filter(name__startswith="filter").count()
        2
        >>> ln.ULabel.filter(ln.Q(name="filter A") | ln.Q(name="other")).to_list("name")
        ['filter A', 'other']
        >>> ln.ULabel.filter(name__in=["filter B"], created_by__handle="testuser").one().name
        'filter B'
        """
        return queryset(cls).filter(*queries, **expressions)

    @class_only
    def exclude(cls, *queries, **expressions) -> BasicQuerySet[Self]:
        """Records that do not match; records whose field is NULL are kept (as Django).

        Parameters
        ----------
        *queries
            ``ln.Q`` objects, as in :meth:`filter`.
        **expressions
            ``field__lookup=value`` expressions, as in :meth:`filter`.

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.ULabel(name="keep me").save().name
        'keep me'
        >>> "keep me" in ln.ULabel.exclude(name__startswith="zzz").to_list("name")
        True
        """
        return queryset(cls).exclude(*queries, **expressions)

    @class_only
    def order_by(cls, *fields) -> BasicQuerySet[Self]:
        """All records ordered by ``fields``.

        Parameters
        ----------
        *fields
            Field names or fields; ``"-name"`` sorts descending; forward relations are allowed
            (``"created_by__handle"``).

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.save([ln.ULabel(name=n) for n in ["order b", "order a"]])
        >>> ln.ULabel.filter(name__startswith="order").order_by("name").to_list("name")
        ['order a', 'order b']
        """
        return queryset(cls).order_by(*fields)

    @class_only
    def all(cls) -> BasicQuerySet[Self]:
        """Every record of the registry, as a lazy query set.

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.User.all().count() >= 1  # the current user exists from the first open
        True
        """
        return queryset(cls)

    @class_only
    def df(
        cls,
        include=None,
        join: str = "left",
        limit: int | None = DF_LIMIT,
        order_by: str | None = "-id",
        features=None,
    ):
        """The registry as a pandas DataFrame: the newest ``limit`` records (100 by default).

        Parameters are those of :meth:`QuerySet.df`: ``include`` adds related fields as columns
        (``"created_by__handle"``; to-many paths give sets), ``join="left"`` keeps records with
        nothing related, ``limit=None`` returns every record (a warning says when the default
        limit cut rows), ``order_by`` orders an unordered result.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``id``.

        Examples
        --------
        >>> ln.ULabel(name="in a frame").save().name
        'in a frame'
        >>> frame = ln.ULabel.df(include="created_by__handle")
        >>> frame.loc[frame["name"] == "in a frame", "created_by__handle"].tolist()
        ['testuser']
        """
        return queryset(cls).df(include=include, join=join, limit=limit, order_by=order_by, features=features)

    to_dataframe = df  # LaminDB 2.x's name

    @class_only
    def to_list(cls, field: str | None = None) -> list:
        """Every record (or the values of ``field``) as a list, in id order (LaminDB 2.x).

        Parameters
        ----------
        field
            A field name or field (``ln.ULabel.name``); ``None`` gives the records.

        Returns
        -------
        list

        Examples
        --------
        >>> ln.User.to_list("handle")
        ['testuser']
        """
        return queryset(cls).to_list(field)

    @class_only
    def using(cls, instance=None, *, version: int | None = None, as_of=None) -> BasicQuerySet[Self]:
        """A read-only query set on another instance (its directory, or a name given to ``ln.init``).

        The default instance never changes (no global switch). ``None`` or ``"default"`` means
        the current instance, writable. ``version=N`` (this registry's Delta table version) or
        ``as_of=datetime`` give a read-only snapshot of the past (Delta time travel; files
        replaced within the vacuum retention, 7 days by default, stay readable).

        Parameters
        ----------
        instance
            A directory path, a name registered with ``ln.init(path, name=...)``, or None.
        version
            A committed version of this registry's table.
        as_of
            A point in time: every table as it was then.

        Returns
        -------
        QuerySet
            Read-only: ``save``/``delete`` through it raise ``ReadOnlyError``.

        Examples
        --------
        >>> here = ln.settings.instance.root
        >>> ln.init("other-instance").name  # a second instance, made the default
        'other-instance'
        >>> ln.ULabel(name="over there").save().name
        'over there'
        >>> ln.init(here).root == here  # back to the first
        True
        >>> ln.ULabel.using("other-instance").to_list("name")
        ['over there']
        >>> ln.ULabel.filter(name="over there").count()
        0
        """
        return using(cls, instance, version=version, as_of=as_of)

    @class_only
    def connect(cls, instance) -> BasicQuerySet[Self]:
        """LaminDB 2.x's name for :meth:`using` (a read-only query set on another instance).

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.ULabel.connect(None).filter(name="nothing here").count()
        0
        """
        return using(cls, instance)

    @class_only
    def get(cls, idlike: int | str | None = None, **expressions) -> Self:
        """Exactly one record, by id (int), uid or uid prefix (str), or by field expressions.

        Parameters
        ----------
        idlike
            An ``int`` id, a full uid, or the first characters of a uid.
        **expressions
            As in :meth:`filter`, e.g. ``name="T cell"``.

        Returns
        -------
        Record

        Raises
        ------
        DoesNotExist
            ``ln.ULabel.DoesNotExist`` (a subclass of ``ln.errors.DoesNotExist``) when nothing matches.
        MultipleResultsFound
            ``ln.ULabel.MultipleObjectsReturned`` when several records match.

        Examples
        --------
        >>> label = ln.ULabel(name="get me").save()
        >>> ln.ULabel.get(name="get me") == label
        True
        >>> ln.ULabel.get(label.id).name, ln.ULabel.get(label.uid[:6]).name
        ('get me', 'get me')
        >>> try:
        ...     ln.ULabel.get(name="missing")
        ... except ln.ULabel.DoesNotExist as e:
        ...     print(e)
        ULabel matching name='missing' does not exist
        """
        return get_one(cls, idlike, None, **expressions)

    @_class_or_record
    def describe(cls_or_self, return_str: bool = False) -> str | None:
        """Print a record (fields, relations with counts; source and parents for bio records) or,
        on the class, the registry (fields with types, relations, row count).

        A tree drawn with ``rich`` on a terminal, plain text otherwise.

        Parameters
        ----------
        return_str
            Return the plain text instead of printing it.

        Returns
        -------
        str or None

        Examples
        --------
        >>> print(ln.User.describe(return_str=True).splitlines()[0])
        User  (registry, table 'user', 1 record)
        >>> label = ln.ULabel(name="described", description="for the docs").save()
        >>> print(label.describe(return_str=True))  # doctest: +ELLIPSIS
        ULabel  (uid '...', id ...)
        ├── Fields
        │   ├── name: 'described'
        │   ├── description: 'for the docs'
        │   ├── created_at: ...
        │   └── updated_at: ...
        └── Relations
            └── created_by: User(handle='testuser')
        """
        if isinstance(cls_or_self, type):
            return describe_registry(cls_or_self, return_str=return_str)
        return describe_record(cls_or_self, return_str=return_str)


def install_reverse_accessors() -> None:
    """``user.created_artifacts``, ``ulabel.artifacts``: one accessor per relation pointing at a
    registry, installed on every declaration (a target declared later gets its accessors then)."""
    for model in concrete():
        for f in model._fields.values():
            if isinstance(f, ForeignKey) and f.target in REGISTRIES:
                target = REGISTRIES[f.target]
                rname = reverse_name(model, f)
                if not isinstance(target.__dict__.get(rname), ReverseForeignKey) and rname not in target._fields:
                    setattr(target, rname, ReverseForeignKey(model, f))
            elif isinstance(f, ManyToMany) and f.target in REGISTRIES:
                target = REGISTRIES[f.target]
                rname = reverse_name(model, f)
                if not isinstance(target.__dict__.get(rname), ReverseManyToMany) and rname not in target._fields:
                    setattr(target, rname, ReverseManyToMany(model, f))


def _root(inst: Instance | None):
    return None if inst is None else inst.root


__all__ = ["SQLRecord", "Manager", "class_only", "install_reverse_accessors"]
