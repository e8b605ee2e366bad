"""The form of the declare-missed dialog and of its no-JavaScript confirmation page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

REASON_MAX_LENGTH = 500


class DeclareMissedForm(forms.Form):
    """The reason a visit was missed; ``visits.services.declare_missed`` saves and audits it."""

    reason = forms.CharField(
        label=_("Reason the visit was missed"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason the visit was missed.")},
    )
