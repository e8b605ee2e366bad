"""Results of tasks for tests that wait for one (a ping proves a worker ran the queue).

Celery keeps the result backend it first made (per app, or per thread): an earlier test
in the same process that queued a task made it "no backend". Setting the configuration
alone is not enough; the kept backend is dropped on entry and on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery


def _forget_backend(app: Celery) -> None:
    app._backend_cache = None  # type: ignore[attr-defined]
    vars(app._local).pop("backend", None)  # type: ignore[attr-defined]


@contextmanager
def results_in_memory(app: Celery) -> Iterator[None]:
    app.conf.update(result_backend="cache+memory://")
    _forget_backend(app)
    try:
        yield
    finally:
        app.conf.update(result_backend=None)
        _forget_backend(app)
