"""The run store: one folder per run, every file written atomically, listing by folder scan.

Why no lock, database or shared index: each run has exactly one writer, the process that created
it (a CLI, or a dashboard worker thread), and other processes only read. A run id is reserved by an
atomic `mkdir`, so two creators never collide; every file is written to a temp file and moved into
place with `os.replace`, so a reader sees the old or the new file, never half of one; and run.json is
written last at creation, so a folder without it is not (yet) a run. Nothing is ever written on a
reader's behalf: a run whose process died is *computed* to be "interrupted" when read (its owner's
pid and start time no longer match), so no second writer ever races the owner's read-modify-write.
Folders that cannot be read (corrupt JSON, creation cut short) are reported by `scan`, not hidden.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mnistlab.configs import quote
from mnistlab.errors import RunStoreError
from mnistlab.presets import PRESETS, preset_changes
from mnistlab.processes import pid_alive, process_token, zombie
from mnistlab.runs.files import read_json, write_json
from mnistlab.runs.owners import may_change
from mnistlab.userfiles import check_inside, describe_os_error

RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,99}$")
STATUSES = ("running", "finished", "stalled", "stopped", "pruned", "diverged", "failed", "interrupted")
# "stalled": trained, never beat guessing; "pruned": a sweep stopped it early, its validation accuracy hopeless
FINAL = ("finished", "stalled", "stopped", "pruned", "diverged", "failed")
CREATING_GRACE_S = 60.0  # a folder without run.json younger than this is a run being created, not a broken one

log = logging.getLogger("mnistlab.runs")
_warned: set[tuple[str, str]] = set()  # (folder, reason) already logged: listing every second must not flood the log


def resolve_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """The runs directory: the argument, else $MNISTLAB_RUNS_DIR, else ./runs."""
    if runs_dir:
        return Path(runs_dir)
    return Path(os.environ.get("MNISTLAB_RUNS_DIR") or "runs")


def check_run_id(run_id: str) -> str:
    """Reject anything that is not a plain run id (no paths, no '..', no trailing newline), quoting it."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        hint = (" (it has spaces or a line break around it: copy the id alone)"
                if isinstance(run_id, str) and RUN_ID.fullmatch(run_id.strip()) else "")
        raise RunStoreError(f"{quote(run_id)} is not a valid run id (lower-case letters, digits and '-'){hint}.")
    return run_id


def _read_object(path: Path) -> dict:
    """A JSON file that must hold an object (RunStoreError otherwise)."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise RunStoreError(f"{path} does not hold a JSON object.")
    return data


def _alive(info: dict) -> bool:
    if info.get("host") != socket.gethostname():
        # Another machine's run: trust a recent heartbeat only.
        return time.time() - info.get("heartbeat", 0) < 120
    pid = info.get("pid")
    if not isinstance(pid, int):
        return False
    if zombie(pid):
        return False
    token = process_token(pid)
    return pid_alive(pid) if token is None else token == info.get("process")


@dataclass(frozen=True)
class Unreadable:
    """A folder that looks like a run but cannot be read, and what to do about it."""

    run_id: str
    reason: str  # one sentence naming the file and the fix


@dataclass
class RunInfo:
    """A run's summary as listed: id, status, settings, headline metrics."""

    run_id: str
    status: str
    created: str
    dataset: str
    preset: str | None
    engine: str
    description: str
    test_accuracy: float | None = None
    test_loss: float | None = None
    train_seconds: float | None = None
    epochs_done: int = 0
    message: str = ""
    owner: str = ""
    extra: dict = field(default_factory=dict)
    preset_changes: tuple[str, ...] = ()  # what the run changed from its preset's recipe, e.g. "epochs 3 → 1"

    @property
    def is_preset(self) -> bool:
        """True when the run is its preset's recipe unchanged (so its published figure applies)."""
        return self.preset is not None and not self.preset_changes


class RunStore:
    """Create, list, load and delete runs under one folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = resolve_runs_dir(root)

    def path(self, run_id: str) -> Path:
        """The run's folder; RunStoreError for a bad id or a folder that links out of the runs directory."""
        folder = self.root / check_run_id(run_id)
        if folder.is_symlink():
            check_inside(folder, self.root, "runs directory", RunStoreError)
        return folder

    def open(self, run_id: str):
        """The run's handle (`mnistlab.runs.handle.Run`): the one way to read a stored run."""
        from mnistlab.runs.handle import Run  # the handle reads through this store

        return Run(self, run_id)

    def file(self, run_id: str, name: str) -> Path:
        """One file of a run (e.g. model.safetensors), refused when it links out of the runs directory."""
        path = self.path(run_id) / name
        if path.is_symlink():
            check_inside(path, self.root, "runs directory", RunStoreError)
        return path

    def check_usable(self) -> None:
        """Before training: the runs directory exists (or can be made), is a folder and takes new files."""
        where = self.root.resolve()
        try:
            if self.root.exists() and not self.root.is_dir():
                raise RunStoreError(f"the runs directory {where} is a file, not a folder; point --runs-dir or "
                                    "MNISTLAB_RUNS_DIR at a folder.")
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise RunStoreError(f"cannot write runs in {where}: {describe_os_error(e, where)}; point --runs-dir "
                                "or MNISTLAB_RUNS_DIR at a folder you can write.") from None

    def new_id(self, dataset: str, preset: str | None) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = re.sub(r"[^a-z0-9-]+", "-", (preset or "custom").lower()).strip("-") or "custom"
        return f"{stamp}-{dataset}-{name}-{secrets.token_hex(3)}"

    def create(self, config_dict: dict, preset: str | None = None, owner: str = "",
               classes: tuple[str, ...] | None = None, dataset_digest: str = "", tags: dict | None = None) -> str:
        """Make the run's folder (atomic mkdir) with its config and a 'running' status; `classes` and
        `dataset_digest` record which dataset it learns (an imported one's manifest SHA-256), `tags` who
        made it and why (a sweep's {"sweep": name, "trial": number, "seed": seed})."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            run_id = self.new_id(config_dict.get("dataset", "data"), preset)
            try:
                (self.root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise RunStoreError(f"could not create a new run folder in {self.root}.")
        folder = self.root / run_id
        write_json(folder / "config.json", {"preset": preset, "config": config_dict})
        write_json(folder / "history.json", [])
        self.update(run_id, status="running", created=datetime.now(UTC).isoformat(timespec="microseconds"),
                    preset=preset, preset_changes=_changes(config_dict, preset), dataset=config_dict.get("dataset"),
                    engine=config_dict.get("engine", "torch"), owner=owner, pid=os.getpid(),
                    process=process_token(os.getpid()), host=socket.gethostname(),
                    classes=list(classes) if classes is not None else None, dataset_digest=dataset_digest,
                    **({"tags": dict(tags)} if tags else {}))
        return run_id

    def status_info(self, run_id: str) -> dict:
        """run.json, with 'running' turned into 'interrupted' when its process is gone."""
        info = _read_object(self.path(run_id) / "run.json")
        if info.get("status") == "running" and not _alive(info):
            # Computed, never written: the owner is the only writer of run.json (see the module docstring).
            done = info.get("epochs_done") or 0
            info["status"] = "interrupted"
            info["message"] = (f"its process stopped (killed or crashed) after {done} finished epoch(s); what it "
                               "saved until then is kept." if done else
                               "its process stopped (killed or crashed) before the first epoch ended.")
        return info

    def update(self, run_id: str, **fields) -> dict:
        """Merge `fields` into run.json; only the process that created the run may call this."""
        path = self.path(run_id) / "run.json"
        info = read_json(path) if path.exists() else {"run_id": run_id}
        owner = info.get("pid", os.getpid())
        assert owner == os.getpid(), f"run {run_id} belongs to process {owner}; only its owner writes run.json"
        info.update(fields, heartbeat=time.time())
        write_json(path, info)
        return info

    def exists(self, run_id: str) -> bool:
        try:
            return (self.path(run_id) / "run.json").is_file()
        except RunStoreError:
            return False

    def scan(self) -> tuple[list[RunInfo], list[Unreadable]]:
        """(readable runs newest first, folders that look like runs but cannot be read).

        Skipped silently: names that are not run ids (temp files, '.deleted-' trash), a folder still
        being created (no run.json for less than CREATING_GRACE_S), and a run deleted during the scan.
        """
        if not self.root.is_dir():
            return [], []
        runs, broken = [], []
        for folder in self.root.iterdir():
            if not RUN_ID.match(folder.name) or not folder.is_dir():
                continue
            if not (folder / "run.json").is_file():
                try:
                    age = time.time() - folder.stat().st_mtime
                except FileNotFoundError:
                    continue  # deleted meanwhile
                if age > CREATING_GRACE_S:
                    broken.append(Unreadable(folder.name, f"run {folder.name} has no run.json (its process stopped "
                                                          f"while creating it); delete its folder {folder}."))
                continue
            try:
                runs.append(self.info(folder.name))
            except RunStoreError as error:
                if folder.is_dir():  # else it was deleted while we read it: not a problem
                    broken.append(Unreadable(folder.name, f"run {folder.name} cannot be read: {str(error).rstrip('.')}; "
                                                          "restore the file or delete the run's folder."))
        runs.sort(key=lambda r: (r.created, r.run_id), reverse=True)
        return runs, sorted(broken, key=lambda b: b.run_id, reverse=True)

    def list(self) -> list[RunInfo]:
        """All readable runs, newest first; each unreadable folder is logged once as a warning (see `scan`)."""
        runs, broken = self.scan()
        for problem in broken:
            if (problem.run_id, problem.reason) not in _warned:
                _warned.add((problem.run_id, problem.reason))
                log.warning("%s", problem.reason)
        return runs

    def info(self, run_id: str) -> RunInfo:
        data = self.status_info(run_id)
        config = self.config(run_id)
        from mnistlab.models.spec import MLPSpec

        if not isinstance(config.get("config"), dict):
            raise RunStoreError(f"{self.path(run_id) / 'config.json'} has no 'config' object")
        _check_fields(run_id, data)
        model = config["config"].get("model", {})
        try:
            description = MLPSpec.from_dict(model).describe()
        except Exception:  # noqa: BLE001 - an old or odd config must not hide the run
            description = "?"
        preset = data.get("preset")
        changes = data.get("preset_changes")
        if changes is None:  # a run created before preset_changes was recorded: compare its config now
            changes = _changes(config.get("config", {}), preset) or []
        return RunInfo(run_id, data.get("status", "interrupted"), data.get("created", ""),
                       data.get("dataset") or "?", preset, data.get("engine", "torch"), description,
                       data.get("test_accuracy"), data.get("test_loss"), data.get("train_seconds"),
                       data.get("epochs_done", 0), data.get("message", ""), data.get("owner", ""),
                       {k: data.get(k) for k in ("device", "device_name", "parameter_count", "epoch_seconds")},
                       tuple(changes))

    def config(self, run_id: str) -> dict:
        """{'preset': name or None, 'config': TrainConfig dict}."""
        return _read_object(self.path(run_id) / "config.json")

    def history(self, run_id: str) -> list[dict]:
        path = self.path(run_id) / "history.json"
        return read_json(path) if path.exists() else []

    def delete(self, run_id: str, owner: str | None = None, admin: bool = False) -> None:
        """Remove a run that is not running (an unreadable one too: deleting it is the fix).

        Args:
            run_id: the run.
            owner: the dashboard session asking; a run another session ("web-…") started is refused.
                None (the CLI, the library) deletes any run.
            admin: the server's operator: may delete any session's run.
        """
        try:
            info = self.status_info(run_id)
        except RunStoreError:
            info = {}  # corrupt or missing run.json: nobody is writing it
        recorded = info.get("owner") or ""
        if owner is not None and not may_change(recorded, owner, admin):
            raise RunStoreError(f"run {run_id} belongs to another dashboard session; only its owner "
                                "(or the server's operator) can delete it.")
        if info.get("status") == "running":
            raise RunStoreError(f"run {run_id} is still running; stop it first.")
        if not self.path(run_id).is_dir():
            raise RunStoreError(f"run {run_id} does not exist in {self.root}.")
        trash = self.root / f".deleted-{run_id}-{secrets.token_hex(3)}"
        os.replace(self.path(run_id), trash)  # atomic: the run vanishes from listings at once
        shutil.rmtree(trash, ignore_errors=True)


NUMBER, TEXT, MAYBE_TEXT = (int, float, type(None)), (str,), (str, type(None))
FIELD_TYPES = {  # run.json fields a listing reads: (types allowed, what to call them)
    "status": (TEXT, "text"), "created": (TEXT, "text"), "dataset": (MAYBE_TEXT, "text"),
    "preset": (MAYBE_TEXT, "text"), "engine": (TEXT, "text"), "message": (TEXT, "text"), "owner": (TEXT, "text"),
    "test_accuracy": (NUMBER, "number"), "test_loss": (NUMBER, "number"), "train_seconds": (NUMBER, "number"),
    "epochs_done": ((int,), "whole number"), "preset_changes": ((list, type(None)), "list"),
}


def _check_fields(run_id: str, data: dict) -> None:
    """RunStoreError naming the first run.json field of the wrong type (a damaged or hand-edited file)."""
    for name, (kinds, what) in FIELD_TYPES.items():
        if name in data and (not isinstance(data[name], kinds) or isinstance(data[name], bool)):
            raise RunStoreError(f"run.json of {run_id} has {name} = {quote(data[name])}, not a {what}")
    if data.get("status") not in (None, *STATUSES):
        raise RunStoreError(f"run.json of {run_id} has an unknown status {quote(data.get('status'))}")


def _changes(config_dict: dict, preset: str | None) -> list[str] | None:
    """The run's changes from its preset's recipe; None without a preset (or one mnistlab no longer has)."""
    if preset is None or preset not in PRESETS or not isinstance(config_dict, dict):
        return None
    return preset_changes(config_dict, preset)
