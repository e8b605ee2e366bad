"""Reports: bulk."""

from __future__ import annotations


def connect() -> None:
    """Register this concern's hooks and navigation (called from ReportsConfig)."""
