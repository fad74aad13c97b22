"""The run store: one folder per run, every file written atomically, listing by folder scan.

Why no shared index file: each run owns its folder (created with an atomic mkdir) and every file
in it is replaced atomically, so any number of processes (dashboards, CLIs) can write runs at
once without a lock and a reader never sees a half-written file. A run whose process died is
recognised by its owner's pid and start time and listed as "interrupted".
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mnistlab.errors import RunStoreError
from mnistlab.runs.files import read_json, write_json

RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,99}$")
STATUSES = ("running", "finished", "stopped", "diverged", "failed", "interrupted")
FINAL = ("finished", "stopped", "diverged", "failed")


def resolve_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """The runs directory: the argument, else $MNISTLAB_RUNS_DIR, else ./runs."""
    if runs_dir:
        return Path(runs_dir)
    return Path(os.environ.get("MNISTLAB_RUNS_DIR") or "runs")


def check_run_id(run_id: str) -> str:
    """Reject anything that is not a plain run id (no paths, no '..')."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise RunStoreError(f"{run_id!r} is not a valid run id (lower-case letters, digits and '-').")
    return run_id


def _process_token(pid: int) -> str | None:
    """Boot id + start time of a process: survives pid reuse (Linux); None where unknown."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        return f"{boot}:{start}"
    except (OSError, IndexError):
        return None


def _alive(info: dict) -> bool:
    if info.get("host") != socket.gethostname():
        # Another machine's run: trust a recent heartbeat only.
        return time.time() - info.get("heartbeat", 0) < 120
    pid = info.get("pid")
    if not isinstance(pid, int):
        return False
    token = _process_token(pid)
    if token is None:
        try:
            os.kill(pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False
    return token == info.get("process")


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


class RunStore:
    """Create, list, load and delete runs under one folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = resolve_runs_dir(root)

    def path(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    def new_id(self, dataset: str, preset: str | None) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = re.sub(r"[^a-z0-9-]+", "-", (preset or "custom").lower()).strip("-") or "custom"
        return f"{stamp}-{dataset}-{name}-{secrets.token_hex(3)}"

    def create(self, config_dict: dict, preset: str | None = None, owner: str = "") -> str:
        """Make the run's folder (atomic mkdir) with its config and a 'running' status."""
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
                    preset=preset, dataset=config_dict.get("dataset"), engine=config_dict.get("engine", "torch"),
                    owner=owner, pid=os.getpid(), process=_process_token(os.getpid()), host=socket.gethostname())
        return run_id

    def status_info(self, run_id: str) -> dict:
        """run.json, with 'running' turned into 'interrupted' when its process is gone."""
        info = read_json(self.path(run_id) / "run.json")
        if info.get("status") == "running" and not _alive(info):
            info["status"] = "interrupted"
            info.setdefault("message", "the process running it stopped before it finished")
        return info

    def update(self, run_id: str, **fields) -> dict:
        """Merge `fields` into run.json (only the owning process writes its run)."""
        path = self.path(run_id) / "run.json"
        info = read_json(path) if path.exists() else {"run_id": run_id}
        info.update(fields, heartbeat=time.time())
        write_json(path, info)
        return info

    def exists(self, run_id: str) -> bool:
        try:
            return (self.path(run_id) / "run.json").is_file()
        except RunStoreError:
            return False

    def list(self) -> list[RunInfo]:
        """All readable runs, newest first; folders without a complete run.json are skipped."""
        if not self.root.is_dir():
            return []
        runs = []
        for folder in self.root.iterdir():
            if not folder.is_dir() or not RUN_ID.match(folder.name) or not (folder / "run.json").is_file():
                continue
            try:
                runs.append(self.info(folder.name))
            except RunStoreError:
                continue
        return sorted(runs, key=lambda r: (r.created, r.run_id), reverse=True)

    def info(self, run_id: str) -> RunInfo:
        data = self.status_info(run_id)
        config = self.config(run_id)
        from mnistlab.models.spec import MLPSpec

        model = config.get("config", {}).get("model", {})
        try:
            description = MLPSpec.from_dict(model).describe()
        except Exception:  # noqa: BLE001 - an old or odd config must not hide the run
            description = "?"
        return RunInfo(run_id, data.get("status", "interrupted"), data.get("created", ""),
                       data.get("dataset") or "?", data.get("preset"), data.get("engine", "torch"), description,
                       data.get("test_accuracy"), data.get("test_loss"), data.get("train_seconds"),
                       data.get("epochs_done", 0), data.get("message", ""), data.get("owner", ""),
                       {k: data.get(k) for k in ("device", "device_name", "parameter_count", "epoch_seconds")})

    def config(self, run_id: str) -> dict:
        """{'preset': name or None, 'config': TrainConfig dict}."""
        return read_json(self.path(run_id) / "config.json")

    def history(self, run_id: str) -> list[dict]:
        path = self.path(run_id) / "history.json"
        return read_json(path) if path.exists() else []

    def delete(self, run_id: str) -> None:
        """Remove a finished run; a running one is refused."""
        if self.status_info(run_id).get("status") == "running":
            raise RunStoreError(f"run {run_id} is still running; stop it first.")
        trash = self.root / f".deleted-{run_id}-{secrets.token_hex(3)}"
        os.replace(self.path(run_id), trash)  # atomic: the run vanishes from listings at once
        shutil.rmtree(trash, ignore_errors=True)
