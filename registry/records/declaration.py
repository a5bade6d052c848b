"""Model declaration: a Record subclass's fields become its schema, its Arrow schema and its tables.

``RecordMeta`` collects the declared fields (declaration order, base fields first), gives every
registry Django's own ``DoesNotExist``/``MultipleObjectsReturned`` and registers it in the model
map. ``ModelBase`` holds what follows from the declaration alone: the table, the Arrow schema,
the storage ``TableSpec`` and which instance's tables exist. Nothing here saves or queries.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar, Self

import pyarrow as pa

from ..errors import DoesNotExist, InvalidArgument, MultipleResultsFound
from ..errors import DoesNotExist as _DoesNotExist
from ..fields import JSON, Field, ForeignKey, IdField, ManyToMany
from ..model_map import concrete, register, schema_of
from ..schema import RegistrySchema
from ..settings import settings
from ..storage import Instance, TableSpec
from .rows import records_from_arrow

if TYPE_CHECKING:
    import polars as pl

BOOKKEEPING = ("created_at", "updated_at", "created_by")


class RecordMeta(type):
    """Collects fields into ``_fields`` (declaration order, base fields bound per subclass)."""

    def __new__(mcs, name, bases, ns, **kwargs):
        cls: Any = super().__new__(mcs, name, bases, ns, **kwargs)
        # Django's per-registry exceptions, subclasses of the one hierarchy in registry.errors:
        # ``except ln.ULabel.DoesNotExist`` and ``except ln.errors.DoesNotExist`` both catch a miss.
        exceptions: tuple[tuple[str, type[Exception]], ...] = (
            ("DoesNotExist", DoesNotExist),
            ("MultipleObjectsReturned", MultipleResultsFound),
        )
        for exc_name, base in exceptions:
            if exc_name not in ns:
                exc = type(exc_name, (base,), {"__module__": cls.__module__, "__qualname__": f"{name}.{exc_name}"})
                setattr(cls, exc_name, exc)
        if ns.get("_abstract", False):
            cls._fields = {}
            return cls
        fields: dict[str, Field | ManyToMany] = {}
        head: dict[str, Field | ManyToMany] = {}
        tail: dict[str, Field | ManyToMany] = {}
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
        own = {k: v for k, v in tail.items() if k not in BOOKKEEPING}
        book = {k: v for k, v in tail.items() if k in BOOKKEEPING}
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
        register(cls)
        cls._declared()
        return cls

    @property
    def _schema(cls) -> RegistrySchema:
        """The registry's schema (with reverse relations), as the translator and curation see it."""
        return schema_of(cls)  # type: ignore[arg-type]  # cls is a registry class: this metaclass's instance


class ModelBase(metaclass=RecordMeta):
    """What a registry is by declaration: its fields, table, Arrow schema and storage tables."""

    _abstract = True
    _fields: ClassVar[dict[str, Any]]
    _table_specs: ClassVar[dict[int, Instance]]
    _required_cache: ClassVar[tuple[str, ...]]
    # set per registry by RecordMeta: ``except ln.ULabel.DoesNotExist``
    DoesNotExist: ClassVar[type[_DoesNotExist]]
    MultipleObjectsReturned: ClassVar[type[MultipleResultsFound]]
    _name_field: ClassVar[str] = "name"
    _uid_length: ClassVar[int] = 8
    _has_created_by: ClassVar[bool] = True

    @classmethod
    def _declared(cls) -> None:
        """Called once the class is registered (the record layer installs reverse accessors)."""

    # -- fields ------------------------------------------------------------------------------
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

    @classmethod
    def _value_fields(cls) -> list[Field]:
        return [f for f in cls._fields.values() if isinstance(f, Field)]

    # -- tables ------------------------------------------------------------------------------
    @classmethod
    def _schema_table(cls) -> str:
        return cls.__dict__.get("_table") or cls.__name__.lower()

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

    # -- instances and snapshots -------------------------------------------------------------
    @classmethod
    def _resolve_instance(cls, instance: Instance | None = None) -> Instance:
        if instance is None:
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
        for model in concrete():
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
    def _snapshot_pl(cls, instance: Instance | None = None) -> pl.DataFrame:
        inst = cls._resolve_instance(instance)
        return inst.snapshot_pl(cls._schema_table())

    @classmethod
    def _versioned_snapshot_pl(cls, instance: Instance) -> tuple[Any, pl.DataFrame, int | None]:
        """(storage table, snapshot frame, the table version the frame is of, or None if unsure):
        what derived data cached per version (``Table.derived_at``) is built from.

        The version is read before and after taking the snapshot; only if both agree is it
        certainly the frame's (a commit from another thread in between makes it unsure: the
        caller then builds uncached). Reading may first load or refresh the table, hence a
        second attempt.
        """
        table = instance.table(cls._schema_table())
        for _ in range(2):
            version = table.version
            frame = cls._snapshot_pl(instance)
            if table.version == version:
                return table, frame, version
        return table, frame, None

    @classmethod
    def _json_columns(cls) -> tuple[str, ...]:
        return tuple(f.column for f in cls._value_fields() if isinstance(f, JSON))

    @classmethod
    def _from_arrow(cls, table: pa.Table, instance: Instance | None = None) -> list[Self]:
        """Records viewing ``table``'s rows; values are filled on first attribute access (rows.py)."""
        return records_from_arrow(cls, table, cls._resolve_instance(instance), cls._json_columns())

    def _materialize(self) -> None:
        """Fill a lazily loaded record's values from its row batch."""
        d = self.__dict__
        batch = d.pop("_batch", None)
        if batch is not None:
            batch.fill(d, d.pop("_row"))

    @classmethod
    def _table_version(cls, instance: Instance | None = None) -> int:
        inst = cls._resolve_instance(instance)
        cls._snapshot(inst)
        return inst.table(cls._schema_table()).version


__all__ = ["RecordMeta", "ModelBase", "BOOKKEEPING"]
