"""Serious adverse events: the 24-hour report clock and the safety mail (to be written)."""

from __future__ import annotations

from typing import Any


def after_adverse_event_saved(instance: Any, actor: Any) -> None:
    """Start or follow the SAE clock of a serious AE; queue its mail on commit."""


def register_panels() -> None:
    """Overdue SAE reports on the home pages."""
