"""Screening and enrolment writes."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from crf.models import Visit, VisitKind
from study.models import Site, Subject


def _next_sequence(site: Site, field: str, prefix: str) -> int:
    numbers = [
        int(value.rsplit("-", 1)[1])
        for value in Subject.objects.filter(
            site=site, **{f"{field}__startswith": prefix}
        ).values_list(field, flat=True)
        if value
    ]
    return max(numbers, default=0) + 1


@transaction.atomic
def register_screening(*, actor: AbstractBaseUser, site: Site) -> Subject:
    """Register a screened person: screening number ``S<site>-<seq>`` and the SCR visit.

    The site row is locked while the number is chosen, so two registrations at
    once never get the same number; numbers are never reused.
    """
    locked = Site.objects.select_for_update().get(pk=site.pk)
    prefix = f"S{locked.number}-"
    sequence = _next_sequence(locked, "screening_id", prefix)
    subject = Subject.objects.create(site=locked, screening_id=f"{prefix}{sequence:03d}")
    Visit.objects.create(subject=subject, code="SCR", kind=VisitKind.SCREENING, number=0)
    return subject
