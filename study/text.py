"""Sentences for people from the pure modules: a catalogue message and its values.

Pure Python, no Django import: the clinical core (visits.recist, outcomes.endpoints) says
what it means as a ``Text``, the English rendering is what the tests compare, and the
caller with Django renders it in the user's language (``text.render(gettext)``).

Messages are marked with ``gettext_noop("…")`` where they are written, so that
``makemessages`` (which knows the name) puts them in the catalogue; values go in named
%(name)s placeholders, never into the message itself, so that one catalogue entry serves
every lesion, date and number.

A sentence shown to people is one message, its punctuation included ("… (%(response)s);
%(why)s."), and parts are joined by a message of their own, never by English
punctuation in code: Chinese uses full-width brackets, semicolons and stops, and a
translator can only write them where the whole sentence is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Text", "gettext_noop", "text"]


def gettext_noop(message: str) -> str:
    """Marks a sentence for the translation catalogue (makemessages finds it by this name);
    the caller translates it when it shows the Text (this module imports no Django)."""
    return message


@dataclass(frozen=True)
class Text:
    """A sentence for people: a catalogue message with %(name)s placeholders and the values
    (a value may be a Text itself). ``render()`` gives English; ``render(gettext)`` the
    user's language."""

    message: str
    params: tuple[tuple[str, object], ...] = ()

    def render(
        self,
        translate: Callable[[str], str] = gettext_noop,
        describe: Callable[[object], object] | None = None,
    ) -> str:
        """The sentence; ``describe`` (from the caller with Django) may turn a value into
        what people read, e.g. a code into its label ("PRESENT" → "Present")."""
        values = {
            key: (
                value.render(translate, describe)
                if isinstance(value, Text)
                else describe(value)
                if describe is not None
                else value
            )
            for key, value in self.params
        }
        return translate(self.message) % values


def text(message: str, **params: object) -> Text:
    """A ``Text`` of ``message`` (marked with ``gettext_noop``) and its named values."""
    return Text(message, tuple(params.items()))
