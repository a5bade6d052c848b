"""Pure query translation: ``Q`` trees and ``Query`` states in, DuckDB SQL and parameters out.

Nothing in this package executes SQL or imports DuckDB; ``registry.records.queryset`` runs what it
produces through an instance's engine. ``analysis`` answers, once, what a filter pins
(unique equalities) for the compiler, the query set's index hints and ``get``.
"""

from .analysis import top_equalities, unique_equalities
from .lookups import LOOKUPS
from .q import Q
from .query import Query
from .translate import (
    IN_LIST_LIMIT,
    Compiled,
    InSelect,
    compile_include,
    compile_query,
    quote_ident,
    translate,
)

__all__ = [
    "LOOKUPS",
    "IN_LIST_LIMIT",
    "Compiled",
    "InSelect",
    "Q",
    "Query",
    "compile_include",
    "compile_query",
    "quote_ident",
    "top_equalities",
    "translate",
    "unique_equalities",
]
