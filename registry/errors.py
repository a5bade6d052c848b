"""Every exception the library raises: one root, and the built-in a user would catch as second base.

``except ln.errors.DoesNotExist`` and ``except LookupError`` both work, so callers that know
nothing about this library still catch what they expect (LaminDB users were bitten by two
parallel ``DoesNotExist`` hierarchies; here there is exactly one).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .storage import errors as _storage_errors
from .storage import remote as _remote


class RegistryError(Exception):
    """Root of every error raised by registry."""


class FieldError(RegistryError, AttributeError):
    """Unknown field or lookup on a registry."""


class FieldValidationError(FieldError, ValueError):
    """A constructor got a positional argument or an unknown field (LaminDB's name).

    Also a ``FieldError`` and a ``ValueError``: older LaminDB raised ``ValueError`` for positional
    arguments, so ``except ValueError`` written for it still works.
    """


class ValidationError(RegistryError, ValueError):
    """A value has the wrong type or violates a rule of its field."""


class IntegrityError(RegistryError, ValueError):
    """A write would break a unique constraint; nothing was written."""


class DoesNotExist(RegistryError, LookupError):
    """No record matched.

    Each registry has its own subclass, as in Django: ``ln.ULabel.DoesNotExist``. LaminDB 2.x calls
    this class ``ObjectDoesNotExist`` too; here both names are the same class.
    """


class MultipleResultsFound(RegistryError, LookupError):
    """More than one record matched where exactly one was expected.

    Each registry has its own subclass, ``ln.ULabel.MultipleObjectsReturned``; LaminDB 2.x's name
    ``MultipleObjectsReturned`` is the same class.
    """


# LaminDB 2.x exports Django's names; they are aliases of the one hierarchy, not a second one.
ObjectDoesNotExist = DoesNotExist
MultipleObjectsReturned = MultipleResultsFound


class InvalidArgument(RegistryError, TypeError):
    """An argument of the wrong kind (e.g. a string passed to ``filter`` instead of a ``Q``)."""


class ReadOnlyError(RegistryError, PermissionError):
    """A write was attempted through a read-only handle (``Record.using(...)``)."""


class InstanceError(RegistryError, OSError):
    """An instance directory is missing, unreadable or not an instance."""


class SourceNotAvailable(RegistryError, LookupError):
    """A public reference source (ontology, gene table) is not installed or not known; the
    message names the package to install or the file to point to."""


class CorruptInstance(RegistryError, _storage_errors.CorruptInstance):
    """An instance's files are damaged; the message names table, version and file and the command to run."""


class LockTimeout(RegistryError, _storage_errors.LockTimeout):
    """The writer lock stayed held by another process (named by pid and host) past the timeout."""


class InvalidInstancePath(RegistryError, _storage_errors.InvalidInstancePath):
    """``init()`` was given ``""``/``None``, a non-empty directory that is not an instance, or a
    directory inside another instance."""


class CommitFailed(RegistryError, _storage_errors.CommitFailed):
    """A write failed before its commit point (disk full, I/O error): nothing was saved; retry is safe."""


class CommitConflict(RegistryError, _remote.CommitConflict):
    """On object storage, another writer committed first and nothing was written; run the write
    again (``ln.save`` does so by itself)."""


_remote.CommitConflict.mapped = CommitConflict
_storage_errors.CommitFailed.mapped = CommitFailed
_storage_errors.InvalidInstancePath.mapped = InvalidInstancePath
_storage_errors.CorruptInstance.mapped = CorruptInstance
_storage_errors.LockTimeout.mapped = LockTimeout


class SQLError(RegistryError, ValueError):
    """A SQL statement (``registry.sql``, the console) could not run; the message is one line."""


class SQLRefused(SQLError, PermissionError):
    """A SQL statement was refused: the console reads the registry tables and nothing else."""


MAX_SHOWN = 200  # characters of a value shown in a message or a repr


def shorten(value, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to about ``limit`` characters, so a 10 MB value never floods a message.

    >>> shorten("x" * 1000, 20)
    "'xxxxxxxxxxxx'… (1000 characters)"
    """
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[: max(limit - 8, 1)]!r}… ({len(value)} characters)"
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def text_error(value: str, what: str) -> ValidationError | None:
    """A ``ValidationError`` if ``value`` cannot be stored as UTF-8 text (a lone surrogate), else None.

    Surrogates come from decoding bytes with ``errors="surrogateescape"`` or from JSON escapes;
    Arrow, DuckDB and Parquet take only valid UTF-8.
    """
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        return ValidationError(
            f"{what}: {shorten(value)} is not valid Unicode text (lone surrogate {value[e.start]!r} at position "
            f"{e.start}); fix the text, e.g. decode its source with errors='replace'"
        )
    return None


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choices, or ``""`` if none is close.

    >>> did_you_mean("nme", ["name", "uid"])
    "; did you mean 'name'?"
    """
    matches = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=n, cutoff=0.6)
    if not matches:
        return ""
    if len(matches) == 1:
        return f"; did you mean '{matches[0]}'?"
    return "; did you mean one of " + ", ".join(f"'{m}'" for m in matches) + "?"


__all__ = [
    "RegistryError",
    "FieldError",
    "FieldValidationError",
    "ValidationError",
    "IntegrityError",
    "DoesNotExist",
    "MultipleResultsFound",
    "ObjectDoesNotExist",
    "MultipleObjectsReturned",
    "InvalidArgument",
    "ReadOnlyError",
    "InstanceError",
    "CorruptInstance",
    "LockTimeout",
    "InvalidInstancePath",
    "CommitFailed",
    "SQLError",
    "SQLRefused",
    "did_you_mean",
    "shorten",
    "text_error",
]
