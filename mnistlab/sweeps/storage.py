"""Where sweeps live: an SQLite file in the runs directory, a database server, or an Optuna journal file.

Workers that share a storage URL share its sweeps: on one machine the default SQLite file is enough;
across machines use PostgreSQL or MySQL (`postgresql://user:password@host:5432/db`), or a journal file on
a shared disk (`journal:/shared/sweeps.log`). Database storages keep a heartbeat per running trial: a
trial whose worker died (killed, crashed, the machine lost) is failed once its heartbeat is older than
the grace period, and retried by the next worker that asks for a trial.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from mnistlab.configs import quote
from mnistlab.errors import SweepError
from mnistlab.runs.store import resolve_runs_dir

DEFAULT_FILE = "sweeps.db"  # in the runs directory: not a run id (it has a '.'), so run listings skip it
HEARTBEAT_S = 60  # a running trial writes its heartbeat this often …
GRACE_S = 180  # … and is failed (then retried) when its last one is older than this
HEARTBEAT_ENV = "MNISTLAB_SWEEP_HEARTBEAT"  # seconds: a shorter heartbeat (tests); the grace is three times it
MAX_RETRIES = 3  # a trial whose workers keep dying is retried this often, then left failed
CONNECT_TIMEOUT_S = 10  # an unreachable database server fails in seconds, not minutes
SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")


def default_url(runs_dir: str | Path | None = None) -> str:
    """The SQLite file in the runs directory (created on first use: nothing to set up)."""
    return f"sqlite:///{(resolve_runs_dir(runs_dir) / DEFAULT_FILE).resolve()}"


def shown_url(url: str) -> str:
    """`url` with its password replaced by ***, for messages and listings."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def heartbeat() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds: the defaults, or $MNISTLAB_SWEEP_HEARTBEAT and three times it
    (a busy machine may delay one beat; two missed in a row still leave the trial alive)."""
    text = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not text:
        return HEARTBEAT_S, GRACE_S
    if not text.isdigit() or int(text) < 1:
        raise SweepError(f"{HEARTBEAT_ENV} must be a whole number of seconds (1 or more); got {quote(text)}.")
    return int(text), 3 * int(text)


def open_storage(url: str | None = None, runs_dir: str | Path | None = None) -> BaseStorage:
    """The Optuna storage at `url` (default: `default_url(runs_dir)`), reachable or a SweepError saying why."""
    url = (url or "").strip() or default_url(runs_dir)
    if url.startswith("journal:"):
        return _journal(url)
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise SweepError(f"storage {quote(shown_url(url))} is not a storage URL; use sqlite:///PATH, "
                         "postgresql://USER:PASSWORD@HOST/DB, mysql://USER:PASSWORD@HOST/DB or journal:PATH.")
    if scheme == "sqlite":  # a local file (which may be deleted and made again): opened afresh each time
        _make_folder(url)
        return _rdb(url, scheme, *heartbeat())
    return _server(url, scheme, *heartbeat())


def _rdb(url: str, scheme: str, interval: int, grace: int) -> RDBStorage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
        try:
            return RDBStorage(_with_driver(url), engine_kwargs=_engine_kwargs(scheme), heartbeat_interval=interval,
                              grace_period=grace,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES))
        except ImportError:
            driver = {"mysql": "PyMySQL (pip install pymysql, then mysql+pymysql://…)"}.get(scheme, "psycopg2-binary")
            raise SweepError(f"storage {shown_url(url)} needs a database driver; install {driver}.") from None
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's and the driver's errors: any means unreachable
            first = str(getattr(error, "orig", None) or error).strip().splitlines()
            raise SweepError(f"cannot reach the sweep storage {shown_url(url)} ({first[0] if first else type(error).__name__}); "
                             "check the URL and that the database server is running and lets you in.") from None


# A database server's storage (engine, connection pool) is kept per process: the dashboard reads a sweep
# every few seconds, and each new RDBStorage checks the schema again.
_server = functools.lru_cache(maxsize=16)(_rdb)


def _with_driver(url: str) -> str:
    """postgresql:// (and postgres://) with the psycopg2 driver that mnistlab installs: SQLAlchemy 2.1's
    default for a bare postgresql:// is psycopg 3, which is not installed."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg2://", url)


def _engine_kwargs(scheme: str) -> dict:
    if scheme == "sqlite":
        # Several workers write one file: wait for the lock instead of failing with "database is locked".
        return {"connect_args": {"timeout": 60}}
    if scheme in ("postgresql", "postgres"):
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}, "pool_pre_ping": True}
    return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}


def _make_folder(url: str) -> None:
    """The SQLite file's folder, made if missing (the default one is the runs directory)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        folder = Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SweepError(f"cannot make the folder {folder} for the sweep storage ({error.strerror}); "
                             "point --storage or --runs-dir somewhere you can write.") from None


def _journal(url: str) -> JournalStorage:
    """journal:PATH (or journal:///PATH): Optuna's append-only log file, for a shared disk such as NFS.
    It has no heartbeat, so a trial whose worker was killed stays "running"; prefer a database."""
    path = url[len("journal:"):]
    path = path[2:] if path.startswith("//") else path
    if not path:
        raise SweepError("journal storage needs a file: journal:/shared/sweeps.log.")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return JournalStorage(JournalFileBackend(path))
    except OSError as error:
        raise SweepError(f"cannot open the journal file {path} ({error.strerror}); point --storage at a file "
                         "you can write.") from None
