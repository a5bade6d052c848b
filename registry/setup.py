"""``ln.setup`` and ``ln.connect``: where LaminDB users create and connect instances.

An instance here is a directory (no LaminHub, no database server). ``ln.setup.init`` creates
one and makes it the default, ``ln.connect`` makes an existing one the default and never
creates anything, so a typo in a path is an error instead of a new empty instance.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InstanceError, InvalidArgument
from .logging import logger
from .settings import settings
from .storage import Instance
from .storage.instance import InstanceNotFound

__all__ = ["init", "connect", "settings"]


def init(storage: str | os.PathLike | None = None, *, name: str | None = None, modules=None, **kwargs):
    """Create (or open) the instance in directory ``storage`` and make it the default (``lamin init``).

    Parameters
    ----------
    storage
        The instance directory. LaminDB's cloud URLs and database strings are not supported.
    name
        A name for ``using(name)`` / ``connect(name)``; default: the directory name.
    modules
        Accepted for LaminDB scripts and ignored: the bio registries are always available.
    **kwargs
        LaminDB's other options (``db=``, ``user=`` …) are refused with a message naming them.

    Returns
    -------
    storage.Instance

    Examples
    --------
    >>> inst = ln.setup.init(storage="setup-example")
    >>> inst.root.name
    'setup-example'
    """
    if kwargs:
        raise InvalidArgument(
            f"ln.setup.init() here takes storage= (a directory), name= and modules=; not {', '.join(sorted(kwargs))}"
        )
    if storage is None:
        raise InvalidArgument("ln.setup.init() needs storage=, the instance directory, e.g. storage='./mydata'")
    if modules:
        logger.info(f"modules={modules!r} ignored: every registry, bio included, is always available")
    return settings.init(storage, name=name)


def connect(instance: str | os.PathLike | None = None):
    """Make an existing instance the default (LaminDB 2.x's ``ln.connect``); never creates one.

    Parameters
    ----------
    instance
        The instance directory or a name given to ``ln.init(path, name=...)``. ``None``: the
        current default instance.

    Returns
    -------
    storage.Instance

    Raises
    ------
    InstanceError
        When ``instance`` is neither an instance directory nor a known name.

    Examples
    --------
    >>> here = ln.settings.instance.root
    >>> ln.connect(here).root == here
    True
    >>> ln.connect("no-such-instance")
    Traceback (most recent call last):
    ...
    registry.errors.InstanceError: no instance 'no-such-instance': ...
    """
    if instance is None:
        return settings.instance
    text = os.fspath(instance)
    named = settings.instances.get(text)
    root = Path(named) if named is not None else Path(text).expanduser()
    try:
        Instance.open(root, create=False, read_only=True)
    except InstanceNotFound:
        known = ", ".join(sorted(settings.instances)) or "none yet"
        raise InstanceError(
            f"no instance '{text}': not an instance directory and not a registered name (registered: {known}). "
            f"Create one with ln.setup.init(storage='{text}')"
        ) from None
    return settings.init(root)
