"""Storage's own exceptions (storage never imports registry; ``registry`` maps these to its tree)."""

from __future__ import annotations


class _Mappable:
    """A storage error that ``registry`` may replace by its own subclass (set ``mapped``), so that
    every raise site yields the registry's class without storage importing registry."""

    mapped: type | None = None

    def __new__(cls, *args, **kwargs):
        target = cls.__dict__.get("mapped") or cls
        return super().__new__(target)

    def _message(self, msg: str) -> None:
        self.args = (msg,)

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class CorruptInstance(_Mappable, OSError):
    """A table's files disagree with what was committed: a torn, empty or missing log entry,
    a log behind the recorded state, or an unreadable data file. Never answered with fewer rows.

    ``table``, ``version`` and ``file`` say where; the message ends with the command to run.
    """

    def __init__(self, root, table: str | None, version: int | None, file: str | None, problem: str):
        self.root, self.table, self.version, self.file, self.problem = root, table, version, file, problem
        where = f"table '{table}'" if table else "instance"
        if version is not None:
            where += f" version {version}"
        if file:
            where += f" (file {file})"
        self._message(
            f"{where} of the instance at '{root}' is damaged: {problem}. "
            f"Run `registry doctor --path {root}` to see every problem and `registry doctor --path {root} --repair` "
            "to repair what can be repaired without losing a committed row"
        )


class LockTimeout(_Mappable, TimeoutError):
    """The writer lock stayed held by another live process for longer than the timeout."""

    def __init__(self, root, timeout: float, holder: dict | None):
        self.root, self.timeout, self.holder = root, timeout, holder or {}
        pid, host = self.holder.get("pid", "?"), self.holder.get("host", "?")
        since = self.holder.get("since", "?")
        self._message(
            f"the writer lock of the instance at '{root}' is held by pid {pid} on host {host} (since {since}); "
            f"gave up after {timeout:g} s. Wait for that process to finish, stop it, or raise the timeout "
            "(ln.settings.lock_timeout = seconds)"
        )


class ReadOnlyInstance(PermissionError):
    """A write through an instance opened read-only."""


class InstanceNotFound(FileNotFoundError):
    """The directory is not an instance (and we were asked not to create one)."""


class InvalidInstancePath(_Mappable, ValueError):
    """A path that cannot become an instance: empty, a non-empty directory that is not an
    instance, or a directory inside another instance."""


class CommitFailed(_Mappable, OSError):
    """Writing a commit failed before its commit point (disk full, file too large, I/O error):
    nothing was committed and the staged files were removed, so retrying is safe."""

    def __init__(self, root, table: str | None, cause: BaseException):
        self.root, self.table, self.cause = root, table, cause
        self.errno = getattr(cause, "errno", None)
        what = f"table '{table}'" if table else "the instance"
        self._message(
            f"could not write a commit to {what} at '{root}' ({_describe(cause)}); nothing was committed, "
            "so the write can be retried once there is space"
        )


def _describe(e: BaseException) -> str:
    import os

    errno_ = getattr(e, "errno", None)
    if errno_:
        return f"{os.strerror(errno_)} [errno {errno_}]"
    text = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
