"""Named points in the write path where tests kill the process (fault injection).

Set ``REGISTRY_KILL_AT=<point>`` in a writer's environment and the process SIGKILLs itself
when it reaches that point; tests may also replace :func:`point` with a monkeypatched hook.
Points: ``after-data`` (data files written, nothing published), ``after-journal`` (a
multi-table transaction's journal is durable, no table entry published yet), ``mid-publish``
(the first table entry of a transaction is published, the others are not), ``before-log-link``,
``after-log-link`` (entry published, directory not yet fsynced), ``before-state`` (all entries
published, state.json not yet written).
"""

from __future__ import annotations

import os
import signal

KILL_AT = os.environ.get("REGISTRY_KILL_AT")


def point(name: str) -> None:
    if KILL_AT == name:
        os.kill(os.getpid(), signal.SIGKILL)
