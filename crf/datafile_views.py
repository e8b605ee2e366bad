"""The study data file in the browser: download (scoped to the user's sites) and upload.

An upload is first checked as a dry run and shown as a preview (what will change,
or every error); the file waits under MEDIA_ROOT/imports/<sha256>.json until the
data manager confirms it with a reason, and only then is it imported (an unconfirmed
preview is removed after a day: crf.import_previews).

Size: study.middleware.RequestSizeLimitMiddleware refuses a request larger than
EDC_MAX_UPLOAD_MB before anything reads its body (the CSRF check would); the form
checks the file itself against the same limit.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crf.datafile import (
    DataFileError,
    ImportReport,
    chunks,
    export_stream,
    import_document,
    parse_lazily,
)
from crf.import_previews import preview_path
from study import protocol
from study.roles import EXPORT, IMPORT
from study.scoping import require_perm

SESSION_KEY = "crf_data_import_sha256"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Study data file (JSON)"),
        help_text=gettext_lazy("Nothing is written yet: you will see what the file changes first."),
    )


class ConfirmForm(forms.Form):
    sha256 = forms.RegexField(regex=_SHA256, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Reason for the import"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept in the audit trail with every imported value."),
    )


def _pending_file(request: HttpRequest, sha256: str) -> bytes | None:
    """The file this person uploaded for preview, unchanged since; None otherwise."""
    if not _SHA256.match(sha256) or request.session.get(SESSION_KEY) != sha256:
        return None
    path = preview_path(sha256)
    if not path.exists():
        return None
    raw = path.read_bytes()
    return raw if hashlib.sha256(raw).hexdigest() == sha256 else None


def _preview(
    request: HttpRequest, report: ImportReport, form: ConfirmForm | None = None
) -> HttpResponse:
    form = form or ConfirmForm(initial={"sha256": report.file_sha256})
    return render(request, "crf/data_import_preview.html", {"report": report, "form": form})


def _dry_run(request: HttpRequest, raw: bytes, sha256: str) -> ImportReport:
    return import_document(
        document=parse_lazily(raw.decode("utf-8-sig")),
        actor=cast(AbstractBaseUser, request.user),
        reason="",
        file_sha256=sha256,
        dry_run=True,
    )


@require_perm(EXPORT)
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    """Download the study data file of the subjects this person may see."""
    document = export_stream(user=request.user)
    stamp = document["created"].replace("-", "").replace(":", "")
    # Read a chunk of subjects at a time (crf.datafile.export_stream): the text is held,
    # not the text and every subject's document besides.
    text = "".join(chunks(document))
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    filename = f"{protocol.STUDY_CODE}-study-data-{stamp}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_perm(IMPORT)
@require_http_methods(["GET", "POST"])
def data_import(request: HttpRequest) -> HttpResponse:
    """Upload a study data file: checked as a dry run and shown as a preview.

    A refused file is shown on the field with HTTP 400 (413 when it is too large).
    """
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_bound:
        upload: Any = form.cleaned_data["file"]
        limit_mb = settings.EDC_MAX_UPLOAD_MB
        if upload.size > limit_mb * 1024 * 1024:
            form.add_error("file", _("The file is larger than %(size)d MB.") % {"size": limit_mb})
            status = 413
        else:
            raw = upload.read()
            sha256 = hashlib.sha256(raw).hexdigest()
            try:
                report = _dry_run(request, raw, sha256)
            except (UnicodeDecodeError, DataFileError) as error:
                message = str(error) if isinstance(error, DataFileError) else ""
                form.add_error("file", message or _("The file is not UTF-8 text."))
                status = 400
            else:
                path = preview_path(sha256)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(raw)
                request.session[SESSION_KEY] = sha256
                return _preview(request, report)
    return render(request, "crf/data_import.html", {"form": form}, status=status)


@require_perm(IMPORT)
@require_POST
def data_import_confirm(request: HttpRequest) -> HttpResponse:
    """Import the previewed file with the reason given: all or nothing."""
    form = ConfirmForm(request.POST)
    sha256 = request.POST.get("sha256", "")
    raw = _pending_file(request, sha256)
    if raw is None:
        messages.error(request, _("No uploaded file is waiting for import: upload it again."))
        return redirect("crf:data_import")
    if not form.is_valid():
        return _preview(request, _dry_run(request, raw, sha256), form)
    report = import_document(
        document=parse_lazily(raw.decode("utf-8-sig")),
        actor=cast(AbstractBaseUser, request.user),
        reason=form.cleaned_data["reason"],
        file_sha256=sha256,
    )
    if report.errors:  # the data changed since the preview
        return _preview(request, report, form)
    preview_path(sha256).unlink(missing_ok=True)
    del request.session[SESSION_KEY]
    s = report.summary
    messages.success(
        request,
        _(
            "The file was imported: %(subjects)d subjects and %(forms)d forms created, "
            "%(changed)d forms changed, %(values)d values written."
        )
        % {
            "subjects": s.subjects_created,
            "forms": s.forms_created,
            "changed": s.forms_changed,
            "values": s.values_changed,
        },
    )
    return redirect("crf:data_import")
