"""The document as JSON text: indent 2, UTF-8 characters as they are, decimals exact.

``dumps`` gives the text at once; ``chunks`` gives the same text piece by piece, taking a
top-level list given as a ``Stream`` one item at a time (the subjects of an export or of
the synthetic study, produced and written one by one, never all held).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be written as a JSON number")
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _encode(value: Any, level: int) -> str:
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, level + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _encode(v, level + 1) for v in value) + "\n" + pad + "]"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def dumps(document: Mapping[str, Any]) -> str:
    """The document as JSON text: indent 2, UTF-8 characters as they are, decimals exact.

    Keys keep the order the export gives them, so the same data give the same text.
    """
    return _encode(document, 0) + "\n"


class Stream:
    """A list of the document written item by item as ``items`` produces them."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


def chunks(document: Mapping[str, Any]) -> Iterator[str]:
    """The text of ``dumps(document)`` in pieces: a ``Stream`` value of the top-level object
    is written one item at a time (the same text as its items in a list)."""
    if not document:
        yield "{}\n"
        return
    yield "{\n"
    for index, (key, value) in enumerate(document.items()):
        yield ("" if index == 0 else ",\n") + f"  {json.dumps(str(key), ensure_ascii=False)}: "
        if isinstance(value, Stream):
            yield from _stream_chunks(value)
        else:
            yield _encode(value, 1)
    yield "\n}\n"


def _stream_chunks(stream: Stream) -> Iterator[str]:
    first = True
    for item in stream:
        yield ("[\n" if first else ",\n") + "    " + _encode(item, 2)
        first = False
    yield "[]" if first else "\n  ]"
