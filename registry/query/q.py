"""``Q``: an immutable tree of filter conditions combined with ``&``, ``|`` and ``~``.

Follows Django's ``Q`` (``django/db/models/query_utils.py``): keyword conditions are stored
sorted, so equal filters always compile to the same SQL (and the same cache key), and an
empty ``Q()`` is the identity of both ``&`` and ``|``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import InvalidArgument, shorten

AND = "AND"
OR = "OR"

# A leaf is a ("field__path__lookup", value) pair; a branch is a Q.
Leaf = tuple[str, Any]


def positional_error(arg: Any, where: str = "filter") -> InvalidArgument:
    """The error for a positional argument that is not a ``Q``: usually a uid prefix meant for ``get``."""
    if isinstance(arg, str):
        return InvalidArgument(
            f"{where}() takes Q objects and keyword expressions, got the string {arg!r}. "
            f"To fetch a record by uid or uid prefix use .get({arg!r}); "
            f"to match a field use a keyword, e.g. {where}(name={arg!r})."
        )
    return InvalidArgument(
        f"{where}() takes Q objects and keyword expressions, got {type(arg).__name__} {arg!r}. "
        f"Wrap conditions as ln.Q(field=value), or use .get({arg!r}) to fetch by id or uid."
    )


class Q:
    """A filter condition: ``Q(name="a") | ~Q(name__startswith="b")``.

    >>> Q(name="a") | ~Q(name__startswith="b")
    Q(name='a') | ~Q(name__startswith='b')
    """

    __slots__ = ("children", "connector", "negated")
    children: tuple[Q | Leaf, ...]  # set once in __init__/_make (immutable)
    connector: str  # AND or OR
    negated: bool

    def __init__(self, *args: Q, _connector: str = AND, _negated: bool = False, **kwargs: Any):
        for arg in args:
            if not isinstance(arg, Q):
                raise positional_error(arg, "Q")
        children: list[Q | Leaf] = [a for a in args if a]
        children.extend(sorted(kwargs.items()))
        object.__setattr__(self, "children", tuple(children))
        object.__setattr__(self, "connector", _connector)
        object.__setattr__(self, "negated", bool(_negated))

    @classmethod
    def _make(cls, children: tuple, connector: str = AND, negated: bool = False) -> Q:
        q = object.__new__(cls)
        object.__setattr__(q, "children", tuple(children))
        object.__setattr__(q, "connector", connector)
        object.__setattr__(q, "negated", negated)
        return q

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Q objects are immutable; combine them with &, | and ~")

    def __bool__(self) -> bool:
        return bool(self.children)

    def _combine(self, other: Any, connector: str) -> Q:
        if not isinstance(other, Q):
            raise InvalidArgument(f"cannot combine Q with {type(other).__name__} {other!r}; wrap it as ln.Q(...)")
        if not other:
            return self
        if not self:
            return other
        children: list = []
        for part in (self, other):
            # Flatten same-connector, non-negated branches: (a & b) & c -> a & b & c.
            if part.connector == connector and not part.negated and len(part.children) > 1:
                children.extend(part.children)
            else:
                children.append(part)
        return Q._make(tuple(children), connector)

    def __and__(self, other: Q) -> Q:
        return self._combine(other, AND)

    def __or__(self, other: Q) -> Q:
        return self._combine(other, OR)

    def __invert__(self) -> Q:
        if not self:
            return self
        if self.negated:  # ~~q is q
            return Q._make(self.children, self.connector, False)
        return Q._make(self.children, self.connector, True)

    def leaves(self) -> Iterator[Leaf]:
        """All (path, value) conditions in the tree, depth first."""
        for child in self.children:
            if isinstance(child, Q):
                yield from child.leaves()
            else:
                yield child

    # -- equality / display ----------------------------------------------------------------
    def _key(self) -> tuple:
        return (
            self.connector,
            self.negated,
            tuple(c._key() if isinstance(c, Q) else (c[0], _hashable(c[1])) for c in self.children),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Q) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if not self.children:
            return "Q()"
        leaves = [c for c in self.children if not isinstance(c, Q)]
        if len(leaves) == len(self.children) and self.connector == AND:
            body = "Q(" + ", ".join(f"{k}={shorten(v)}" for k, v in leaves) + ")"
            return "~" + body if self.negated else body
        sep = " & " if self.connector == AND else " | "
        parts = []
        for c in self.children:
            if isinstance(c, Q):
                text = repr(c)
                if (
                    len(c.children) > 1
                    and not c.negated
                    and not (c.connector == AND and all(not isinstance(x, Q) for x in c.children))
                ):
                    text = f"({text})"
                parts.append(text)
            else:
                parts.append(f"Q({c[0]}={c[1]!r})")
        body = sep.join(parts)
        return f"~({body})" if self.negated else body


def _hashable(value: Any) -> Any:
    """A hashable stand-in for ``value`` (lists become tuples, records their id)."""
    try:
        hash(value)
        return value
    except TypeError:
        pass
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    try:
        return tuple(_hashable(v) for v in value)
    except TypeError:
        return id(value)
