"""The model map: every registry class by name, and the schemas the translator and curation read.

The ground floor of the records: it knows registry classes only as declared objects (their
``_fields``, table name and name field), never what a record can do, so ``fields.py`` can follow a
``ForeignKey("User")`` and settings can find ``User`` without importing records or query sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .schema import FieldSpec, RegistrySchema, SchemaMap

if TYPE_CHECKING:
    from .fields import ForeignKey, ManyToMany
    from .records.declaration import ModelBase

REGISTRIES: dict[str, type[ModelBase]] = {}
"""Every registry class by name, including abstract bases (``Record``, ``BioRecord``)."""

_SCHEMA_CACHE: dict[str, Any] = {}


def register(model: type[ModelBase]) -> None:
    """Add ``model`` under its class name (a redefinition replaces it) and forget derived schemas."""
    REGISTRIES[model.__name__] = model
    _SCHEMA_CACHE.clear()


def concrete() -> list[type[ModelBase]]:
    """The registries that have a table (abstract bases left out), in declaration order."""
    return [m for m in REGISTRIES.values() if not m.__dict__.get("_abstract")]


def registry_class(name: str) -> type[ModelBase]:
    """The registry class named ``name`` (a ``KeyError`` names the unknown registry)."""
    return REGISTRIES[name]


def reverse_name(model: type[ModelBase], relation: ForeignKey | ManyToMany) -> str:
    """The accessor name on the target of ``relation`` (``user.created_artifacts``, ``ulabel.artifacts``)."""
    if relation.related_name:
        return relation.related_name
    if relation.kind == "fk" and relation.name == "created_by":
        return f"created_{model._schema_table()}s"
    return f"{model._schema_table()}s"


def schema_map() -> SchemaMap:
    """All registries' schemas, with reverse relations filled in (cached until a class is added)."""
    cached = _SCHEMA_CACHE.get("map")
    if cached is not None:
        return cached
    models = concrete()
    specs: dict[str, dict[str, FieldSpec]] = {
        m.__name__: {f.name: f.spec() for f in m._fields.values()} for m in models
    }
    for model in models:
        name = model.__name__
        for f in model._fields.values():
            if f.kind not in ("fk", "m2m") or f.target not in specs:
                continue
            rname = reverse_name(model, f)
            if f.kind == "fk":
                spec = FieldSpec(name=rname, kind="reverse_fk", target=name, remote_column=f.column)
            else:
                s, t = f.link_columns
                spec = FieldSpec(
                    name=rname, kind="reverse_m2m", target=name, link_table=f.link_table, link_source=t, link_target=s
                )
            specs[f.target].setdefault(rname, spec)
    out = {
        m.__name__: RegistrySchema(
            name=m.__name__,
            table=m._schema_table(),
            fields=specs[m.__name__],
            name_field=m._name_field,
            uid_length=m._uid_length,
        )
        for m in models
    }
    _SCHEMA_CACHE["map"] = out
    return out


def schema_of(model: type[ModelBase]) -> RegistrySchema:
    """One registry's schema, with its reverse relations."""
    return schema_map()[model.__name__]


__all__ = ["REGISTRIES", "register", "concrete", "registry_class", "reverse_name", "schema_map", "schema_of"]
