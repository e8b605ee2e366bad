"""JSON text into a document: decimals read exactly, nesting limited."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

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
    too_deep = DataFileError(
        _(
            "The file nests lists and objects more than %(limit)d levels deep; "
            "a study data file has at most %(limit)d."
        )
        % {"limit": max_depth}
    )
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
    # Walked with a stack, not recursion, so the check itself cannot run out of stack.
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise too_deep
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return document
