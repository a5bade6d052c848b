"""Plain descriptions of registries and their fields, shared by the translator, curation and search.

Nothing here touches storage or Record classes: a ``RegistrySchema`` is data, so the pure
parts of the library (query translation, curation algorithms, search ranking) can be tested
without an instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Value kinds a column can hold, and relation kinds that have no column of their own.
ValueKind = Literal["str", "int", "float", "bool", "datetime", "json"]
RelationKind = Literal["fk", "m2m", "reverse_fk", "reverse_m2m"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a registry.

    ``kind`` is a value kind (``str`` …) or a relation kind. For a foreign key, ``column`` is
    the id column (``created_by_id``) and ``target`` the related registry name. For a
    many-to-many field, ``link_table`` holds pairs ``(link_source, link_target)`` of ids; its
    reverse (``ulabel.artifacts``) swaps the two. For a reverse foreign key
    (``user.created_artifacts``), ``target`` is the registry holding the FK and
    ``remote_column`` its id column.
    """

    name: str
    kind: ValueKind | RelationKind
    column: str | None = None
    nullable: bool = True
    unique: bool = False
    target: str | None = None
    link_table: str | None = None
    link_source: str | None = None
    link_target: str | None = None
    remote_column: str | None = None

    @property
    def is_relation(self) -> bool:
        return self.kind in ("fk", "m2m", "reverse_fk", "reverse_m2m")

    @property
    def is_many(self) -> bool:
        """True when following this field can yield several related rows per record."""
        return self.kind in ("m2m", "reverse_fk", "reverse_m2m")


@dataclass(frozen=True)
class RegistrySchema:
    """A registry: its name (``ULabel``), its table (``ulabel``) and fields in declaration order."""

    name: str
    table: str
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    name_field: str = "name"
    uid_length: int = 8

    @property
    def columns(self) -> list[str]:
        """Stored columns in order (id, uid, value fields, FK id columns)."""
        return [f.column for f in self.fields.values() if f.column is not None]

    def string_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.kind == "str"]


# The registry of all schemas, keyed by registry name; translators follow relations through it.
SchemaMap = Mapping[str, RegistrySchema]
