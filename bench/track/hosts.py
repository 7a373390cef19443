"""Who wrote a run: the identity that says whether a run's process id can be checked here.

A run's ``srbench.host`` tag (the host name) is for people. Deciding that a RUNNING run is an orphan because its
process is gone needs more: containers on one machine can share a host name without sharing a PID namespace (a pid
that does not exist here may be alive there), and two machines can share a name. :func:`host_id` is therefore the
kernel's boot id (``/proc/sys/kernel/random/boot_id``, the same in every container of one kernel, new on every boot)
plus the PID namespace (``/proc/self/ns/pid``); a pid is checked only on runs with the same ``srbench.host_id``.
``$SRBENCH_HOST_ID`` overrides it (tests simulate hosts with it; a site whose nodes share a boot id, e.g. cloned
VMs, may set a unique one). :func:`kernel_id` is the boot part alone: processes with the same kernel share file
locks on a local file system.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

from srbench.track import tags as T

HOST_TAG = T.HOST
HOST_ID_TAG = T.HOST_ID
PID_TAG = T.PID


@functools.lru_cache(maxsize=1)
def _boot_and_namespace() -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: the host name stands in for the kernel
        boot = socket.gethostname()
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        namespace = "0"
    return f"{boot}/{namespace}"


def host_id() -> str:
    """This process's host identity: ``$SRBENCH_HOST_ID``, else ``<boot id>/<pid namespace>``."""
    return os.environ.get("SRBENCH_HOST_ID") or _boot_and_namespace()


def kernel_id(identity: str | None = None) -> str:
    """The kernel part of a host identity (of this process by default)."""
    return (identity if identity is not None else host_id()).split("/", 1)[0]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists in this PID namespace."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def identity_tags() -> dict[str, str]:
    """The tags every run this process writes carries: host name, host identity, pid."""
    return {HOST_TAG: socket.gethostname(), HOST_ID_TAG: host_id(), PID_TAG: str(os.getpid())}


def process_gone(tags: dict) -> bool:
    """Whether the run's process is known to be gone: it ran under this host identity and its pid does not exist.
    A run of another identity (another machine or container, or written before identities were tagged) is never
    judged by its pid here; a run written before identities were tagged is judged by its host name, as it was."""
    recorded = tags.get(HOST_ID_TAG)
    if recorded != host_id() and (recorded is not None or tags.get(HOST_TAG) != socket.gethostname()):
        return False
    try:
        pid = int(tags.get(PID_TAG, "0") or 0)
    except ValueError:
        return False
    return not pid_alive(pid)
