"""Stamp a run's JSON with where it was made: commit, machine, CPU, cores, Python, torch, time.

Usage: python scripts/provenance.py FILE COMMIT   (scripts/reproduce.sh and scripts/screen.sh call it; COMMIT is
the short hash the run started at, with "+uncommitted" when mnistlab/ had uncommitted changes then)
"""

import datetime
import json
import os
import platform
import sys
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (Linux), or what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def provenance(commit: str) -> dict:
    import torch

    return {"commit": commit, "machine": platform.machine(), "system": platform.system(), "cpu": cpu_model(),
            "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "finished_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


if __name__ == "__main__":
    path, commit = Path(sys.argv[1]), sys.argv[2]
    text = path.read_text()
    run = json.loads(text)
    run["provenance"] = provenance(commit)
    path.write_text(json.dumps(run, indent=1 if "\n" in text.strip() else None))  # the file's own layout
