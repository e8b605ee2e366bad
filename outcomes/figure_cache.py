"""The study outcomes figures, drawn once per content and served from the cache.

Drawing a figure costs 0.1-1 s at the demo's size and up to 6 s at 2,000 subjects
(outcomes.figures); computing what it is drawn from costs a few milliseconds at the
demo's size (one ``study_outcomes`` read, 25 queries). So the key of a drawn figure is a
**fingerprint of its inputs**: SHA-256 of ``repr(FigureSpec)`` (every point, label and
translated text the drawing sees), of the drawing code and of the fonts it draws with.

Why a fingerprint and not a study-data version bumped by every clinical save:

- It is right on every write path by construction: a form saved on the web, through
  ``crf.services.save_form``, by the study data import, in the admin or by a migration;
  a deletion; and a day passing (a subject still on treatment gets one more day of
  follow-up, and the swimmer plot changes with no save at all). A version counter is right
  only where someone remembered to bump it, and a missed path means a wrong clinical figure
  shown as right.
- It needs no hook in ``crf`` (the clinical apps' saves stay unaware of figures) and no
  invalidation: a change makes a new key; the old entry is never asked for again and expires.
- It carries the language (the texts are in the spec) and the reader's site scope (a
  monitor's figure is drawn from their sites' subjects only) without special cases.

The page computes every figure's fingerprint (it reads the outcomes anyway) and puts it in
the ``<img>`` URL (``?v=``): a figure request with a ``v`` that the cache holds for the
reader's scope and language is served without reading the database at all. Otherwise (no
``v``, or evicted, or another worker's LocMemCache) the figure request reads the current
data, fingerprints it, and draws only on a miss. A cached entry is only ever found under
the key of the exact inputs it was drawn from, so it is never a stale figure of other data.

Why separate image requests rather than drawing on the page request: the page (tables,
at-risk numbers, the subject list) answers in ~0.15 s and is usable while a figure not yet
cached is drawn (0.5-1 s each at the demo's size, serialised by matplotlib's global state);
drawing on the page request would hold the whole page for the sum (~3.5 s cold), and
inlining five SVGs would repeat their ids (matplotlib's clip paths) in one document.

HTTP: the ETag is the fingerprint and a matching If-None-Match gets 304 without a byte
of the figure; signed-in responses carry ``Cache-Control: no-store`` (patient data), so
browsers keep no copy to revalidate and the server-side cache is what makes it fast.

The cache is the ``figures`` cache when settings define one, else ``default``: LocMemCache
per gunicorn worker on ``make run`` (each worker draws a figure once), Redis with
``REDIS_URL`` (shared by every worker and process).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.utils import translation

from outcomes import charts, figures

Format = Literal["svg", "png"]

# A figure is content-addressed: it may live as long as memory allows. A day bounds what
# Redis keeps for figures of data that has since changed.
TIMEOUT_SECONDS = 24 * 60 * 60
_PREFIX = "outcomes-figure"


def _code_version() -> str:
    """The drawing code and what it draws with: a deploy or a font install redraws."""
    digest = hashlib.sha256()
    for module in (figures, charts):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(matplotlib.__version__.encode())
    digest.update(repr(figures.font_families()).encode())
    return digest.hexdigest()[:16]


_CODE_VERSION = _code_version()
_DRAWING = threading.Lock()


def cache() -> BaseCache:
    return caches["figures" if "figures" in settings.CACHES else "default"]


def fingerprint(spec: charts.FigureSpec) -> str:
    """SHA-256 (hex) of everything the figure is drawn from, and of the drawing code."""
    return hashlib.sha256(f"{_CODE_VERSION}\n{spec!r}".encode()).hexdigest()


def scope_of(user: Any) -> str:
    """Which subjects the reader's figures are drawn from (study.scoping decides)."""
    from study.scoping import site_ids_for_user

    site_ids = site_ids_for_user(user)
    return "all" if site_ids is None else "sites:" + ",".join(map(str, sorted(site_ids)))


def _key(scope: str, fmt: Format, version: str) -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    scoped = hashlib.sha256(f"{scope}\n{language}\n{fmt}\n{version}".encode()).hexdigest()
    return f"{_PREFIX}:{scoped}"


@dataclass(frozen=True)
class DrawnFigure:
    """A figure's bytes (SVG text or PNG) and the fingerprint of what it was drawn from."""

    version: str
    content: str | bytes

    def etag(self, fmt: Format) -> str:
        language = translation.get_language() or settings.LANGUAGE_CODE
        return f'"{self.version[:32]}-{language}-{fmt}"'


def cached(*, scope: str, fmt: Format, version: str) -> DrawnFigure | None:
    """The figure whose inputs have fingerprint ``version``, if the cache holds it for this
    scope and the active language; None otherwise. Reads nothing else."""
    if not version or len(version) != 64:
        return None
    content = cache().get(_key(scope, fmt, version))
    return None if content is None else DrawnFigure(version, content)


def get_or_draw(*, scope: str, spec: charts.FigureSpec, fmt: Format) -> DrawnFigure:
    """The figure of ``spec`` as ``fmt``: from the cache, or drawn and cached.

    Side effect: on a miss, draws (outcomes.figures counts it) and stores the result for
    TIMEOUT_SECONDS. Concurrent requests of one process for a figure not yet drawn draw it
    once (the drawing itself is serialised by outcomes.figures anyway).
    """
    version = fingerprint(spec)
    key = _key(scope, fmt, version)
    store = cache()
    content = store.get(key)
    if content is None:
        with _DRAWING:
            content = store.get(key)
            if content is None:
                content = figures.render(charts.draw(spec), fmt)
                store.set(key, content, TIMEOUT_SECONDS)
    return DrawnFigure(version, content)
