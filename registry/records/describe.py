"""``describe()``: a record, a registry or a query set as a readable tree (LaminDB's ``describe``).

One tree, two renderings: ``rich`` draws it when standard output is a terminal; otherwise (pipes,
logs, doctests, ``return_str=True``) it is plain text with the same box-drawing branches, so what
a test reads is what a user sees.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

from ..errors import shorten

if TYPE_CHECKING:
    from .queryset import BasicQuerySet as QuerySet
    from .record import SQLRecord as Record

_KINDS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "datetime": "datetime", "json": "json"}
_RELATIONS = ("fk", "m2m", "reverse_fk", "reverse_m2m")
_SHOWN = 5  # related records listed by name under a relation before "…"


class Node:
    """A label and its children."""

    def __init__(self, label: str, children: list[Node] | None = None):
        self.label = label
        self.children = children or []

    def add(self, label: str) -> Node:
        child = Node(label)
        self.children.append(child)
        return child

    def plain(self) -> str:
        lines = [self.label]

        def walk(node: Node, prefix: str) -> None:
            for i, child in enumerate(node.children):
                last = i == len(node.children) - 1
                lines.append(f"{prefix}{'└── ' if last else '├── '}{child.label}")
                walk(child, prefix + ("    " if last else "│   "))

        walk(self, "")
        return "\n".join(lines)

    def rich(self):
        from rich.markup import escape
        from rich.tree import Tree

        def build(node: Node, tree) -> None:
            for child in node.children:
                build(child, tree.add(escape(child.label)))

        tree = Tree(f"[bold]{escape(self.label)}[/bold]")
        build(self, tree)
        return tree


def render(tree: Node, return_str: bool) -> str | None:
    """Return the plain text, or print the tree (with rich on a terminal)."""
    if return_str:
        return tree.plain()
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(tree.rich())
    else:
        print(tree.plain())
    return None


def _value(v) -> str:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return shorten(v) if isinstance(v, str) else repr(v)


def _name_of(record) -> str:
    name = getattr(record, type(record)._name_field, None)
    return f"{type(record).__name__}({type(record)._name_field}={_value(name)})" if name is not None else repr(record)


def describe_registry(cls, return_str: bool = False) -> str | None:
    """The registry's fields (with types), relations (with targets) and row count."""
    schema = cls._schema
    n = cls.filter().count()
    tree = Node(f"{cls.__name__}  (registry, table '{schema.table}', {n} record{'s' if n != 1 else ''})")
    fields = tree.add("Fields")
    for f in schema.fields.values():
        if f.kind not in _KINDS:
            continue
        flags = [w for w, on in (("unique", f.unique and f.name != "id"), ("required", not f.nullable)) if on]
        name_mark = "  (name field)" if f.name == cls._name_field else ""
        fields.add(f"{f.name}: {_KINDS[f.kind]}{' ' + ', '.join(flags) if flags else ''}{name_mark}")
    rels = [f for f in schema.fields.values() if f.kind in _RELATIONS]
    if rels:
        relations = tree.add("Relations")
        for f in rels:
            arrow = {"fk": "→", "m2m": "↔", "reverse_fk": "←", "reverse_m2m": "↔"}[f.kind]
            many = "" if f.kind == "fk" else " (many)"
            relations.add(f"{f.name} {arrow} {f.target}{many}")
    return render(tree, return_str)


def describe_record(record: Record, return_str: bool = False) -> str | None:
    """A record's fields, its relations with counts, and for bio records their source and parents."""
    cls = type(record)
    record._materialize()
    saved = record.id is not None
    head = f"{cls.__name__}  (uid '{record.uid}'" + (f", id {record.id})" if saved else ", not saved)")
    tree = Node(head)
    general = tree.add("Fields")
    d = record.__dict__
    for name, f in cls._schema.fields.items():
        if f.kind not in _KINDS or name in ("id", "uid"):
            continue
        v = d.get(f.column) if f.column else None
        if v is not None:
            general.add(f"{name}: {_value(v)}")
    rels = [f for f in cls._schema.fields.values() if f.kind in _RELATIONS]
    if rels:
        relations = tree.add("Relations")
        for f in rels:
            always = f.name in ("source", "parents")  # what a bionty user looks for first
            if f.kind == "fk":
                fk_id = d.get(f.column) if f.column else None
                if fk_id is None:
                    if always:
                        relations.add(f"{f.name}: none")
                    continue
                try:
                    target = getattr(record, f.name)
                except LookupError:
                    relations.add(f"{f.name}: id {fk_id} (missing)")
                    continue
                relations.add(f"{f.name}: {_name_of(target)}")
                if f.name == "source" and hasattr(target, "version"):
                    relations.children[-1].add(f"{target.name} {target.version or ''}".strip())
                continue
            if not saved:
                continue
            qs = record._related(f)
            n = qs.count()
            if n == 0:
                if always:
                    relations.add(f"{f.name}: none")
                continue
            node = relations.add(f"{f.name}: {n} {f.target}")
            if f.name in ("parents", "children") or n <= _SHOWN:
                target_cls = qs.model
                names = qs[:_SHOWN].values_list(target_cls._name_field, flat=True)
                for nm in names:
                    node.add(_value(nm))
                if n > _SHOWN:
                    node.add("…")
        if not relations.children:
            tree.children.remove(relations)
    return render(tree, return_str)


def describe_queryset(qs: QuerySet, return_str: bool = False) -> str | None:
    """The registry, the filter, the count and the first records of a query set."""
    model = qs.model
    n = qs.count()
    where = "read-only, " if qs.read_only else ""
    tree = Node(
        f"QuerySet of {model.__name__}  ({where}{n} record{'s' if n != 1 else ''}, instance '{qs.instance.root}')"
    )
    q = qs._query
    if q.wheres:
        tree.add(f"filter: {q.describe() if hasattr(q, 'describe') else _where_text(qs)}")
    if q.ordering:
        tree.add(f"order_by: {', '.join(q.ordering)}")
    if n:
        first = tree.add(f"first {min(n, _SHOWN)}")
        for r in qs[:_SHOWN]:
            first.add(_name_of(r))
    return render(tree, return_str)


def _where_text(qs: QuerySet) -> str:
    compiled = qs._compile("rows")
    sql = compiled.sql
    i = sql.upper().find(" WHERE ")
    text = sql[i + 7 :] if i >= 0 else sql
    for stop in (" ORDER BY ", " LIMIT "):
        j = text.upper().find(stop)
        if j >= 0:
            text = text[:j]
    return f"{text.strip()}  {list(compiled.params)!r}" if compiled.params else text.strip()


__all__ = ["describe_registry", "describe_record", "describe_queryset", "Node", "render"]
