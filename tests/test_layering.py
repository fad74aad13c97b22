"""The design's seams, checked: a run is read through its handle only (the layers are import-linter's job)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READERS = [*sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").glob("*.py")),
           *sorted((ROOT / "mnistlab" / "cli").glob("*.py")), *sorted((ROOT / "mnistlab" / "insight").rglob("*.py")),
           ROOT / "mnistlab" / "predict.py"]
# Opening a run's files by hand, or reading it past its handle (`RunStore.open`).
BYPASS = re.compile(r"store\(\)\.path\(|store\.path\(|\bread_json\(|\bload_model\(|\bload_arrays\(|\.status_info\(|"
                    r"store\(\)\.(config|history|info)\(|store\.(config|history|info)\(|runs\.record import load|"
                    r"RunStore\([^)]*\)\.(config|history|info|path)\(")


def test_pages_cli_and_insight_read_runs_through_the_handle_only():
    offenders = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in READERS
                 for n, line in enumerate(path.read_text().splitlines(), 1) if BYPASS.search(line)]
    assert not offenders, "read the run through store.open(run_id):\n" + "\n".join(offenders)
    assert len(READERS) > 30  # the globs found the files
