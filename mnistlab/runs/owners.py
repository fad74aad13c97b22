"""Who may change a run or a job: its owner, the server's operator, and anyone for runs no dashboard session owns."""

from __future__ import annotations

WEB_OWNER = "web-"  # owners of dashboard sessions start with this; the CLI records "cli", the library ""


def may_change(recorded: str | None, owner: str, admin: bool = False) -> bool:
    """Whether `owner` (a dashboard session) may stop or delete what `recorded` owns: its own, the CLI's and
    the library's; everything for the server's operator (`admin`)."""
    recorded = recorded or ""
    return admin or recorded == owner or not recorded.startswith(WEB_OWNER)
