"""The library's logger, with LaminDB's levels and symbols (✓ success, • info, ! warning, → important).

Default verbosity is "warning" as in LaminDB: warnings, "important" hints and errors show,
success/info lines are hidden until ``ln.settings.verbosity = "info"``.
"""

from __future__ import annotations

import logging
import sys

from .errors import ValidationError

SUCCESS = 25
IMPORTANT = 31
PRINT = 41

logging.addLevelName(SUCCESS, "SUCCESS")
logging.addLevelName(IMPORTANT, "IMPORTANT")
logging.addLevelName(PRINT, "PRINT")

_SYMBOLS = {
    logging.DEBUG: "·",
    logging.INFO: "•",
    SUCCESS: "✓",
    logging.WARNING: "!",
    IMPORTANT: "→",
    PRINT: " ",
    logging.ERROR: "✗",
    logging.CRITICAL: "✗",
}

VERBOSITY = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "success": SUCCESS,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


class _SymbolFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{_SYMBOLS.get(record.levelno, '•')} {record.getMessage()}"


class _FallbackHandler(logging.StreamHandler):
    """Prints the library's lines with symbols, only while the application has not configured logging.

    The logger propagates (so ``logging.basicConfig()``, pytest's ``caplog`` and any handler the
    application installs see every record); when an ancestor logger has a handler, that handler
    prints the record and this one stays quiet, so a line never shows twice. Like the stdlib's
    ``logging.lastResort``, but with LaminDB's symbols.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        owner = logging.getLogger("registry")  # the logger this handler is attached to
        if owner.propagate and _has_handlers(owner.parent):
            return False
        return super().handle(record)


def _has_handlers(log: logging.Logger | None) -> bool:
    # the walk logging.Logger.callHandlers does: up the tree until a logger that does not propagate
    while log is not None:
        if log.handlers:
            return True
        if not log.propagate:
            return False
        log = log.parent
    return False


class RegistryLogger(logging.Logger):
    """A stdlib logger with ``success``, ``important`` and ``print`` levels."""

    def success(self, msg: str, *args, **kwargs) -> None:
        if self.isEnabledFor(SUCCESS):
            self._log(SUCCESS, msg, args, **kwargs)

    def important(self, msg: str, *args, **kwargs) -> None:
        if self.isEnabledFor(IMPORTANT):
            self._log(IMPORTANT, msg, args, **kwargs)

    def print(self, msg: str, *args, **kwargs) -> None:
        if self.isEnabledFor(PRINT):
            self._log(PRINT, msg, args, **kwargs)


def _make_logger() -> RegistryLogger:
    old = logging.getLoggerClass()
    logging.setLoggerClass(RegistryLogger)
    try:
        log = logging.getLogger("registry")
    finally:
        logging.setLoggerClass(old)
    if not isinstance(log, RegistryLogger):  # created earlier by someone else; upgrade in place
        log.__class__ = RegistryLogger
    if not log.handlers:
        handler = _FallbackHandler(sys.stderr)
        handler.setFormatter(_SymbolFormatter())
        log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = True
    return log  # type: ignore[return-value]


logger: RegistryLogger = _make_logger()


def set_verbosity(level: str | int) -> None:
    """Set how much the library prints: "error", "warning" (default), "success", "info", "debug"."""
    if isinstance(level, str):
        if level not in VERBOSITY:
            raise ValidationError(f"unknown verbosity {level!r}; use one of {', '.join(VERBOSITY)}")
        level = VERBOSITY[level]
    logger.setLevel(level)
