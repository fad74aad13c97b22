"""`data import` is all or nothing: killed, stopped, failing to write or racing another import of the same name."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ingest_helpers import images_for, labels_for, tree, write_csv

from mnistlab.data.datasets import dataset_names
from mnistlab.data.load import load_split
from mnistlab.data.manifest import MANIFEST, Manifest
from mnistlab.errors import DataError
from mnistlab.ingest import import_dataset, list_datasets, store
from mnistlab.processes import process_token

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def cli(*args: str | Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mnistlab", *map(str, args)], cwd=ROOT, **popen)


def poll(condition, timeout: float = TIMEOUT, every: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(every)
    raise AssertionError("condition not met in time")


@pytest.fixture
def data(tmp_path) -> Path:
    """A data directory that already holds one imported dataset, 'kept'."""
    labels = labels_for(["a", "b"], 60, 1)
    import_dataset("kept", write_csv(tmp_path / "kept.csv", labels, images_for(labels)), data_dir=tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture(scope="module")
def big_npz(tmp_path_factory) -> Path:
    """40,000 noise images: gzip needs a second or so for them, the time to interrupt an import mid-write."""
    path = tmp_path_factory.mktemp("big") / "big.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (40_000, 28, 28), dtype=np.uint8),
             y_train=np.arange(40_000) % 3)
    return path


def _interrupt(data: Path, big_npz: Path, tmp_path: Path, sig: int) -> subprocess.CompletedProcess:
    """Start an import of big_npz, send `sig` once it is writing its first IDX file; its exit status and output."""
    with open(tmp_path / "import.log", "wb") as log:
        proc = cli("data", "import", "big", "--train", big_npz, "--data-dir", data, stdout=log, stderr=log)
        try:
            def writing():
                assert proc.poll() is None, (tmp_path / "import.log").read_text()
                return any((p / "train-images-idx3-ubyte.gz").exists() for p in data.glob(".import-big-*"))

            poll(writing)
            os.kill(proc.pid, sig)
            proc.wait(TIMEOUT)
        finally:
            proc.kill()
            proc.wait(TIMEOUT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", (tmp_path / "import.log").read_text())


def test_sigkill_mid_import_registers_nothing_and_the_next_list_removes_its_folder(data, big_npz, tmp_path):
    before = tree(data)
    killed = _interrupt(data, big_npz, tmp_path, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert "big" not in dataset_names(data)
    debris = [p.name for p in data.iterdir() if p.name.startswith(".import-big-")]
    assert len(debris) == 1  # killed mid-write: its work folder is left, hidden and unregistered

    listed = subprocess.run([sys.executable, "-m", "mnistlab", "data", "list", "--json", "--data-dir", str(data)],
                            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert listed.returncode == 0, listed.stderr
    assert [d["name"] for d in json.loads(listed.stdout)["datasets"]] == ["mnist", "fashion-mnist", "kept"]
    assert listed.stderr == f"removed {data / debris[0]}, left by a stopped import\n"
    assert tree(data) == before


def test_sigterm_mid_import_removes_its_folder_before_exiting(data, big_npz, tmp_path):
    before = tree(data)
    stopped = _interrupt(data, big_npz, tmp_path, signal.SIGTERM)
    assert stopped.returncode == 130 and stopped.stderr.strip().endswith("aborted."), stopped.stderr
    assert tree(data) == before


def _sources(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, classes in (("one", ["a", "b"]), ("two", ["x", "y", "z"])):
        labels = labels_for(classes, 3000, 2)
        out[name] = write_csv(tmp_path / f"{name}.csv", labels, images_for(labels, seed=len(classes)))
    return out


def _complete(data: Path, name: str) -> Manifest:
    """The dataset's manifest, after checking all four files against it and that no work folder is left."""
    os.environ["MNISTLAB_DATA_DIR"] = str(data)  # load_split finds imported datasets through it
    try:
        for split in ("train", "test"):
            assert load_split(name, split, data).meta["unverified"] == []
    finally:
        del os.environ["MNISTLAB_DATA_DIR"]
    assert not [p for p in data.iterdir() if p.name.startswith(".")]
    return Manifest.read(data / name)


@pytest.mark.parametrize("replace", [False, True], ids=["first-wins", "replace"])
def test_two_imports_of_one_name_at_once_leave_one_complete_dataset(data, tmp_path, replace):
    sources = _sources(tmp_path)
    flags = ["--replace"] if replace else []
    procs = {k: cli("data", "import", "race", "--train", path, "--data-dir", data, *flags, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True) for k, path in sources.items()}
    results = {k: (p.wait(TIMEOUT), *p.communicate()) for k, p in procs.items()}
    manifest = _complete(data, "race")
    winners = [k for k, (status, _, _) in results.items() if status == 0]
    if replace:
        assert len(winners) == 2, results  # both succeed; the one that renamed last is there
        assert manifest.classes in (("a", "b"), ("x", "y", "z"))
    else:
        assert len(winners) == 1, results
        (loser,) = set(results) - set(winners)
        status, out, err = results[loser]
        assert status == 2 and out == "" and err == (
            f"error: dataset 'race' already exists in {data}; pass --replace to overwrite it, remove it first "
            "(`python -m mnistlab data remove race`) or choose another name.\n")
        assert manifest.source["train"] == str(sources[winners[0]])
    assert sorted(dataset_names(data)) == ["fashion-mnist", "kept", "mnist", "race"]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_leftovers_of_dead_processes_go_and_a_replace_killed_halfway_is_undone(data):
    dead = _dead_pid()
    (data / f".import-gone-{dead}-abc").mkdir()
    (data / f".import-gone-{dead}-abc" / "train-images-idx3-ubyte.gz").write_bytes(b"partial")
    (data / f".removed-old-{dead}-abc").mkdir()
    os.rename(data / "kept", data / f".replaced-kept-{dead}-abc")  # killed between a replace's two renames
    mine = data / f".import-busy-{os.getpid()}-abc"  # this process is alive: its folder stays
    mine.mkdir()
    with subprocess.Popen(["sleep", "30"]) as other:
        try:
            reused = data / f".import-reused-{other.pid}-abc"  # a live pid whose token is not the writer's
            reused.mkdir()
            (reused / store.OWNER).write_text("another boot:123")
            owned = data / f".import-owned-{other.pid}-abc"
            owned.mkdir()
            (owned / store.OWNER).write_text(process_token(other.pid) or "")
            names = [d.name for d in list_datasets(data)]
            assert names == ["mnist", "fashion-mnist", "kept"]  # restored
            assert sorted(p.name for p in data.iterdir()) == sorted(["kept", mine.name, owned.name])
        finally:
            other.kill()
    assert (data / "kept" / MANIFEST).is_file()
    mine.rmdir()


def test_a_failed_write_says_why_and_leaves_nothing(data, tmp_path, monkeypatch):
    labels = labels_for(["a", "b"], 30, 3)
    path = write_csv(tmp_path / "x.csv", labels, images_for(labels))
    before = tree(data)

    def full(path, array):
        path.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_write_gz", full)
    with pytest.raises(DataError, match=rf"cannot write the dataset in {data} \(the disk is full \([\d,]+ bytes free "
                                        rf"on {data}\)\); free some space or choose another --data-dir\.$"):
        import_dataset("x", path, data_dir=data)
    assert tree(data) == before
