"""Study data files waiting for confirmation: MEDIA_ROOT/imports/<sha256>.json.

An upload is kept there between its preview and the data manager's confirmation. A
preview nobody confirms is clinical data at rest with no purpose, so a periodic task
(``crf.tasks.remove_stale_import_previews``) removes those older than ``PREVIEW_MAX_AGE``.
The age is far longer than a session (30 minutes without activity ends it), so a
preview that can still be confirmed is never removed.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

PREVIEW_MAX_AGE = timedelta(days=1)


def previews_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def preview_path(sha256: str) -> Path:
    """Where the upload with this SHA-256 (64 hex digits, checked by the caller) waits."""
    return previews_folder() / f"{sha256}.json"


def remove_stale_previews(*, max_age: timedelta = PREVIEW_MAX_AGE) -> list[Path]:
    """Delete the previews last written more than ``max_age`` ago; return their paths.

    Side effects: removes files under MEDIA_ROOT/imports/ only (nothing else is
    looked at), and logs each removal. A file that vanishes meanwhile (confirmed,
    or removed by another run) is skipped, so running twice changes nothing more.
    """
    folder = previews_folder()
    if not folder.is_dir():
        return []
    cutoff = time.time() - max_age.total_seconds()
    removed: list[Path] = []
    for path in sorted(folder.glob("*.json")):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        logger.info("Removed the unconfirmed import preview %s", path.name)
        removed.append(path)
    return removed
