"""Opening the tracking store safely: URI checks, a fast server check, atomic and self-repairing SQLite stores.

Everything here runs before any work, so that a bad store stops a command at once with one line naming it:

- URIs (:func:`check_uri`): a relative ``sqlite:///x.db`` is resolved against the working directory (a note says
  so); ``file:`` stores (MLflow's file store refuses to open unless ``MLFLOW_ALLOW_FILE_STORE`` is set), in-memory
  SQLite and unknown schemes are refused.
- Servers (:func:`check_server`): a tracking server must answer ``GET <uri>/health`` (a database server: a TCP
  connection) within :data:`SERVER_TIMEOUT_S`; MLflow itself would retry for minutes and then print a traceback.
- SQLite (:func:`open_sqlite`): a new store's schema is created in a temporary file that is renamed into place only
  when complete, so an interruption (Ctrl-C, SIGTERM, ``kill -9``) during MLflow's table creation never leaves a
  half-made store; a store that such an interruption left incomplete (by an earlier version) is rebuilt when it holds
  no runs; an unreadable file, a store with runs under an incomplete or other-version schema, and a read-only store
  opened for writing are refused, naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import sys
from pathlib import Path

from srbench.core.atomic import atomic_path
from srbench.core.errors import SrbenchError
from srbench.core.locks import file_lock

_NOTED: set[str] = set()


def check_uri(uri: str) -> str:
    """``uri`` in the form the store is opened with, or a one-line :class:`SrbenchError` saying why it cannot be."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme == "sqlite":
        raw = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
        if raw in ("", ":memory:"):
            raise SrbenchError(f"tracking URI {_redacted(uri)!r}: an in-memory or malformed SQLite URI keeps "
                               "nothing; use sqlite:///<folder>/mlflow.db (sqlite:////abs/path/mlflow.db for an "
                               "absolute path)")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
            if uri not in _NOTED:
                _NOTED.add(uri)
                print(f"note: tracking URI {uri} is relative to the working directory: using sqlite:///{path}",
                      file=sys.stderr)
        return uri if str(path) == raw else f"sqlite:///{path}"
    if scheme in ("", "file") and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in ("1", "true"):
        raise SrbenchError(f"tracking URI {_redacted(uri)!r}: MLflow's file store is not supported (it is in "
                           "maintenance mode and refuses to open); use sqlite:///<folder>/mlflow.db or an "
                           "http(s):// server")
    if scheme in ("http", "https") or scheme in _DB_PORTS or scheme in ("", "file"):
        return uri
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    known = sorted(s for s in _tracking_store_registry._registry if s)
    if scheme not in known:
        raise SrbenchError(f"tracking URI {_redacted(uri)!r}: unknown scheme {scheme}:; use "
                           f"sqlite:///<folder>/mlflow.db, http(s)://host:port or another of: {', '.join(known)}")
    return uri


SERVER_TIMEOUT_S = 5.0
_DB_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}


def _redacted(uri: str) -> str:
    """The URI without a password (``user:secret@host`` -> ``user:***@host``), for error messages."""
    return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", uri)


@functools.cache
def check_server(uri: str) -> None:
    """Fail fast, with one line naming the URI, when the tracking server (or database server) does not answer.

    An ``http(s)`` server gets ``GET <uri>/health``; any HTTP answer, even an error status or a TLS handshake with a
    certificate this Python does not trust, counts as reachable (the server is there; MLflow reports what it says).
    A database URI gets a TCP connection to its host and port. Only successes are cached, so a server started
    meanwhile is found by the next call.
    """
    import socket
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    shown = _redacted(uri)
    hint = "start it, or pass another --tracking-uri (or $MLFLOW_TRACKING_URI)"
    if scheme in ("http", "https"):
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=SERVER_TIMEOUT_S).close()
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLError):
                return  # it answered TLS; whether its certificate is accepted is MLflow's setting
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                reason = f"no answer within {SERVER_TIMEOUT_S:g} s"
            raise SrbenchError(f"tracking server {shown} is unreachable ({reason}); {hint}") from None
    elif scheme in _DB_PORTS:
        parsed = urllib.parse.urlsplit(uri)
        if not parsed.hostname:
            return  # a local socket: nothing to check without the driver
        try:
            socket.create_connection((parsed.hostname, parsed.port or _DB_PORTS[scheme]),
                                     timeout=SERVER_TIMEOUT_S).close()
        except (OSError, ValueError) as exc:
            reason = f"no answer within {SERVER_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else exc
            raise SrbenchError(f"tracking database {shown} is unreachable ({reason}); {hint}") from None


# ----------------------------------------------------------------------------------------------------------------
# local SQLite stores: atomic creation, self-repair, one-line refusals

@functools.lru_cache(maxsize=1)
def _schema_head() -> tuple[str, frozenset[str]]:
    """MLflow's current schema: its alembic head revision and the tables its models declare."""
    import mlflow.store.db.utils as db_utils
    from mlflow.store.db.base_sql_model import Base

    return db_utils._get_latest_schema_revision(), frozenset(Base.metadata.tables)


@dataclasses.dataclass
class SqliteState:
    """What an existing SQLite file holds: ``kind`` is missing | complete | incomplete | unreadable | foreign (tables
    of another application and no MLflow schema revision)."""

    kind: str
    runs: int | None = None
    version: str | None = None
    detail: str = ""


def sqlite_state(db: Path, *, readonly: bool = False) -> SqliteState:
    """Inspect ``db`` with the standard library (no MLflow migration is triggered): complete means MLflow's head
    schema revision and every table it declares; an empty file counts as missing."""
    import sqlite3

    if not db.exists() or db.stat().st_size == 0:
        return SqliteState("missing", runs=0)
    head, tables_needed = _schema_head()
    try:
        target = f"file:{db}?mode=ro" if readonly else str(db)
        with contextlib.closing(sqlite3.connect(target, uri=readonly, timeout=60)) as con:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
            version = (con.execute("select version_num from alembic_version").fetchone() or [None])[0] \
                if "alembic_version" in tables else None
            runs = con.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise SrbenchError(f"{db}: the SQLite tracking store stayed locked by another process for 60 s; "
                               "retry when it is done") from None
        return SqliteState("unreadable", detail=str(exc))
    except sqlite3.DatabaseError as exc:
        return SqliteState("unreadable", detail=str(exc))
    foreign = tables - tables_needed - {"alembic_version", "sqlite_sequence"}
    if foreign and version is None:  # another application's database: never add MLflow's tables to it
        return SqliteState("foreign", runs=runs, detail=", ".join(sorted(foreign)[:3]))
    complete = version == head and tables_needed <= tables
    return SqliteState("complete" if complete else "incomplete", runs=runs, version=version)


def _create_sqlite(db: Path) -> None:
    """Create MLflow's schema in a temporary file beside ``db`` and rename it into place only when complete, so
    an interruption (Ctrl-C, ``kill -9``) at any point leaves either no store or a complete one. The caller holds
    the store's lock, so any temporary file found is a leftover of a killed creation and is removed."""
    import sqlalchemy

    import mlflow.store.db.utils as db_utils

    for leftover in db.parent.glob(f".{db.name}.*creating*"):  # the file and its journal (older names too)
        leftover.unlink(missing_ok=True)
    with atomic_path(db, suffix=".creating") as tmp:
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp}")  # SQLite takes the empty file as a new database
        try:
            db_utils._initialize_tables(engine)
        finally:
            engine.dispose()
            tmp.with_name(tmp.name + "-journal").unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):  # a stale journal would be applied to the new file
            db.with_name(db.name + suffix).unlink(missing_ok=True)


def open_sqlite(db: Path, *, write: bool = True):
    """An ``MlflowClient`` on the SQLite store ``db``, created atomically or repaired first (see :func:`client`).

    Creation, repair and MLflow's first connection (which inserts the default experiment) happen under an
    exclusive file lock ``<db>.lock``: two processes opening a new store at once would otherwise race.
    """
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{db}"
    hint = "or pass --tracking-uri (or $MLFLOW_TRACKING_URI) to another store"
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrbenchError(f"{db.parent}: cannot create the tracking store's folder ({exc.strerror}); {hint}") \
            from None
    writable = os.access(db.parent, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))
    if not writable and (write or not db.exists()):
        raise SrbenchError(f"{db}: the SQLite tracking store (or its folder, which SQLite writes its journal to) is "
                           f"read-only; make both writable {hint}")

    def refuse(state: SqliteState) -> SrbenchError:
        if state.kind == "unreadable":
            return SrbenchError(f"{db}: not a readable SQLite database ({state.detail}); move it away (a new store "
                                f"is then created) {hint}")
        if state.kind == "foreign":
            return SrbenchError(f"{db}: a SQLite database of another application (tables {state.detail}, no MLflow "
                                f"schema), left untouched; name a new file for the tracking store {hint}")
        return SrbenchError(f"{db}: the MLflow schema is incomplete or from another MLflow version (revision "
                            f"{state.version}, this MLflow needs {_schema_head()[0]}) and the store holds "
                            f"{state.runs} run(s); back the file up, then run `mlflow db upgrade {uri}`")

    def connect():
        mlflow_client = MlflowClient(tracking_uri=uri)
        try:
            mlflow_client.search_experiments(max_results=1)  # opens the store (inserts the default experiment)
        except Exception as exc:  # noqa: BLE001 - sqlalchemy/MLflow errors: a store MLflow cannot use
            raise SrbenchError(f"{db}: MLflow cannot open this store ({str(exc).splitlines()[0][:200]}); move it "
                               f"away {hint}") from None
        return mlflow_client

    if not writable:  # read-only use of a read-only store: no lock can be taken, nothing may be repaired
        state = sqlite_state(db, readonly=True)
        if state.kind != "complete":
            raise refuse(state)
        return connect()
    with file_lock(db.with_name(db.name + ".lock"), hint):
        state = sqlite_state(db)
        if state.kind != "complete":
            if state.kind in ("unreadable", "foreign") or state.runs:
                raise refuse(state)
            if state.kind == "incomplete":
                print(f"note: {db} was left incomplete by an interrupted creation and holds no runs: creating it "
                      "again", file=sys.stderr)
            _create_sqlite(db)
        return connect()
