"""Process settings: the default instance, the current user, verbosity, named instances.

The default instance is ``$REGISTRY_DIR`` or ``~/.registry/default``, opened on first use.
``ln.init(path)`` makes another directory the default; ``Record.using(...)`` never changes it.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from .errors import InvalidArgument
from .logging import VERBOSITY, logger, set_verbosity
from .model_map import registry_class
from .storage import Instance, lock
from .storage.remote import RemoteInstance, is_url


def default_dir() -> Path:
    return Path(os.environ.get("REGISTRY_DIR") or Path.home() / ".registry" / "default").expanduser()


def default_handle() -> str:
    handle = os.environ.get("REGISTRY_USER")
    if not handle:
        try:
            handle = getpass.getuser()
        except (KeyError, OSError):
            handle = "anonymous"
    return handle[:30]


def _names_file() -> Path:
    return default_dir().parent / "instances.json"


def default_name(handle: str) -> str:
    """The user's display name: ``$REGISTRY_USER_NAME``, else the OS account's full name, else the handle."""
    name = os.environ.get("REGISTRY_USER_NAME")
    if not name:
        try:
            import pwd

            name = pwd.getpwnam(handle).pw_gecos.split(",")[0]
        except (ImportError, KeyError):
            name = ""
    return (name or handle)[:150]


class Settings:
    """``ln.settings``: ``instance``, ``user``, ``verbosity`` and named instances for ``using()``."""

    def __init__(self):
        self._instance: Instance | None = None
        self._user_ids: dict[Path, int] = {}
        self._instances: dict[str, Path] | None = None

    @property
    def instances(self) -> dict[str, Path]:
        """Instance names usable in ``Record.using(name)``: every ``ln.init(path, name=...)`` so far,
        kept in ``instances.json`` next to the default instance so other processes know them too."""
        if self._instances is None:
            import json

            try:
                raw = json.loads(_names_file().read_text())
                self._instances = {k: Path(v) for k, v in raw.items()}
            except (FileNotFoundError, ValueError):
                self._instances = {}
        return self._instances

    def _remember(self, name: str, root: Path) -> None:
        import json

        names = self.instances
        if names.get(name) == root:
            return
        names[name] = root
        try:
            path = _names_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({k: str(v) for k, v in names.items()}, indent=1))
            os.replace(tmp, path)
        except OSError:
            pass  # names still work in this process

    @property
    def instance(self) -> Instance:
        """The default instance (created on first use)."""
        if self._instance is None:
            self.init(default_dir())
        return self._instance  # type: ignore[return-value]

    def init(self, path: str | os.PathLike, name: str | None = None, storage_options: dict | None = None) -> Instance:
        inst: Instance
        if is_url(path):  # s3://, gs://, az://: the bucket is the instance, a local mirror serves reads
            inst = RemoteInstance.open_url(os.fspath(path), storage_options=storage_options)
        else:
            inst = Instance.open(path)
        self._instance = inst
        if not is_url(path):
            self._remember(name or inst.name, inst.root)
        self.user_id(inst)
        return inst

    @property
    def user(self):
        """The current user's record on the default instance."""
        user: Any = registry_class("User")  # core.py's registry, found by name: settings sits below records
        return user._get_by_id(self.user_id(self.instance), self.instance)

    def user_id(self, inst: Instance) -> int:
        """Id of the current user on ``inst``; creates the user record the first time."""
        uid = self._user_ids.get(inst.root)
        if uid is not None:
            return uid
        User: Any = registry_class("User")  # core.py's registry, found by name: settings sits below records
        User._ensure_tables(inst)
        handle = default_handle()
        snap = inst.snapshot(User._schema_table())
        hit = snap.filter(pc.equal(snap.column("handle"), handle))
        if hit.num_rows:
            uid = int(hit.column("id")[0].as_py())
        elif inst.read_only:
            return None  # type: ignore[return-value]
        else:
            user = User(handle=handle, name=default_name(handle))
            user.__dict__["_instance"] = inst
            try:
                user.save()
            except Exception:  # another process created the same user meanwhile
                snap = inst.snapshot(User._schema_table())
                hit = snap.filter(pc.equal(snap.column("handle"), handle))
                if not hit.num_rows:
                    raise
                uid = int(hit.column("id")[0].as_py())
            else:
                uid = user.id
                logger.info(f"created user '{handle}' on {inst!r}")
        self._user_ids[inst.root] = uid
        return uid

    @property
    def lock_timeout(self) -> float:
        """Seconds a write waits for another process's writer lock before ``LockTimeout`` (default 60;
        also ``$REGISTRY_LOCK_TIMEOUT``)."""
        return lock.DEFAULT_TIMEOUT

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise InvalidArgument(f"lock_timeout must be a number of seconds >= 0, got {seconds!r}")
        lock.DEFAULT_TIMEOUT = float(seconds)

    @property
    def verbosity(self) -> str:
        level = logger.level
        return next((k for k, v in VERBOSITY.items() if v == level), str(level))

    @verbosity.setter
    def verbosity(self, value) -> None:
        set_verbosity(value)

    def __repr__(self) -> str:
        inst = self._instance.root if self._instance else default_dir()
        return f"Settings(instance='{inst}', user='{default_handle()}', verbosity='{self.verbosity}')"


settings = Settings()
