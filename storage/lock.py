"""The instance's writer lock: an ``flock`` with a bounded wait that records its holder.

``flock`` is released by the kernel when its holder dies, so a lock whose recorded holder is a
dead process is simply free: the next writer takes it over. The file records ``pid``, ``host``
and ``since`` so that a writer who times out can say who holds it. Reentrant per process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from pathlib import Path

from .errors import LockTimeout

DEFAULT_TIMEOUT = float(os.environ.get("REGISTRY_LOCK_TIMEOUT") or 60.0)


class WriterLock:
    """``with lock:`` or ``lock.acquire(timeout)``; reentrant within the process (thread-safe)."""

    def __init__(self, path: Path, timeout: float | None = None):
        self.path = Path(path)
        self.timeout = timeout
        self._fd: int | None = None
        self._depth = 0
        self._owner: int | None = None
        self._mutex = threading.RLock()

    @property
    def held(self) -> bool:
        return self._depth > 0 and self._owner == threading.get_ident()

    def acquire(self, timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        deadline = time.monotonic() + timeout
        if not self._mutex.acquire(timeout=max(timeout, 0.0)):
            raise LockTimeout(self.path.parent, timeout, {"pid": os.getpid(), "host": socket.gethostname()})
        try:
            if self._depth:
                self._depth += 1
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            delay = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = read_holder(self.path)
                        os.close(fd)
                        raise LockTimeout(self.path.parent, timeout, holder) from None
                    time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
                    delay = min(delay * 2, 0.05)
            _write_holder(fd)
            self._fd, self._depth, self._owner = fd, 1, threading.get_ident()
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                fd, self._fd, self._owner = self._fd, None, None
                assert fd is not None  # depth 1 -> 0: acquire set it
                try:
                    os.ftruncate(fd, 0)  # no stale holder left behind
                except OSError:
                    pass
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            self._mutex.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _write_holder(fd: int) -> None:
    data = json.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    ).encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError:
        pass  # the record is a courtesy for error messages; the flock is the lock


def read_holder(path: Path) -> dict | None:
    """The recorded holder of the lock file at ``path`` (None if unknown)."""
    try:
        raw = Path(path).read_bytes()
        return json.loads(raw) if raw else None
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
