"""The write guard: clinical rows are saved only inside crf.services.

A model's ``save()`` asks ``check_write_allowed``; only code running inside
``services_writing()`` passes. So the shell, the admin or a careless view cannot
change clinical data without the audit trail and the reason for change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_writing: ContextVar[bool] = ContextVar("crf_services_writing", default=False)


class UnauditedWriteError(RuntimeError):
    """A write to clinical data that would bypass the audit trail."""


@contextmanager
def services_writing() -> Iterator[None]:
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def writing() -> bool:
    """Whether the caller runs inside ``services_writing()``."""
    return _writing.get()


def check_write_allowed(obj: Any) -> None:
    if not _writing.get():
        raise UnauditedWriteError(
            f"{type(obj).__name__} rows are written only through crf.services "
            "(audit trail and reason for change)."
        )
