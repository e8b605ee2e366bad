"""Panels higher apps add to the home pages (e.g. overdue SAE reports), registered in ready()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# panel(request) -> rendered HTML, or "" when there is nothing to show
HomePanel = Callable[[Any], str]
_PANELS: list[tuple[int, HomePanel]] = []


def register(panel: HomePanel, *, order: int = 100) -> HomePanel:
    if all(existing is not panel for _order, existing in _PANELS):
        _PANELS.append((order, panel))
        _PANELS.sort(key=lambda item: item[0])
    return panel


def panels_for(request: Any) -> list[str]:
    return [html for _order, panel in _PANELS if (html := panel(request))]
