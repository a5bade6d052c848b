"""Field types declared on Record classes.

On the class, a field is an object usable wherever ``field=`` is taken (``bt.Gene.symbol``);
on an instance, the same attribute is the value. Values live in the instance ``__dict__``;
the descriptor only checks types on assignment, so reading a value stays a dict lookup.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

import pyarrow as pa

from .errors import InvalidArgument, ValidationError, shorten
from .model_map import registry_class
from .schema import FieldSpec, RelationKind, ValueKind

if TYPE_CHECKING:
    from .records.declaration import ModelBase as Record

ARROW_TYPES = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),  # stored as JSON text so any tool can read it
}


_MISSING = object()  # a field value not in a record's __dict__ yet

T = TypeVar("T")


class Field(Generic[T]):
    """A stored value of one kind (``str``, ``int``, ``float``, ``bool``, ``datetime``, ``json``).

    Generic in the value's type, for type checkers: ``ULabel.name`` is the ``String`` field,
    ``ULabel(name="x").name`` a ``str | None`` (None until set, and for nullable fields).
    """

    kind: ValueKind | RelationKind = "str"
    python_types: tuple[type, ...] = (str,)

    def __init__(
        self,
        *,
        null: bool = True,
        unique: bool = False,
        default: Any = None,
        required: bool = False,
        max_length: int | None = None,
    ):
        self.null = null and not required
        self.unique = unique
        self.default = default
        self.required = required
        self.max_length = max_length
        self.name: str = ""
        self.model: type[Record] | None = None

    def __set_name__(self, owner, name: str) -> None:
        self.name = name
        self.model = owner

    def copy_for(self, owner, name: str) -> Field:
        """A copy bound to a subclass (base-class fields like ``uid`` belong to each registry)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.name, clone.model = name, owner
        return clone

    # -- descriptor ------------------------------------------------------------------------
    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T | None: ...
    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        d = instance.__dict__
        value = d.get(self.name, _MISSING)
        if value is not _MISSING:
            return value
        batch = d.get("_batch")
        if batch is not None:  # a record loaded lazily: read this one value from its batch
            value = d[self.name] = batch.value(self.name, d["_row"])
            return value
        return None

    def __set__(self, instance: Record, value: T | None) -> None:
        d = instance.__dict__
        if "_batch" in d:
            instance._materialize()
        d[self.name] = self.clean(value)

    # -- values ----------------------------------------------------------------------------
    @property
    def column(self) -> str:
        return self.name

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]

    def clean(self, value):
        """Check ``value`` for this field and return it (coerced where lossless)."""
        if value is None:
            if not self.null and self.model is not None:
                raise ValidationError(f"{self.model.__name__}.{self.name} cannot be None")
            return None
        if isinstance(value, bool) and bool not in self.python_types:
            self._type_error(value)
        if not isinstance(value, self.python_types):
            self._type_error(value)
        if self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            raise ValidationError(
                f"{self._owner()}.{self.name} takes at most {self.max_length} characters, got {len(value)}: {value[:40]!r}…"
            )
        return value

    def _owner(self) -> str:
        return self.model.__name__ if self.model else "?"

    def _type_error(self, value):
        expected = " or ".join(t.__name__ for t in self.python_types)
        raise ValidationError(
            f"{self._owner()}.{self.name} expects {expected}, got {type(value).__name__} {shorten(value)}"
        )

    def spec(self) -> FieldSpec:
        return FieldSpec(name=self.name, kind=self.kind, column=self.column, nullable=self.null, unique=self.unique)

    def __repr__(self) -> str:
        owner = self.model.__name__ if self.model else "?"
        return f"<{type(self).__name__} {owner}.{self.name}>"


class String(Field[str]):
    kind = "str"
    python_types = (str,)


class Integer(Field[int]):
    kind = "int"
    python_types = (int,)


class Float(Field[float]):
    kind = "float"
    python_types = (float, int)

    def clean(self, value):
        value = super().clean(value)
        return float(value) if value is not None else None


class Boolean(Field[bool]):
    kind = "bool"
    python_types = (bool,)


class DateTime(Field[dt.datetime]):
    kind = "datetime"
    python_types = (dt.datetime,)

    def clean(self, value):
        value = super().clean(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # naive times are taken as UTC
        return value


class JSON(Field[Any]):
    kind = "json"
    python_types = (dict, list, str, int, float, bool)


ON_DELETE = ("PROTECT", "CASCADE", "SET_NULL")


class ForeignKey(Field[Any]):
    """A reference to one record of ``target``; stored as ``<name>_id``.

    ``record.run`` is the related record (loaded on first access), ``record.run_id`` the id.
    Saving an id that no ``target`` record has is an ``IntegrityError``. ``on_delete`` says
    what deleting the target does to the records pointing at it, as Django's: ``"PROTECT"``
    (the default: the delete is refused while references exist), ``"CASCADE"`` (they are
    deleted too, in the same transaction) or ``"SET_NULL"`` (their ``<name>_id`` becomes None).
    """

    kind = "fk"

    def __init__(self, target: str, *, related_name: str | None = None, null: bool = True, on_delete: str = "PROTECT"):
        super().__init__(null=null)
        if on_delete not in ON_DELETE:
            raise InvalidArgument(f"on_delete must be one of {', '.join(ON_DELETE)}, got {on_delete!r}")
        if on_delete == "SET_NULL" and not null:
            raise InvalidArgument("on_delete='SET_NULL' needs null=True: the id becomes None when the target goes")
        self.target = target
        self.related_name = related_name
        self.on_delete = on_delete

    @property
    def column(self) -> str:
        return f"{self.name}_id"

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.int64()

    def target_model(self):
        return registry_class(self.target)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        if "_batch" in instance.__dict__:
            instance._materialize()
        cache = instance.__dict__.get("_related_cache")
        if cache is not None and self.name in cache:
            return cache[self.name]
        fk_id = instance.__dict__.get(self.column)
        if fk_id is None:
            return None
        related = self.target_model()._get_by_id(fk_id, instance._instance)
        instance.__dict__.setdefault("_related_cache", {})[self.name] = related
        return related

    def __set__(self, instance, value) -> None:
        if "_batch" in instance.__dict__:
            instance._materialize()
        if value is None:
            instance.__dict__[self.column] = None
        else:
            target = self.target_model()
            if not isinstance(value, target):
                raise ValidationError(
                    f"{self._owner()}.{self.name} expects a {target.__name__} record, got {type(value).__name__} {shorten(value)}"
                    f"; to set the id directly use {self.column}=<int>"
                )
            if value.id is None:
                raise ValidationError(
                    f"{self._owner()}.{self.name}: the {target.__name__} record {value!r} is not saved yet; save it first"
                )
            instance.__dict__[self.column] = value.id
        instance.__dict__.setdefault("_related_cache", {})[self.name] = value

    def spec(self) -> FieldSpec:
        return FieldSpec(name=self.name, kind="fk", column=self.column, nullable=self.null, target=self.target)


class IdField:
    """The ``<fk>_id`` attribute next to a ForeignKey: an int or None."""

    def __init__(self, fk: ForeignKey):
        self.fk = fk

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        if "_batch" in instance.__dict__:
            instance._materialize()
        return instance.__dict__.get(self.fk.column)

    def __set__(self, instance, value) -> None:
        if "_batch" in instance.__dict__:
            instance._materialize()
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(f"{self.fk._owner()}.{self.fk.column} expects an int id, got {shorten(value)}")
        instance.__dict__[self.fk.column] = value
        cache = instance.__dict__.get("_related_cache")
        if cache:
            cache.pop(self.fk.name, None)


class ManyToMany:
    """Links to many records of ``target`` through the link table ``<table>_<name>``."""

    kind = "m2m"

    def __init__(self, target: str, *, related_name: str | None = None):
        self.target = target
        self.related_name = related_name
        self.name = ""
        self.model: type[Record] | None = None

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.model = name, owner

    def copy_for(self, owner, name: str) -> ManyToMany:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.name, clone.model = name, owner
        return clone

    def target_model(self):
        return registry_class(self.target)

    def _owner_model(self) -> type[Record]:
        assert self.model is not None, f"ManyToMany {self.name!r} is used before its class is made"
        return self.model

    @property
    def link_table(self) -> str:
        return f"{self._owner_model()._schema_table()}_{self.name}"

    @property
    def link_columns(self) -> tuple[str, str]:
        src = self._owner_model()._schema_table()
        tgt = self.target_model()._schema_table()
        if src == tgt:
            return f"from_{src}_id", f"to_{tgt}_id"
        return f"{src}_id", f"{tgt}_id"

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return instance._many_to_many(self)  # the record layer's manager (records/related.py)

    def __set__(self, instance, value) -> None:
        raise InvalidArgument(
            f"direct assignment to {self._owner_model().__name__}.{self.name} is not allowed; use .{self.name}.add(...) or .{self.name}.set(...)"
        )

    def spec(self) -> FieldSpec:
        s, t = self.link_columns
        return FieldSpec(
            name=self.name, kind="m2m", target=self.target, link_table=self.link_table, link_source=s, link_target=t
        )

    def __repr__(self) -> str:
        return f"<ManyToMany {self.model.__name__ if self.model else '?'}.{self.name} -> {self.target}>"


@overload
def field_name(field: None) -> None: ...
@overload
def field_name(field: object) -> str: ...
def field_name(field):
    """Name of a field given as a string or a field object (``bt.Gene.symbol`` -> ``"symbol"``)."""
    if field is None or isinstance(field, str):
        return field
    name = getattr(field, "name", None)
    if isinstance(name, str) and name and hasattr(field, "model"):
        return name
    raise InvalidArgument(f"expected a field name or a field such as ULabel.name, got {type(field).__name__} {field!r}")
