"""Side by side: the same configuration on the other dataset (MNIST ↔ Fashion-MNIST), and finding that run."""

from __future__ import annotations

from mnistlab.errors import MnistlabError
from mnistlab.runs.store import RunStore
from mnistlab.train.config import TrainConfig

OTHER_DATASET = {"mnist": "fashion-mnist", "fashion-mnist": "mnist"}
IGNORED = ("dataset", "device")  # the device changes the speed, not the experiment


def _config(config: TrainConfig | dict) -> TrainConfig:
    return config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)


def twin_config(config: TrainConfig | dict) -> TrainConfig:
    """The same configuration on the other dataset (augmentation included, even a flip that suits clothes only)."""
    config = _config(config)
    return config.with_(dataset=OTHER_DATASET[config.dataset])


def _comparable(config: TrainConfig | dict) -> dict | None:
    """A config as a dict without the ignored fields, defaults filled in; None if it no longer validates."""
    try:
        data = _config(config).to_dict()
    except MnistlabError:
        return None
    return {k: v for k, v in data.items() if k not in IGNORED}


def find_twin(runs: list[dict], config: TrainConfig | dict, statuses: tuple[str, ...] = ("finished",)) -> str | None:
    """The first run (list newest first) on the other dataset whose config matches in everything else.

    Each run is a dict with 'run_id', 'config' (a TrainConfig dict) and optionally 'status'
    (see `run_configs`); runs whose status is not in `statuses` are skipped.
    """
    config = _config(config)
    wanted, other = _comparable(config), OTHER_DATASET[config.dataset]
    for run in runs:
        candidate = run.get("config") or {}
        if run.get("status", "finished") not in statuses or candidate.get("dataset") != other:
            continue
        if _comparable(candidate) == wanted:
            return run["run_id"]
    return None


def run_configs(store: RunStore) -> list[dict]:
    """Every listed run as {'run_id', 'status', 'config'}, newest first, for `find_twin`."""
    out = []
    for info in store.list():
        try:
            out.append({"run_id": info.run_id, "status": info.status,
                        "config": store.open(info.run_id).config_dict.get("config", {})})
        except MnistlabError:
            continue
    return out
