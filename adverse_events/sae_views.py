"""The safety mail log: every SAE mail sent, to whom, when, for which event."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from study.roles import SAFETY
from study.scoping import require_perm


@require_perm(SAFETY)
def mail_log(request: HttpRequest) -> HttpResponse:
    return HttpResponse("to do")
