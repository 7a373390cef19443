"""Whether a store may be shared by ``--shard`` processes: SQLite only where its file locks bind every writer.

SQLite (and the cell claims of a SQLite store, :mod:`srbench.track.claims`) rely on POSIX/flock locks. On a local
file system every process of one kernel shares them, containers included. On a network or cluster file system they
may not reach the other machines at all (NFS mounted ``nolock``, Lustre ``localflock``, BeeGFS by default), and
SQLite's own documentation calls concurrent writers over NFS unsafe in any case: two shards could then both create
the store, swap the file under each other, and write runs into an unlinked copy. So ``--shard`` on SQLite is
refused, with one line pointing to a tracking server, when

- the store's folder is on a network file system (the type of its mount in :data:`MOUNTS`), or
- the experiment holds a RUNNING run written from another kernel (:func:`srbench.track.hosts.kernel_id`): some
  other machine writes this file, whatever the file system claims.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from srbench.core.errors import SrbenchError
from srbench.track import claims, hosts, tags as T
from srbench.track.run_writer import call

MOUNTS = Path("/proc/mounts")
#: File system types whose locks may not bind other machines (``fuse.*`` network mounts included by prefix).
NETWORK_FS = frozenset({"nfs", "nfs4", "lustre", "beegfs", "gpfs", "cifs", "smb3", "smbfs", "ceph", "glusterfs",
                        "fuse.glusterfs", "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.juicefs", "9p", "afs",
                        "panfs", "ocfs2", "gfs2", "pvfs2", "orangefs", "wekafs", "virtiofs"})
_HINT = ("serve the store with a tracking server (`mlflow server --backend-store-uri sqlite:///<local disk>/mlflow.db "
         "--serve-artifacts`, see docs/scaling.md) and pass --tracking-uri http://<host>:5000")


def _unescape(field: str) -> str:
    """A /proc/mounts field with its octal escapes (``\\040`` for a space) decoded."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def filesystem_of(path: Path) -> tuple[str, str]:
    """(type, mount point) of the file system holding ``path`` (its deepest existing folder): the longest mount
    point in :data:`MOUNTS` that contains it; ("", "") when the table cannot be read."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    real = os.path.realpath(path)
    best = ("", "")
    try:
        lines = MOUNTS.read_text().splitlines()
    except OSError:
        return best
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = _unescape(fields[1]), fields[2]
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[1]):
            best = (fstype, point)
    return best


def check_shard_uri(uri: str) -> None:
    """Refuse ``--shard`` on a SQLite store whose folder is on a network file system, before the store is opened."""
    if not uri.startswith("sqlite:///"):
        return
    db = Path(uri[len("sqlite:///"):])
    fstype, point = filesystem_of(db.parent)
    if fstype in NETWORK_FS or fstype.startswith("fuse.") and fstype.split(".", 1)[1] in NETWORK_FS:
        raise SrbenchError(f"--shard with the SQLite store {db}: it is on {fstype} ({point}), whose file locks do "
                           f"not bind other machines, so shards could lose runs; {_HINT}")


def check_shard_writers(client, experiment_id: str) -> None:
    """Refuse ``--shard`` on a store whose claims are file locks (SQLite) while a benchmark on another kernel is
    writing it (a RUNNING run of it). A run of this host name is this machine before a reboot, not another one."""
    if claims.local_lock_dir(client) is None:
        return
    mine = hosts.kernel_id()
    runs = call(client, "search_runs", [experiment_id], filter_string="attributes.status = 'RUNNING'")
    for run in runs:
        tags = run.data.tags
        other = tags.get(hosts.HOST_ID_TAG)
        if other and hosts.kernel_id(other) != mine and tags.get(hosts.HOST_TAG) != socket.gethostname():
            host = tags.get(hosts.HOST_TAG, "?")
            raise SrbenchError(f"--shard with the SQLite store {client.tracking_uri[len('sqlite:///'):]}: host "
                               f"{host} (another machine) is writing it too (run {run.info.run_id[:8]} is "
                               f"running), and SQLite's locks do not bind across machines; {_HINT}")


def other_machines(client, experiment_id: str, device_name: str) -> str | None:
    """A one-line note when the experiment already holds finished cells measured on another device (CPU model and
    thread count, or GPU model): their keys differ from this machine's, so its cells are computed again and the
    efficiency table would set latencies of different machines side by side. None when there are none."""
    quoted = device_name.replace("'", "\\'")
    runs = call(client, "search_runs", [experiment_id],
                filter_string=f"tags.`{T.KIND}` = 'cell' and attributes.status = 'FINISHED' and "
                              f"tags.`{T.DEVICE_NAME}` != '{quoted}'", max_results=1)
    if not runs:
        return None
    return (f"note: this experiment holds cells measured on {runs[0].data.tags.get(T.DEVICE_NAME)}, this "
            f"machine is {device_name}: their cells are not reused here, and latencies of both would be reported; "
            "pin one machine type and thread count for all shards (docs/scaling.md)")
