"""Resolving ``created_by__handle__startswith`` into relation hops, a field and a lookup.

Errors name the registry, the bad part of the path and the closest field names, as Django's
"perhaps you meant" does, so a typo is fixed from the message alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FieldError, did_you_mean
from ..schema import FieldSpec, RegistrySchema, SchemaMap
from .lookups import LOOKUPS, supported_for

ID = FieldSpec(name="id", kind="int", column="id", nullable=False, unique=True)


@dataclass(frozen=True)
class Path:
    """A resolved field path.

    ``hops`` are the relations followed (each a ``FieldSpec`` of kind fk/m2m/reverse_*),
    ``field`` the final field (a value field, or a relation when the path ends on one),
    ``schema`` the registry ``field`` belongs to, ``lookup`` the lookup name or ``None``.
    """

    key: str
    hops: tuple[FieldSpec, ...]
    field: FieldSpec
    schema: RegistrySchema
    lookup: str | None

    @property
    def is_many(self) -> bool:
        """True when the path can reach several values per record (an m2m or reverse hop)."""
        return any(h.is_many for h in self.hops) or self.field.is_many


def field_of(schema: RegistrySchema, name: str) -> FieldSpec | None:
    """The field called ``name``; also accepts ``pk`` and FK id columns (``created_by_id``)."""
    if name in ("id", "pk"):
        return ID  # stored ids are never NULL, whatever the schema says about unsaved records
    spec = schema.fields.get(name)
    if spec is not None:
        return spec
    for f in schema.fields.values():
        if f.kind == "fk" and f.column == name:
            return FieldSpec(name=name, kind="int", column=name, nullable=f.nullable)
    return None


def field_names(schema: RegistrySchema) -> list[str]:
    return sorted(schema.fields)


def unknown_field(schema: RegistrySchema, part: str, key: str) -> FieldError:
    names = field_names(schema)
    context = f" (in '{key}')" if key != part else ""
    hint = did_you_mean(part, names + [f.column for f in schema.fields.values() if f.kind == "fk" and f.column])
    return FieldError(f"Unknown field '{part}' on {schema.name}{context}{hint}. Available fields: {', '.join(names)}")


def unknown_lookup(schema: RegistrySchema, spec: FieldSpec, lookup: str, key: str, supported: list[str]) -> FieldError:
    hint = did_you_mean(lookup, supported)
    return FieldError(
        f"Unsupported lookup '{lookup}' for {schema.name}.{spec.name} ({spec.kind}) in '{key}'{hint}. "
        f"Supported lookups: {', '.join(supported)}"
    )


def resolve(schemas: SchemaMap, schema: RegistrySchema, key: str, *, allow_lookup: bool = True) -> Path:
    """Resolve ``key`` (``a__b__lookup``) starting at ``schema``.

    A relation followed by a lookup name (``created_by__in``) is a lookup on the relation's
    ids, unless the related registry has a field of that name. ``allow_lookup=False`` is for
    ``order_by``/``include`` paths, which name fields only.
    """
    parts = key.split("__")
    if not key or any(not p for p in parts):
        raise FieldError(
            f"Malformed field path {key!r} on {schema.name}: parts are separated by a double underscore, e.g. 'created_by__handle'"
        )
    hops: list[FieldSpec] = []
    current = schema
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        spec = field_of(current, part)
        if spec is None:
            raise unknown_field(current, part, key)
        if spec.is_relation:
            if last:
                return Path(key, tuple(hops), spec, current, None)
            nxt = parts[i + 1]
            target = _target(schemas, current, spec)
            # ``created_by__in``: a lookup on the relation itself, unless the target has such a field.
            if i + 1 == len(parts) - 1 and field_of(target, nxt) is None and nxt in LOOKUPS:
                if not allow_lookup:
                    raise FieldError(f"'{key}' is not a field path: '{nxt}' is a lookup")
                return Path(key, tuple(hops), spec, current, nxt)
            hops.append(spec)
            current = target
            continue
        # A value field: at most one more part, which must be a lookup.
        if last:
            return Path(key, tuple(hops), spec, current, None)
        rest = parts[i + 1 :]
        if len(rest) == 1 and allow_lookup:
            if rest[0] not in LOOKUPS:
                raise unknown_lookup(current, spec, rest[0], key, supported_for(spec.kind))
            return Path(key, tuple(hops), spec, current, rest[0])
        if not allow_lookup:
            raise FieldError(
                f"'{key}' is not a field path of {schema.name}: {current.name}.{part} is a {spec.kind} field "
                f"and has no field '{rest[0]}'"
            )
        raise FieldError(
            f"Cannot follow '{rest[0]}' in '{key}': {current.name}.{part} is a {spec.kind} field, not a relation"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _target(schemas: SchemaMap, schema: RegistrySchema, spec: FieldSpec) -> RegistrySchema:
    try:
        return schemas[spec.target]  # type: ignore[index]
    except KeyError:
        raise FieldError(f"{schema.name}.{spec.name} points to registry '{spec.target}', which is not known") from None


def target_of(schemas: SchemaMap, schema: RegistrySchema, spec: FieldSpec) -> RegistrySchema:
    """The registry a relation field points to."""
    return _target(schemas, schema, spec)
