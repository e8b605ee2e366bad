"""What a browser would send for a form of a page: the load driver reads the form page,
changes a value and posts everything else as it was (CSRF token, version, rows).

Pure (html.parser only), so the tests run it without a server or httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

SKIPPED_INPUTS = frozenset({"submit", "button", "image", "reset", "file"})


@dataclass
class HtmlForm:
    """A form's successful controls in document order, as the browser would post them,
    and each select's option values."""

    action: str | None
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def set(self, name: str, value: str) -> None:
        """Replace the control's value (the first of that name), or add it."""
        for i, (n, _v) in enumerate(self.fields):
            if n == name:
                self.fields[i] = (name, value)
                return
        self.fields.append((name, value))

    def data(self) -> dict[str, str]:
        return dict(self.fields)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._select: tuple[str, bool] | None = None  # (name, disabled)
        self._select_options: list[tuple[str, bool]] = []  # (value, selected)
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: tuple[str, bool] | None = None
        self._textarea_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = HtmlForm(action=a.get("action"), method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name", "")
        disabled = "disabled" in a
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if not name or disabled or kind in SKIPPED_INPUTS:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((name, a.get("value") or "on"))
                return
            self._form.fields.append((name, a.get("value", "")))
        elif tag == "select":
            self._select = (name, disabled)
            self._select_options = []
        elif tag == "option" and self._select is not None:
            self._finish_option()
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""
        elif tag == "textarea":
            self._textarea = (name, disabled)
            self._textarea_text = ""

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._finish_option()
        elif tag == "select" and self._select is not None:
            self._finish_option()
            name, disabled = self._select
            values = [v for v, _s in self._select_options]
            if self._form is not None and name:
                self._form.options[name] = values
                chosen = [v for v, s in self._select_options if s] or values[:1]
                if not disabled:
                    self._form.fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, disabled = self._textarea
            if self._form is not None and name and not disabled:
                # the HTML parser drops one newline right after <textarea>
                self._form.fields.append((name, self._textarea_text.removeprefix("\n")))
            self._textarea = None

    def _finish_option(self) -> None:
        if self._option is not None:
            value, selected = self._option
            self._select_options.append(
                (value if value is not None else self._option_text.strip(), selected)
            )
            self._option = None


def forms(html: str) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def page_form(html: str) -> HtmlForm:
    """The form a page posts to itself (method post, no action): a CRF form page's form,
    not the sign-out, delete or language forms around it."""
    for form in forms(html):
        if form.method == "post" and not form.action:
            return form
    raise LookupError("the page has no form posting to itself")


def csrf_token(html: str) -> str:
    """The CSRF token of the page's first form that carries one."""
    for form in forms(html):
        token = form.value("csrfmiddlewaretoken")
        if token:
            return token
    raise LookupError("the page has no CSRF token")
