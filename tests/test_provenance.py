"""scripts/provenance.py stamps a run's JSON with its commit and machine, keeping the file's own layout."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def stamp(path: Path, commit: str) -> dict:
    subprocess.run([sys.executable, "scripts/provenance.py", str(path), commit], cwd=ROOT, check=True)
    return json.loads(path.read_text())


def test_a_one_line_run_gets_its_commit_machine_and_versions_and_stays_one_line(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"test_accuracy": 0.9943, "config": {"seed": 1}}))
    run = stamp(path, "371f689+uncommitted")
    assert run["test_accuracy"] == 0.9943 and run["config"] == {"seed": 1}
    made = run["provenance"]
    assert made["commit"] == "371f689+uncommitted" and made["torch"] == torch.__version__
    assert made["machine"] == platform.machine() and made["cores"] >= 1 and made["cpu"]
    assert made["finished_at"].endswith("Z") and "\n" not in path.read_text()


def test_an_indented_run_stays_indented(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"history": []}, indent=1))
    assert stamp(path, "abc1234")["provenance"]["commit"] == "abc1234" and "\n" in path.read_text()
