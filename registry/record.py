"""The Record base: a registry's schema comes from its class, records save through one commit path.

A Record subclass declares typed fields; the metaclass turns them into a ``RegistrySchema`` and
an Arrow schema, and registers the class by name so relations can be declared as strings.
Bulk paths work on columns: ``ln.save`` turns a list of records into one Arrow table and one
commit; ``_from_arrow`` turns query results back into records without per-value validation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import secrets
import string
import time
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .errors import (
    DoesNotExist,
    FieldError,
    FieldValidationError,
    IntegrityError,
    InvalidArgument,
    MultipleResultsFound,
    ReadOnlyError,
    ValidationError,
    did_you_mean,
    shorten,
    text_error,
)
from .fields import JSON, DateTime, Field, ForeignKey, IdField, Integer, ManyToMany, String, field_name
from .integrity import apply_delete, check_references, plan_delete
from .logging import logger
from .queryset import QuerySet  # no import cycle: queryset imports record lazily
from .schema import FieldSpec, RegistrySchema, SchemaMap
from .settings import settings as _settings
from .storage import ConstraintViolation, Instance, MissingRows, TableSpec
from .storage.instance import ReadOnlyInstance
from .storage.table import int_values

REGISTRIES: dict[str, type[Record]] = {}
_SCHEMA_CACHE: dict[str, Any] = {}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # ids and Integer fields are int64


class class_only:
    """A classmethod that refuses to run on an instance, as LaminDB's ``strict_classmethod``.

    ``ULabel.validate(...)`` works; ``ulabel.validate(...)`` raises a TypeError that says why.
    """

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, instance, owner):
        if instance is not None:
            name = self.func.__name__

            def refuse(*args, **kwargs):
                raise InvalidArgument(
                    f"{owner.__name__}.{name}() is a class method and must be called on the {owner.__name__} class, "
                    f"not on a {owner.__name__} object"
                )

            return refuse
        return self.func.__get__(owner, type(owner))


class RecordMeta(type):
    """Collects fields into ``_fields`` (declaration order, base fields bound per subclass)."""

    def __new__(mcs, name, bases, ns, **kwargs):
        cls = super().__new__(mcs, name, bases, ns, **kwargs)
        # Django's per-registry exceptions, subclasses of the one hierarchy in registry.errors:
        # ``except ln.ULabel.DoesNotExist`` and ``except ln.errors.DoesNotExist`` both catch a miss.
        for exc_name, base in (("DoesNotExist", DoesNotExist), ("MultipleObjectsReturned", MultipleResultsFound)):
            if exc_name not in ns:
                exc = type(exc_name, (base,), {"__module__": cls.__module__, "__qualname__": f"{name}.{exc_name}"})
                setattr(cls, exc_name, exc)
        if ns.get("_abstract", False):
            cls._fields = {}
            return cls
        fields: dict[str, Field | ManyToMany] = {}
        head, tail = {}, {}
        for base in reversed(cls.__mro__[1:]):
            for key, value in vars(base).items():
                if isinstance(value, (Field, ManyToMany)) and not key.startswith("__"):
                    (head if key in ("id", "uid") else tail)[key] = value
        for key, value in ns.items():
            if isinstance(value, (Field, ManyToMany)):
                tail.pop(key, None)
                head.pop(key, None) if key not in ("id", "uid") else None
                (head if key in ("id", "uid") else tail)[key] = value
        # id, uid first; then the registry's own fields; then bookkeeping, then FKs, as LaminDB.
        own = {k: v for k, v in tail.items() if k not in _BOOKKEEPING}
        book = {k: v for k, v in tail.items() if k in _BOOKKEEPING}
        if not cls.__dict__.get("_has_created_by", True):
            book.pop("created_by", None)
        for key, value in {**head, **own, **book}.items():
            if value.model is not cls:
                value = value.copy_for(cls, key)
                setattr(cls, key, value)
            fields[key] = value
            if isinstance(value, ForeignKey):
                setattr(cls, value.column, IdField(value))
        if "created_by" in vars(cls) and "created_by" not in fields:
            cls.created_by = None
        cls._fields = fields
        cls._table_specs = {}
        REGISTRIES[name] = cls
        _SCHEMA_CACHE.clear()
        return cls

    @property
    def _schema(cls) -> RegistrySchema:
        """The registry's schema (with reverse relations), as the translator and curation see it."""
        return schema_map()[cls.__name__]


_BOOKKEEPING = ("created_at", "updated_at", "created_by")


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

    def __init__(self, model: type[Record]):
        self.model = model

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(QuerySet(self.model), name)

    def create(self, **fields) -> Record:
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


class Record(metaclass=RecordMeta):
    """Base of every registry. Subclasses declare fields as class attributes."""

    _abstract = True
    _name_field = "name"
    _uid_length = 8
    _has_created_by = True
    _lookup_prefix = "ln"
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
            e = _EXISTING.get((id(_settings._instance), cls))
            if (
                e is None
                or time.monotonic() - e.checked > 0.5
                or e.table.version != e.version
                or not (e.empty or (e.simple and e.index is not None and kwargs.get(cls._name_field) not in e.index))
            ) and self._become_existing(kwargs):
                return
        if d.get("uid") is None and cls._initial_uid.__func__ is not Record._initial_uid.__func__:
            d["uid"] = cls._initial_uid(kwargs)

    @classmethod
    def _initial_uid(cls, values: dict) -> str | None:
        """The uid of a new record: random base62 of ``_uid_length`` characters (None: assigned when saved).

        This default runs on the first read of ``record.uid``; a registry that overrides it
        (bio registries: bionty's deterministic hash of ``values``) gets it at construction.
        """
        return "".join(secrets.choice(_BASE62) for _ in range(cls._uid_length))

    @classmethod
    def _existing_match(cls, values: dict) -> dict | None:
        """The field values that identify an existing record for these constructor ``values``
        (None: do not look). LaminDB matches the name field."""
        value = values.get(cls._name_field)
        if isinstance(value, str) and text_error(value, cls._name_field) is not None:
            return None  # not valid Unicode: nothing stored can match, and save() refuses it
        return {cls._name_field: value} if isinstance(value, str) else None

    def _become_existing(self, values: dict) -> bool:
        """Turn this new record into the saved one ``_existing_match`` finds, as LaminDB's constructor
        does; values that differ from the saved ones are set (and logged) so ``save()`` writes them."""
        cls = type(self)
        match = cls._existing_match(values)
        existing = _find_existing(cls, match) if match else None
        if existing is None:
            return False
        d = self.__dict__
        d.clear()
        d.update(existing.__dict__)
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
    def _required(cls) -> tuple[str, ...]:
        cached = cls.__dict__.get("_required_cache")
        if cached is None:
            cached = tuple(k for k, f in cls._fields.items() if isinstance(f, Field) and f.required)
            cls._required_cache = cached
        return cached

    @classmethod
    def _id_columns(cls) -> dict[str, ForeignKey]:
        return {f.column: f for f in cls._fields.values() if isinstance(f, ForeignKey)}

    @classmethod
    def _settable_names(cls) -> list[str]:
        names = [
            k
            for k, f in cls._fields.items()
            if k not in ("id", "created_at", "updated_at") and not isinstance(f, ManyToMany)
        ]
        return names + list(cls._id_columns())

    # -- schema ----------------------------------------------------------------------------
    @classmethod
    def _schema_table(cls) -> str:
        return cls.__dict__.get("_table") or cls.__name__.lower()

    @classmethod
    def _value_fields(cls) -> list[Field]:
        return [f for f in cls._fields.values() if isinstance(f, Field)]

    @classmethod
    def _arrow_schema(cls) -> pa.Schema:
        return pa.schema([(f.column, f.arrow_type) for f in cls._value_fields()])

    @classmethod
    def _table_spec(cls) -> TableSpec:
        unique = tuple(f.column for f in cls._value_fields() if f.unique and f.name != "id")
        refs = []
        for f in cls._fields.values():
            if isinstance(f, ForeignKey):
                with contextlib.suppress(KeyError):  # target not defined yet: doctor skips the check
                    refs.append((f.column, f.target_model()._schema_table()))
        return TableSpec(
            cls._schema_table(), cls._arrow_schema(), unique=unique, uid_length=cls._uid_length, references=tuple(refs)
        )

    @classmethod
    def _link_specs(cls) -> list[TableSpec]:
        out = []
        for f in cls._fields.values():
            if isinstance(f, ManyToMany):
                s, t = f.link_columns
                schema = pa.schema([("id", pa.int64()), (s, pa.int64()), (t, pa.int64())])
                refs = ((s, cls._schema_table()), (t, f.target_model()._schema_table()))
                out.append(TableSpec(f.link_table, schema, references=refs))
        return out

    @classmethod
    def _own_spec(cls) -> RegistrySchema:
        fields = {f.name: f.spec() for f in cls._fields.values()}
        return RegistrySchema(
            name=cls.__name__,
            table=cls._schema_table(),
            fields=fields,
            name_field=cls._name_field,
            uid_length=cls._uid_length,
        )

    # -- instances and snapshots -----------------------------------------------------------
    @classmethod
    def _resolve_instance(cls, instance: Instance | None = None) -> Instance:
        if instance is None:
            from .settings import settings

            instance = settings.instance
        cls._ensure_tables(instance)
        return instance

    @classmethod
    def _ensure_tables(cls, instance: Instance) -> None:
        if cls.__dict__.get("_abstract"):
            raise InvalidArgument(
                f"{cls.__name__} is an abstract base class with no table of its own; call this on a registry "
                f"such as ln.ULabel or bt.CellType (ln.Record is LaminDB 1.x's base class here, not LaminDB 2.x's "
                f"Record registry)"
            )
        key = id(instance)
        if cls._table_specs.get(key) is instance:
            return
        # Register every registry on first use so joins and traversals can see all tables.
        for model in list(REGISTRIES.values()):
            if model.__dict__.get("_abstract"):
                continue
            if model._table_specs.get(key) is instance:
                continue
            instance.register(model._table_spec())
            for spec in model._link_specs():
                instance.register(spec)
            model._table_specs[key] = instance

    @classmethod
    def _snapshot(cls, instance: Instance | None = None) -> pa.Table:
        """Live rows of this registry, sorted by id (cached until the table changes)."""
        inst = cls._resolve_instance(instance)
        return inst.snapshot(cls._schema_table())

    @classmethod
    def _snapshot_pl(cls, instance: Instance | None = None):
        inst = cls._resolve_instance(instance)
        return inst.snapshot_pl(cls._schema_table())

    @classmethod
    def _table_version(cls, instance: Instance | None = None) -> int:
        inst = cls._resolve_instance(instance)
        cls._snapshot(inst)
        return inst.table(cls._schema_table()).version

    @classmethod
    def _from_arrow(cls, table: pa.Table, instance: Instance | None = None) -> list[Record]:
        """Records from rows (no per-value validation: the rows come from the registry)."""
        inst = cls._resolve_instance(instance)
        # Records are lazy views on the Arrow rows: building 10^5 full objects costs ~0.3 s,
        # these cost a few ms, and values are filled on first attribute access.
        batch = _Batch(cls, table)
        new = cls.__new__
        out = []
        ids = int_values(table.column("id")).tolist() if "id" in table.column_names else [None] * table.num_rows
        with paused_gc(table.num_rows):
            for i, id_ in enumerate(ids):
                obj = new(cls)
                # ``id`` is there from the start so equality, hashing and get() never materialize.
                obj.__dict__ = {"_batch": batch, "_row": i, "_instance": inst, "id": id_}
                out.append(obj)
        return out

    @classmethod
    def _insert_arrow(cls, data, instance: Instance | None = None, tx=None) -> np.ndarray:
        """Insert rows given as columns (Arrow table, polars or pandas frame) in one commit.

        The fast path for imports: no Record objects, types checked per column by Arrow.
        Returns the new ids. Unknown columns raise FieldError; unique violations IntegrityError.
        With ``tx`` (an ``instance.transaction()``), the rows are staged in it instead.
        """
        from .settings import settings

        if not isinstance(data, pa.Table):
            data = (
                pa.table(data)
                if isinstance(data, dict)
                else pa.Table.from_pandas(data, preserve_index=False)
                if hasattr(data, "iloc")
                else data.to_arrow()
            )
        inst = cls._resolve_instance(instance)
        _check_writable(inst)
        schema = cls._arrow_schema()
        for name in data.column_names:
            if name not in schema.names or name in ("id", "created_at", "updated_at"):
                raise FieldError(
                    f"unknown or automatic column '{name}' for {cls.__name__}{did_you_mean(name, schema.names)}"
                )
        n = data.num_rows
        now = pa.scalar(dt.datetime.now(dt.UTC), pa.timestamp("us", tz="UTC"))
        cols = {}
        for f in schema:
            if f.name in data.column_names:
                try:
                    cols[f.name] = data.column(f.name).cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                    raise ValidationError(f"{cls.__name__}.{f.name}: cannot store column as {f.type}: {e}") from None
            elif f.name in ("created_at", "updated_at"):
                cols[f.name] = pa.array(np.full(n, now.value), pa.int64()).cast(pa.timestamp("us")).cast(f.type)
            elif f.name == "created_by_id" and "created_by" in cls._fields:
                cols[f.name] = pa.array(np.full(n, settings.user_id(inst)), pa.int64())
        for name in cls._required():
            col = cols.get(name)
            if col is None or col.null_count:
                raise ValidationError(f"{cls.__name__} requires '{name}' for every row")
        rows = pa.table(cols)
        try:
            if tx is None:
                from .storage.remote import retrying

                for attempt in retrying(inst):  # object storage: a lost race runs it again on fresh state
                    with attempt, _storage_errors(), inst.transaction() as own:
                        check_references(cls, rows, own.snapshot)
                        result = own.commit(cls._schema_table(), inserts=rows)
            else:
                check_references(cls, rows, tx.snapshot)
                result = tx.commit(cls._schema_table(), inserts=rows)
        except ConstraintViolation as e:
            raise _integrity_error(cls, e) from None
        return result.ids

    @classmethod
    def _get_by_id(cls, id_: int, instance: Instance | None = None) -> Record:
        inst = cls._resolve_instance(instance)
        if not _INT64_MIN <= id_ <= _INT64_MAX:
            raise cls.DoesNotExist(f"{cls.__name__} with id={shorten(id_)} does not exist (ids are 64-bit integers)")
        rows = inst.find(cls._schema_table(), "id", int(id_))
        if rows.num_rows:
            return cls._from_arrow(rows.slice(0, 1), inst)[0]
        raise cls.DoesNotExist(f"{cls.__name__} with id={id_} does not exist")

    def _materialize(self) -> None:
        """Fill a lazily loaded record's values from its Arrow batch."""
        d = self.__dict__
        batch = d.pop("_batch", None)
        if batch is not None:
            batch.fill(d, d.pop("_row"))

    # -- saving ----------------------------------------------------------------------------
    def save(self) -> Record:
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
        save([self])
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
            from .logging import logger

            logger.warning("record is not yet saved, delete has no effect")
            return
        inst = self._instance or type(self)._resolve_instance()
        _check_writable(inst)
        cls = type(self)
        cls._ensure_tables(inst)
        # The row and its link rows go in one transaction: a crash leaves both or neither.
        from .storage.remote import retrying

        for attempt in retrying(inst):  # object storage: a lost race runs it again on fresh state
            with attempt, _storage_errors(), inst.transaction() as tx:
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
    def filter(cls, *queries, **expressions) -> QuerySet:
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
        return QuerySet(cls).filter(*queries, **expressions)

    @class_only
    def exclude(cls, *queries, **expressions) -> QuerySet:
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
        return QuerySet(cls).exclude(*queries, **expressions)

    @class_only
    def order_by(cls, *fields) -> QuerySet:
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
        return QuerySet(cls).order_by(*fields)

    @class_only
    def all(cls) -> QuerySet:
        """Every record of the registry, as a lazy query set.

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.User.all().count() >= 1  # the current user exists from the first open
        True
        """
        return QuerySet(cls)

    @class_only
    def df(
        cls,
        include=None,
        join: str = "left",
        limit: int | None = 100,
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
        return QuerySet(cls).df(include=include, join=join, limit=limit, order_by=order_by, features=features)

    @class_only
    def to_dataframe(
        cls,
        include=None,
        join: str = "left",
        limit: int | None = 100,
        order_by: str | None = "-id",
        features=None,
    ):
        """LaminDB 2.x's name for :meth:`df` (same parameters, same result).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> ln.ULabel(name="2.x frame").save().name
        '2.x frame'
        >>> "2.x frame" in ln.ULabel.to_dataframe(limit=None)["name"].tolist()
        True
        """
        return QuerySet(cls).df(include=include, join=join, limit=limit, order_by=order_by, features=features)

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
        return QuerySet(cls).to_list(field)

    @class_only
    def using(cls, instance=None, *, version: int | None = None, as_of=None) -> QuerySet:
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
        return QuerySet.using(cls, instance, version=version, as_of=as_of)

    @class_only
    def connect(cls, instance) -> QuerySet:
        """LaminDB 2.x's name for :meth:`using` (a read-only query set on another instance).

        Returns
        -------
        QuerySet

        Examples
        --------
        >>> ln.ULabel.connect(None).filter(name="nothing here").count()
        0
        """
        return QuerySet.using(cls, instance)

    @class_only
    def get(cls, idlike: int | str | None = None, **expressions) -> Record:
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
        return get(cls, idlike, None, **expressions)

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
        from .describe import describe_record, describe_registry

        if isinstance(cls_or_self, type):
            return describe_registry(cls_or_self, return_str=return_str)
        return describe_record(cls_or_self, return_str=return_str)

    # -- curation and search: the QuerySet's methods, with the class as scope -----------------
    validate = class_only(QuerySet.validate)
    inspect = class_only(QuerySet.inspect)
    standardize = class_only(QuerySet.standardize)
    from_values = class_only(QuerySet.from_values)
    lookup = class_only(QuerySet.lookup)
    search = class_only(QuerySet.search)


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
        from .curate import synonyms

        return synonyms.add_synonym(self, synonym, force=force, save=save)

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
        from .curate import synonyms

        return synonyms.remove_synonym(self, synonym)

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
        from .curate import synonyms

        return synonyms.set_abbr(self, value)


# ---------------------------------------------------------------------------------------------
# schema map


def schema_map() -> SchemaMap:
    """All registries' schemas, with reverse relations filled in (cached until a class is added)."""
    cached = _SCHEMA_CACHE.get("map")
    if cached is not None:
        return cached
    specs: dict[str, dict[str, FieldSpec]] = {}
    for name, model in REGISTRIES.items():
        if model.__dict__.get("_abstract"):
            continue
        specs[name] = {f.name: f.spec() for f in model._fields.values()}
    for name, model in REGISTRIES.items():
        if model.__dict__.get("_abstract"):
            continue
        for f in model._fields.values():
            if isinstance(f, ForeignKey) and f.target in specs:
                rname = _reverse_name(model, f)
                specs[f.target].setdefault(
                    rname, FieldSpec(name=rname, kind="reverse_fk", target=name, remote_column=f.column)
                )
            elif isinstance(f, ManyToMany) and f.target in specs:
                rname = f.related_name or (model._schema_table() + "s")
                s, t = f.link_columns
                specs[f.target].setdefault(
                    rname,
                    FieldSpec(
                        name=rname,
                        kind="reverse_m2m",
                        target=name,
                        link_table=f.link_table,
                        link_source=t,
                        link_target=s,
                    ),
                )
    out = {}
    for name, model in REGISTRIES.items():
        if model.__dict__.get("_abstract"):
            continue
        out[name] = RegistrySchema(
            name=name,
            table=model._schema_table(),
            fields=specs[name],
            name_field=model._name_field,
            uid_length=model._uid_length,
        )
    _SCHEMA_CACHE["map"] = out
    _install_reverse_descriptors()
    return out


def _reverse_name(model, fk: ForeignKey) -> str:
    if fk.related_name:
        return fk.related_name
    if fk.name == "created_by":
        return f"created_{model._schema_table()}s"
    return f"{model._schema_table()}s"


def _install_reverse_descriptors() -> None:
    from .related import ReverseForeignKey, ReverseManyToMany

    for model in REGISTRIES.values():
        if model.__dict__.get("_abstract"):
            continue
        for f in model._fields.values():
            if isinstance(f, ForeignKey) and f.target in REGISTRIES:
                target = REGISTRIES[f.target]
                rname = _reverse_name(model, f)
                if not isinstance(target.__dict__.get(rname), ReverseForeignKey) and rname not in target._fields:
                    setattr(target, rname, ReverseForeignKey(model, f))
            elif isinstance(f, ManyToMany) and f.target in REGISTRIES:
                target = REGISTRIES[f.target]
                rname = f.related_name or (model._schema_table() + "s")
                if not isinstance(target.__dict__.get(rname), ReverseManyToMany) and rname not in target._fields:
                    setattr(target, rname, ReverseManyToMany(model, f))


# ---------------------------------------------------------------------------------------------
# get


def get(cls: type[Record], idlike=None, instance: Instance | None = None, **expressions) -> Record:
    """Shared by ``Record.get`` and ``QuerySet.get`` on an unfiltered registry."""
    if idlike is not None and expressions:
        raise InvalidArgument(f"{cls.__name__}.get() takes either an id/uid or field expressions, not both")
    inst = cls._resolve_instance(instance)
    if isinstance(idlike, bool):
        raise InvalidArgument(f"{cls.__name__}.get() takes an int id or a str uid, got {idlike!r}")
    if isinstance(idlike, (int, np.integer)):
        return cls._get_by_id(int(idlike), inst)
    if isinstance(idlike, str):
        bad = text_error(idlike, f"{cls.__name__}.get() uid")
        if bad is not None:
            raise bad
        return _get_by_uid(cls, idlike, inst)
    if idlike is not None:
        raise InvalidArgument(
            f"{cls.__name__}.get() takes an int id or a str uid (or prefix), got {type(idlike).__name__} {shorten(idlike)}"
        )
    if not expressions:
        raise InvalidArgument(f"{cls.__name__}.get() needs an id, a uid or field expressions, e.g. get(name='...')")
    simple = _simple_equalities(cls, expressions)
    if simple is None:
        return QuerySet(cls, instance=inst).get(**expressions)
    table = cls._schema_table()
    (col, value), rest = simple[0], simple[1:]
    rows = inst.find(table, col, value)
    for col, value in rest:
        if rows.num_rows == 0:
            break
        mask = rows.column(col).is_null() if value is None else pc.fill_null(pc.equal(rows.column(col), value), False)
        rows = rows.filter(mask)
    return _one(cls, rows.slice(0, 2), inst, ", ".join(f"{k}={shorten(v)}" for k, v in expressions.items()))


class _ExistingIndex:
    """What ``_find_existing`` keeps per registry and instance: the snapshot it looked in, and
    once many lookups hit one table version, a value -> row dict over it."""

    __slots__ = ("table", "version", "snap", "checked", "index", "empty", "lookups", "batch", "ids", "simple")

    def __init__(self, cls, table, snap, empty: bool):
        self.table, self.version, self.snap, self.empty = table, table.version, snap, empty
        # the registry matches on its name field alone, so the index answers for the constructor
        self.simple = cls._existing_match.__func__ is Record._existing_match.__func__
        self.checked = time.monotonic()
        self.index = self.batch = self.ids = None
        self.lookups = 0


_EXISTING: dict[tuple, _ExistingIndex] = {}


def _find_existing(cls: type[Record], match: dict) -> Record | None:
    """The first saved record of ``cls`` (default instance) whose fields equal ``match``, or None.

    Runs on every constructor call of a registry that returns existing records, so it must be
    cheap: an empty registry costs nothing, a few lookups use the storage hash index, and many
    lookups at one table version (bulk construction) build a value -> row dict once. Commits of
    other processes are seen within half a second (and ``save()`` still checks unique fields).
    """
    inst = _settings.instance
    key = (id(inst), cls)
    e = _EXISTING.get(key)
    now = time.monotonic()
    if e is None or e.table.version != e.version or now - e.checked > 0.5:
        cls._ensure_tables(inst)
        name = cls._schema_table()
        snap = inst.snapshot(name)
        if e is None or snap is not e.snap:
            e = _EXISTING[key] = _ExistingIndex(cls, inst.table(name), snap, snap.num_rows == 0)
        e.checked = now
    if e.empty:
        return None
    snap = e.snap
    items = iter(match.items())
    col, value = next(items)
    rest = list(items)
    if e.index is None or rest:
        e.lookups += 1
        if e.lookups <= 64 or rest:
            rows = inst.find(e.table.spec.name, col, value)
            for c, v in rest:
                if rows.num_rows:
                    column = rows.column(c)
                    rows = rows.filter(column.is_null() if v is None else pc.fill_null(pc.equal(column, v), False))
            return cls._from_arrow(rows.slice(0, 1), inst)[0] if rows.num_rows else None
        values = snap.column(col).to_pylist()
        # reversed, so the first row of a repeated value wins (LaminDB's .first())
        e.index = dict(zip(reversed(values), range(len(values) - 1, -1, -1), strict=True))
        e.batch = _Batch(cls, snap)
        e.ids = int_values(snap.column("id"))
    pos = e.index.get(value)
    if pos is None:
        return None
    obj = cls.__new__(cls)
    obj.__dict__ = {"_batch": e.batch, "_row": pos, "_instance": inst, "id": int(e.ids[pos])}
    return obj


def _simple_equalities(cls, expressions) -> list[tuple[str, Any]] | None:
    """``[(column, value)]`` when every expression is ``field=value`` on a direct column, else None."""
    out = []
    for key, value in expressions.items():
        name = key[:-7] if key.endswith("__exact") else key
        f = cls._fields.get(name)
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            return None  # no stored value equals it; the query path answers DoesNotExist
        if isinstance(value, str):
            bad = text_error(value, f"{cls.__name__}.get({key}=...)")
            if bad is not None:
                raise bad
        if isinstance(f, ForeignKey):
            if isinstance(value, Record):
                value = value.id
            elif value is not None and not isinstance(value, int):
                return None
            out.append((f.column, value))
            continue
        if name in cls._id_columns():
            out.append((name, value))
            continue
        if not isinstance(f, Field) or "__" in name or isinstance(f, JSON):
            return None
        try:
            value = f.clean(value) if value is not None else None
        except ValidationError:
            return None  # e.g. name=1: compared by the query engine, exactly as filter(name=1) does
        out.append((f.column, value))
    return out


def _get_by_uid(cls, uid: str, inst: Instance) -> Record:
    table = cls._schema_table()
    if len(uid) >= cls._uid_length:
        rows = inst.find(table, "uid", uid)
    else:
        snap = inst.snapshot(table)
        rows = snap.filter(pc.starts_with(snap.column("uid"), uid)).slice(0, 2) if uid else snap.slice(0, 2)
    if rows.num_rows == 0:
        hint = f" Did you forget a keyword as in {cls.__name__}.get({cls._name_field}='{uid}')?"
        raise cls.DoesNotExist(f"No record found with uid '{uid}'.{hint}")
    if rows.num_rows > 1:
        raise cls.MultipleObjectsReturned(
            f"uid prefix '{uid}' matches several {cls.__name__} records; give more characters of the uid"
        )
    return cls._from_arrow(rows, inst)[0]


def _one(cls, rows: pa.Table, inst: Instance, what: str) -> Record:
    if rows.num_rows == 0:
        raise cls.DoesNotExist(f"{cls.__name__} matching {what} does not exist")
    if rows.num_rows > 1:
        raise cls.MultipleObjectsReturned(
            f"get() returned more than one {cls.__name__} for {what}; use filter(...) to get them all"
        )
    return cls._from_arrow(rows, inst)[0]


# ---------------------------------------------------------------------------------------------
# saving


def save(records: Iterable[Record] | Record, ignore_conflicts: bool = False, batch_size: int | None = None) -> None:
    """Save records in one transaction: new ones inserted, changed ones updated, all or nothing.

    Vectorised: values are gathered column by column into one Arrow table per registry, ids
    and uids are assigned by the commit for the whole batch. A unique-constraint violation
    raises ``IntegrityError`` and writes nothing.

    Parameters
    ----------
    records
        Records of any registries (a single record is accepted too).
    ignore_conflicts
        LaminDB's switch to skip records that violate a unique constraint; only ``False`` is
        supported (a conflict is an error that names the existing record).
    batch_size
        Accepted for LaminDB scripts (``ln.save(records, batch_size=10_000)``); the records are
        written in one commit whatever its value, so a failure never leaves part of them.

    Returns
    -------
    None

    Examples
    --------
    >>> ln.save([ln.ULabel(name=f"saved {i}") for i in range(3)], batch_size=2)
    >>> ln.ULabel.filter(name__startswith="saved ").count()
    3
    """
    if ignore_conflicts:
        raise InvalidArgument(
            "ln.save(ignore_conflicts=True) is not supported: a conflict raises IntegrityError naming the existing "
            "record; construct records with ULabel(name=...) to get the saved ones back instead"
        )
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidArgument(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(records, Record):
        records = [records]
    # a from_values RecordList offers only what may need writing (no objects for untouched rows)
    offer = getattr(records, "_records_to_save", None)
    if offer is None and (isinstance(records, (str, bytes, dict)) or not isinstance(records, Iterable)):
        raise InvalidArgument(
            f"ln.save() takes a record or a list of records, got {type(records).__name__} {shorten(records)}"
        )
    records = offer() if offer is not None else list(records)
    if not records:
        return
    groups: dict[type, list[Record]] = {}
    for r in records:
        if not isinstance(r, Record):
            raise InvalidArgument(f"ln.save() takes records, got {type(r).__name__} {shorten(r)}")
        groups.setdefault(type(r), []).append(r)
    # Users first: other records' created_by may point to them.
    order = sorted(groups, key=lambda c: c.__name__ != "User")
    insts = {cls: _group_instance(cls, groups[cls]) for cls in order}
    by_root = {id(i): i for i in insts.values()}
    if len(by_root) > 1:
        raise InvalidArgument("cannot save records of different instances in one ln.save() call; save them separately")
    inst = next(iter(by_root.values()))
    _check_writable(inst)
    from .storage.remote import retrying

    with paused_gc(len(records)):
        # One transaction: every registry's rows become visible together, or none do. On object
        # storage a writer that lost the race for the commit runs it again on fresh state.
        for attempt in retrying(inst):
            with attempt:
                finish = []
                with _storage_errors(), inst.transaction() as tx:
                    for cls in order:
                        finish.append(_save_group(cls, groups[cls], inst, tx))
        for f in finish:
            f()


@contextlib.contextmanager
def paused_gc(n: int):
    """Pause the cyclic garbage collector while touching many objects (records hold no cycles);
    with 10^6 records its repeated full passes cost a quarter of a bulk save."""
    if n < 10_000 or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Batch:
    """The Arrow rows behind lazily loaded records; converted to Python columns once, on first use."""

    __slots__ = ("table", "names", "columns", "json_cols", "positions")

    def __init__(self, cls, table: pa.Table):
        self.table = table
        self.names = table.column_names
        self.positions = {name: i for i, name in enumerate(self.names)}
        self.columns = None
        self.json_cols = [f.column for f in cls._value_fields() if isinstance(f, JSON) and f.column in self.names]

    def _column(self, pos: int) -> list:
        """Column ``pos`` as a Python list, converted on first use."""
        if self.columns is None:
            self.columns = [None] * len(self.names)
        col = self.columns[pos]
        if col is None:
            with paused_gc(self.table.num_rows):
                col = self.columns[pos] = list(_pylist(self.table.column(pos)))
        return col

    def value(self, name: str, i: int):
        """Row ``i``'s value of column ``name`` (reading one field converts only that column)."""
        pos = self.positions.get(name)
        if pos is None:
            return None
        v = self._column(pos)[i]
        if v is not None and name in self.json_cols:
            v = json.loads(v)
        return v

    def fill(self, d: dict, i: int) -> None:
        """Put row ``i``'s values into a record's ``__dict__`` (which holds no field values yet)."""
        if self.columns is None or None in self.columns:
            for pos in range(len(self.names)):
                self._column(pos)
        d.update(zip(self.names, [col[i] for col in self.columns], strict=True))
        for c in self.json_cols:
            if d[c] is not None:
                d[c] = json.loads(d[c])


def _pylist(column: pa.ChunkedArray):
    """Python values of a column, fast for what registries hold.

    Timestamps convert per distinct value (a bulk save shares one ``created_at``), all-null
    columns are a repeat of None; everything else is Arrow's own ``to_pylist``.
    """
    n = len(column)
    if column.null_count == n:
        return repeat(None, n)
    if pa.types.is_timestamp(column.type) and n > 64:
        enc = column.combine_chunks().dictionary_encode()
        distinct = np.empty(len(enc.dictionary) + 1, dtype=object)
        distinct[:-1] = enc.dictionary.to_pylist()
        distinct[-1] = None
        idx = pl.Series(enc.indices).fill_null(len(enc.dictionary)).to_numpy()
        return distinct[idx].tolist()
    return column.to_pylist()


def _check_writable(inst: Instance) -> None:
    if inst.read_only:
        raise ReadOnlyError(
            f"records from {inst!r} are read-only (opened with using()); connect with registry.init('{inst.root}') to write"
        )


def _group_instance(cls: type[Record], records: list[Record]) -> Instance:
    from .settings import settings

    instances = {id(r._instance): r._instance for r in records if r._instance is not None}
    if len(instances) > 1:
        raise InvalidArgument(f"cannot save {cls.__name__} records from different instances in one call")
    return next(iter(instances.values())) if instances else settings.instance


@contextlib.contextmanager
def _storage_errors():
    """Storage's own exceptions as registry errors (lock timeouts, read-only handles)."""
    try:
        yield
    except ReadOnlyInstance as e:
        raise ReadOnlyError(str(e)) from None


def _save_group(cls: type[Record], records: list[Record], inst: Instance, tx):
    """Stage one registry's inserts and updates in ``tx``; returns what to do once it is committed."""
    from .settings import settings

    cls._ensure_tables(inst)
    now = dt.datetime.now(dt.UTC)
    new, old = [], []
    for r in records:
        d = r.__dict__
        if "_batch" in d:
            continue  # loaded lazily and never touched: unchanged, nothing to write
        (new if d.get("id") is None else old).append(r)
    if not new and not old:
        return lambda: None
    if len(set(map(id, new))) != len(new):
        raise InvalidArgument(f"the same {cls.__name__} record appears twice in the list to save")
    user_id = None
    if "created_by" in cls._fields:
        user_id = settings.user_id(inst)
    fields = cls._value_fields()
    inserts = _columns(cls, fields, new, now, user_id, insert=True) if new else None
    updates = _columns(cls, fields, old, now, user_id, insert=False) if old else None
    check_references(cls, inserts, tx.snapshot)  # under the writer lock: no delete can slip in
    check_references(cls, updates, tx.snapshot)
    try:
        result = tx.commit(cls._schema_table(), inserts=inserts, updates=updates)
    except ConstraintViolation as e:
        raise _integrity_error(cls, e) from None
    except MissingRows as e:
        raise DoesNotExist(
            f"cannot update {cls.__name__} records with id {', '.join(map(str, e.ids[:5].tolist()))}: they were deleted "
            f"(perhaps by another process); nothing was saved. Create them again with {cls.__name__}(...)"
        ) from None
    except ReadOnlyInstance as e:
        raise ReadOnlyError(str(e)) from None
    after = getattr(cls, "_after_insert", None)
    if after is not None and new:
        after(new, result.ids, inst, tx)  # e.g. bio records stage links to the parents they came with

    def finish() -> None:
        ids = result.ids.tolist()
        uids = result.uids.tolist() if result.uids is not None else [None] * len(new)
        has_user = user_id is not None
        for r, i, u in zip(new, ids, uids, strict=True):
            d = r.__dict__
            d["id"] = i
            d["uid"] = u
            d["created_at"] = d["updated_at"] = now
            d["_instance"] = inst
            if has_user and d["created_by_id"] is None:
                d["created_by_id"] = user_id
        for r in old:
            r.__dict__["updated_at"] = now

    return finish


def _columns(cls, fields: list[Field], records: list[Record], now, user_id, insert: bool) -> pa.Table:
    n = len(records)
    cols = {}
    dicts = [r.__dict__ for r in records]
    for f in fields:
        col = f.column
        if col == "id":
            if insert:
                continue
            cols[col] = pa.array([d["id"] for d in dicts], pa.int64())
            continue
        if col in ("created_at", "updated_at") and (insert or col == "updated_at"):
            cols[col] = pa.array(np.full(n, np.datetime64(now.replace(tzinfo=None), "us")), pa.timestamp("us")).cast(
                f.arrow_type
            )
            continue
        values = list(map(itemgetter(col), dicts))  # every column is in __dict__ (constructor defaults)
        if col == "created_by_id" and user_id is not None and insert:
            values = [user_id if v is None else v for v in values]
        if isinstance(f, JSON):
            values = [None if v is None else json.dumps(v) for v in values]
        try:
            cols[col] = pa.array(values, f.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise ValidationError(
                f"{cls.__name__}.{f.name}: a value does not fit {f.kind}: {shorten(str(e))}"
            ) from None
        except UnicodeEncodeError:  # find the culprit only now that there is one
            for v in values:
                bad = text_error(v, f"{cls.__name__}.{f.name}") if isinstance(v, str) else None
                if bad is not None:
                    raise ValidationError(f"{bad}; nothing was saved") from None
            raise
    return pa.table(cols)


def _integrity_error(cls, e: ConstraintViolation) -> IntegrityError:
    field = e.column
    if e.within_batch:
        return IntegrityError(
            f"{cls.__name__} records being saved share {field}={shorten(e.value)}, which must be unique; nothing was saved. "
            f"Remove the duplicates, e.g. with {{r.{field}: r for r in records}}.values()"
        )
    return IntegrityError(
        f"{cls.__name__} with {field}={shorten(e.value)} already exists (uid '{e.existing_uid}'); nothing was saved. "
        f"Load it with {cls.__name__}.get({field}={shorten(e.value)}) or choose another {field}"
    )


def delete_records(cls, ids: np.ndarray, inst: Instance, tx) -> int:
    """Stage the delete of ``cls`` records ``ids`` in ``tx``, following each ForeignKey's ``on_delete``
    (PROTECT refuses with ``IntegrityError``; CASCADE and SET_NULL change the other tables in the
    same transaction) and removing their link rows. Returns how many ``cls`` rows were deleted."""
    for model in list(REGISTRIES.values()):  # a registry declared after the first query has no table yet
        if not model.__dict__.get("_abstract"):
            model._ensure_tables(inst)
    plan = plan_delete(cls, ids, REGISTRIES, tx.snapshot)
    return apply_delete(plan, REGISTRIES, inst, tx).get(cls, 0)


def _delete_links(cls, inst: Instance, ids: np.ndarray, tx=None) -> None:
    """Remove link-table rows that point to deleted records (in ``tx`` when given)."""
    for model in REGISTRIES.values():
        if model.__dict__.get("_abstract"):
            continue
        for f in model._fields.values():
            if not isinstance(f, ManyToMany):
                continue
            s, t = f.link_columns
            cols = [c for c, m in ((s, model), (t, f.target_model())) if m is cls]
            if not cols:
                continue
            model._ensure_tables(inst)
            snap = (tx or inst).snapshot(f.link_table)
            if not snap.num_rows:
                continue
            mask = None
            for c in cols:
                m = pc.is_in(snap.column(c), pa.array(ids, pa.int64()))
                mask = m if mask is None else pc.or_(mask, m)
            hit = int_values(snap.filter(mask).column("id"))
            if len(hit):
                (tx or inst).delete_rows(f.link_table, hit)


def check_permanent(permanent, what: str) -> None:
    """Refuse ``delete(permanent=False)``: LaminDB moves records to a trash branch, this library has none."""
    if permanent is False:
        raise ValidationError(
            f"there is no trash: {what} records cannot be soft-deleted (moved to a trash branch) here; "
            f"delete() removes them for good. Call delete() or delete(permanent=True)"
        )
    if permanent not in (None, True):
        raise InvalidArgument(f"permanent must be True, False or None, got {permanent!r}")


def _root(inst: Instance | None):
    return None if inst is None else inst.root


__all__ = ["Record", "HasSynonyms", "REGISTRIES", "schema_map", "save", "get", "class_only", "field_name"]
