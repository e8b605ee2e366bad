"""The PDF machinery of every report: HTML templates rendered by WeasyPrint.

One place for the things that make a render fast and correct, shared by the completed CRF
(reports/crf_pdf.py), the casebook (reports/casebook.py) and the bulk ZIP (reports/bulk.py):

- ``render_pdf(template_name, context, ...)`` renders a Django template (extending
  ``reports/pdf/base.html``) in the requested language and writes it with WeasyPrint. The print
  stylesheet ``static/css/pdf.css`` is parsed ONCE per process (``_stylesheet()``), and one
  ``FontConfiguration`` and one image cache are kept per process too; fonts are subset (the
  WeasyPrint 70 default, ``full_fonts=False``). Margin boxes (header, footer, "page x of y")
  come from ``@page`` in pdf.css and read strings set by the base template.
- ``record_export(...)`` appends the export to the append-only log (reports.models.ExportRecord)
  with the SHA-256 of the file's bytes.
- ``pdf_response(...)`` wraps the bytes in an attachment download.

Chinese: pdf.css names "WenQuanYi Micro Hei" (fonts-wqy-microhei) after the Latin fonts, on
the body AND on ``@page`` (margin boxes do not inherit the body's font), so free text in Chinese
and the zh-Hans interface render instead of empty boxes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from reports.models import ExportRecord

STYLESHEET = "css/pdf.css"

# WeasyPrint logs each rendering step at INFO: keep workers' logs quiet.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def static_root() -> Path:
    """The folder relative URLs of the PDF templates resolve against (``static/``)."""
    return Path(settings.BASE_DIR) / "static"


def _base_url() -> str:
    return static_root().as_uri() + "/"


def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    with _lock:
        if "fonts" not in _cache:
            _cache["fonts"] = FontConfiguration()
        return _cache["fonts"]


def _stylesheet() -> Any:
    """pdf.css parsed once per process (parsing it per render costs more than small pages)."""
    from weasyprint import CSS

    fonts = _font_config()
    with _lock:
        if "css" not in _cache:
            path = static_root() / STYLESHEET
            _cache["css"] = CSS(
                string=path.read_text(encoding="utf-8"), base_url=_base_url(), font_config=fonts
            )
        return _cache["css"]


def _image_cache() -> dict[Any, Any]:
    with _lock:
        return _cache.setdefault("images", {})


def warm_up() -> None:
    """Parse the stylesheet and load fonts now (a worker may call it at start)."""
    _stylesheet()


def render_html(
    template_name: str,
    context: dict[str, Any],
    *,
    request: Any = None,
    language: str | None = None,
) -> str:
    """The HTML a PDF is made of (also handy in tests and for debugging a layout)."""
    lang = resolve_language(request=request, language=language)
    with translation.override(lang):
        full: dict[str, Any] = {
            "pdf_language": lang,
            "generated_at": timezone.now(),
            "page_label": page_label_parts(),
        }
        user = getattr(request, "user", None) if request is not None else None
        if user is not None and getattr(user, "is_authenticated", False):
            full["generated_by"] = user_name(user)
        full.update(context)
        return render_to_string(template_name, full, request=request)


def resolve_language(*, request: Any = None, language: str | None = None) -> str:
    """The language of a PDF: ``language``, else the request's, else the active one.

    Build the template's context inside ``translation.override(resolve_language(...))`` too
    when it holds translated text computed beforehand (code labels, form titles), as
    reports.crf_pdf does: render_pdf only switches the language for the template itself."""
    lang = language or (getattr(request, "LANGUAGE_CODE", None) if request is not None else None)
    return str(lang or translation.get_language() or settings.LANGUAGE_CODE)


def page_label_parts() -> tuple[str, str, str]:
    """The translated "Page x of y" cut around its two numbers, for the CSS counters of the
    footer (``string(page-a) counter(page) string(page-b) counter(pages) string(page-c)``)."""
    text = _("Page %(page)s of %(pages)s") % {"page": "\x01", "pages": "\x02"}
    before, _sep, rest = text.partition("\x01")
    middle, _sep, after = rest.partition("\x02")
    # string-set trims the spaces at the ends; pdf.css puts one space around each number.
    return before.strip(), middle.strip(), after.strip()


def user_name(user: Any) -> str:
    """How a user is named in a PDF footer: full name and user name."""
    if user is None:
        return ""
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    return f"{full} ({username})" if full and full != username else username


def render_pdf(
    template_name: str,
    context: dict[str, Any],
    *,
    request: Any = None,
    language: str | None = None,
    attachments: Sequence[Any] | None = None,
    pdf_variant: str | None = None,
) -> bytes:
    """Render ``template_name`` with ``context`` to PDF bytes.

    ``language``: the interface language of the PDF (default: the request's, else the active
    one). ``attachments``: weasyprint ``Attachment`` objects (or file paths) embedded in the
    PDF. ``pdf_variant``: e.g. ``"pdf/a-3b"`` for the archive casebook.
    """
    from weasyprint import HTML

    html = render_html(template_name, context, request=request, language=language)
    options: dict[str, Any] = {
        "stylesheets": [_stylesheet()],
        "cache": _image_cache(),
    }
    if attachments:
        options["attachments"] = list(attachments)
    if pdf_variant:
        options["pdf_variant"] = pdf_variant
    document = HTML(string=html, base_url=_base_url())
    result = document.write_pdf(font_config=_font_config(), **options)
    assert isinstance(result, bytes)
    return result


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def record_export(
    *,
    actor: Any,
    kind: str,
    subject: Any = None,
    site: Any = None,
    form_code: str = "",
    visit_code: str = "",
    detail: str = "",
    content: bytes = b"",
    source: str = "web",
    at: dt.datetime | None = None,
) -> ExportRecord:
    """Append one export to the log: who (``actor``, a user or None for the system), what
    (``kind``: reports.models.ExportKind, subject/site/form/visit), when, and the file's hash."""
    if site is None and subject is not None:
        site = subject.site
    username = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        username = actor.get_username()
    else:
        actor = None
        username = "system"
    return ExportRecord.objects.create(
        at=at or timezone.now(),
        actor=actor,
        actor_username=username,
        kind=str(kind),
        subject=subject,
        site=site,
        form_code=form_code,
        visit_code=visit_code,
        detail=detail,
        file_sha256=sha256(content) if content else "",
        source=source,
    )


def pdf_response(content: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    """The PDF as a download (``inline``: shown in the browser's viewer)."""
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
