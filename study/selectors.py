"""Reads about sites and subjects, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q

from study.models import Subject, SubjectStatus
from study.scoping import sites_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def site_summaries(user: AbstractBaseUser | AnonymousUser) -> list[Any]:
    """The user's sites with counts of screened and enrolled subjects (one query)."""
    scoped = Q(subjects__in=Subject.objects.for_user(user))
    enrolled = scoped & Q(subjects__subject_id__isnull=False)
    return list(
        sites_for_user(user)
        .annotate(
            screened=Count("subjects", filter=scoped, distinct=True),
            enrolled=Count("subjects", filter=enrolled, distinct=True),
        )
        .order_by("number")
    )


def recent_subjects(user: AbstractBaseUser | AnonymousUser, *, limit: int) -> list[Subject]:
    return list(
        Subject.objects.for_user(user).select_related("site").order_by("-created_at", "-id")[:limit]
    )


__all__ = ["SubjectStatus", "recent_subjects", "site_summaries"]
