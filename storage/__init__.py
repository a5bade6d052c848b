"""Persistence for registry: instances (directories), Delta tables, the commit path, DuckDB engine.

Knows nothing of records or registries; ``registry`` builds on it, never the other way round.
"""

from .commit import CommitResult, ConstraintViolation, MissingRows, random_uids
from .engine import Engine
from .errors import CommitFailed, CorruptInstance, InstanceNotFound, InvalidInstancePath, LockTimeout, ReadOnlyInstance
from .instance import Instance, StorageWarning, Transaction
from .table import Table, TableSpec

__all__ = [
    "CommitFailed",
    "CommitResult",
    "CorruptInstance",
    "InvalidInstancePath",
    "LockTimeout",
    "StorageWarning",
    "Transaction",
    "ConstraintViolation",
    "MissingRows",
    "Engine",
    "Instance",
    "InstanceNotFound",
    "ReadOnlyInstance",
    "Table",
    "TableSpec",
    "random_uids",
]
