"""Strict JSON (RFC 8259) for every `--json` output: non-finite numbers become null, and say so."""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(value: Any, path: str, found: list[str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        found.append(path or "(value)")
        return None
    if isinstance(value, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, f"{path}.{i}" if path else str(i), found) for i, v in enumerate(value)]
    return value


def dumps(obj: Any) -> str:
    """`obj` as strict JSON; NaN/±inf become null and an object gains "non_finite": the paths they were at."""
    found: list[str] = []
    clean = _clean(obj, "", found)
    if found and isinstance(clean, dict):
        clean["non_finite"] = {"paths": found[:100], "count": len(found),
                               "why": "these numbers were NaN or infinite (e.g. a diverged model); JSON has no "
                                      "such numbers, so they are null"}
    return json.dumps(clean, allow_nan=False)
