"""JSON text into a document: decimals read exactly, nesting limited.

``parse`` reads the whole document; ``parse_lazily`` reads the same document but keeps
its subjects and screened persons as ``Entries``, each read from the text when the import
comes to it (the text is checked whole first), so a file of thousands of subjects is held
once, as text, and one subject at a time as objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, overload

from django.utils.translation import gettext as _


class DataFileError(ValueError):
    """The text is not a study data file at all (not JSON, not an object)."""


def parse(text: str, *, max_depth: int = 32) -> dict[str, Any]:
    """Read a study data file; decimals are read exactly (``Decimal``).

    A study data file nests about 8 lists and objects (document, subjects, forms, data,
    lesion rows, codes). Deeper text is refused here, at ``max_depth`` levels, with the
    same message whether the JSON reader ran out of Python's recursion limit or a
    readable document is merely deep: either would otherwise fail later as a server error.
    """
    too_deep = _too_deep(max_depth)
    try:
        document = json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as error:
        raise DataFileError(
            _("The file is not valid JSON (line %(line)d, column %(column)d: %(message)s).")
            % {"line": error.lineno, "column": error.colno, "message": error.msg}
        ) from None
    if not isinstance(document, dict):
        raise DataFileError(_("The file must hold one JSON object."))
    _check_depth(document, 1, max_depth)
    return document


def _too_deep(max_depth: int) -> DataFileError:
    return DataFileError(
        _(
            "The file nests lists and objects more than %(limit)d levels deep; "
            "a study data file has at most %(limit)d."
        )
        % {"limit": max_depth}
    )


def _check_depth(value: Any, depth: int, max_depth: int) -> None:
    # Walked with a stack, not recursion, so the check itself cannot run out of stack.
    pending: list[tuple[Any, int]] = [(value, depth)] if isinstance(value, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise _too_deep(max_depth)
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


# The lists read one item at a time, and how deep their items stand in the document.
STREAMED = ("subjects", "screening")
_ITEM_DEPTH = 3
_DECODER = json.JSONDecoder(parse_float=Decimal)
_SPACE = re.compile(r"[ \t\n\r]*")


class Entries(Sequence[Any]):
    """A top-level list of the file whose items are read from its text when asked for."""

    def __init__(self, text: str, offsets: list[int]) -> None:
        self._text, self._offsets = text, offsets

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _DECODER.raw_decode(self._text, self._offsets[index])[0]

    def __iter__(self) -> Iterator[Any]:
        for offset in self._offsets:
            yield _DECODER.raw_decode(self._text, offset)[0]


class _NotPlain(Exception):
    """The text is not a plain JSON object: ``parse`` reads it (and says what is wrong)."""


def parse_lazily(text: str, *, max_depth: int = 32) -> dict[str, Any]:
    """``parse``, with the subjects and screened persons as ``Entries`` (read on demand).

    Every item is read once here (JSON syntax and nesting checked, then dropped), so a
    file that is not JSON or too deep is refused before the import starts, with the
    messages of ``parse``."""
    try:
        return _scan(text, max_depth)
    except (_NotPlain, ValueError, RecursionError, IndexError):
        return parse(text, max_depth=max_depth)


def _scan(text: str, max_depth: int) -> dict[str, Any]:
    def space(at: int) -> int:
        found = _SPACE.match(text, at)
        return found.end() if found else at

    def expect(at: int, char: str) -> int:
        if text[at] != char:
            raise _NotPlain
        return space(at + 1)

    document: dict[str, Any] = {}
    at = expect(space(0), "{")
    if text[at] == "}":
        at = space(at + 1)
    else:
        while True:
            key, at = _DECODER.raw_decode(text, at)
            if not isinstance(key, str):
                raise _NotPlain
            at = expect(space(at), ":")
            if key in STREAMED and text[at] == "[":
                offsets: list[int] = []
                at = space(at + 1)
                while text[at] != "]":
                    offsets.append(at)
                    item, at = _DECODER.raw_decode(text, at)
                    _check_depth(item, _ITEM_DEPTH, max_depth)
                    at = space(at)
                    if text[at] == ",":
                        at = space(at + 1)
                        if text[at] == "]":  # a comma before the end: not JSON
                            raise _NotPlain
                    elif text[at] != "]":
                        raise _NotPlain
                at = space(at + 1)
                document[key] = Entries(text, offsets)
            else:
                value, at = _DECODER.raw_decode(text, at)
                _check_depth(value, 2, max_depth)
                document[key] = value
                at = space(at)
            if text[at] == "}":
                at = space(at + 1)
                break
            at = expect(at, ",")
    if at != len(text):
        raise _NotPlain
    return document
