"""Cancel events that say how a run ends when they stop it: "stopped" by the user or "pruned" by a sweep."""

from __future__ import annotations

import threading


class Stop(threading.Event):
    """A cancel event for `train`: `set()` ends the run "stopped", `prune(message)` ends it "pruned".

    It also reads as set while its `parent` is set, so one user's Stop (Ctrl-C, the dashboard's button)
    reaches every run a sweep worker starts without a thread to forward it.
    """

    def __init__(self, parent: threading.Event | None = None):
        super().__init__()
        self.parent = parent
        self.status = "stopped"
        self.message = ""

    def __repr__(self) -> str:
        return f"Stop(status={self.status!r}, set={self.is_set()})"

    def is_set(self) -> bool:
        return super().is_set() or (self.parent is not None and self.parent.is_set())

    def prune(self, message: str) -> None:
        """Stop the run as "pruned" with `message` (why a sweep gave up on it)."""
        if not self.is_set():
            self.status, self.message = "pruned", message
        self.set()


def stop_status(cancel: threading.Event | None) -> tuple[str, str]:
    """(status, message) of a run that `cancel` stopped: a plain Event or a user's stop says ("stopped", "")."""
    if isinstance(cancel, Stop) and cancel.status == "pruned" and not (cancel.parent and cancel.parent.is_set()):
        return cancel.status, cancel.message
    return "stopped", ""
