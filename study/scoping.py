"""Site scoping: the one place that decides which subjects a person may see.

protocol.md: a person only ever sees subjects of the sites they belong to
(study-wide roles see all). A subject of another site does not exist for them:
404, not 403, and no trace in lists, search, exports or counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from study.models import NO_CLINICAL_ACCESS_ROLES, STUDY_WIDE_ROLES, Membership, Site, Subject
from study.roles import perm

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

View = Callable[..., HttpResponseBase]


@dataclass(frozen=True)
class SiteRef:
    """One of a person's sites as every request needs it (scoping, time zone, the shell)."""

    id: int
    number: str
    time_zone: str


def _load_membership(user: AbstractBaseUser | AnonymousUser) -> None:
    """The membership and its sites in one query, kept on the user for the request."""
    rows = list(
        Membership.objects.filter(user_id=cast(int, user.pk))
        .order_by("sites__number")
        .values_list(
            "id",
            "role",
            "is_principal_investigator",
            "sites__id",
            "sites__number",
            "sites__time_zone",
        )
    )
    membership = None
    if rows:
        pk, role, pi = rows[0][:3]
        membership = Membership.from_db(
            "default",
            ["id", "user_id", "role", "is_principal_investigator"],
            [pk, user.pk, role, pi],
        )
    user._edc_membership = membership  # type: ignore[union-attr]
    user._edc_sites = [  # type: ignore[union-attr]
        SiteRef(site_id, number, zone) for *_m, site_id, number, zone in rows if site_id is not None
    ]


def membership_of(user: AbstractBaseUser | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_edc_membership"):
        _load_membership(user)
    cached: Membership | None = user._edc_membership  # type: ignore[union-attr,attr-defined]
    return cached


def membership_sites(user: AbstractBaseUser | AnonymousUser) -> list[SiteRef]:
    """The sites named on the person's membership (ordered by number), without a query
    once the membership is loaded."""
    if membership_of(user) is None:
        return []
    return list(user._edc_sites)  # type: ignore[union-attr]


def site_ids_for_user(user: AbstractBaseUser | AnonymousUser) -> list[int] | None:
    """Site ids the user may see; ``None`` means every site; ``[]`` means none."""
    membership = membership_of(user)
    if membership is None or membership.role in NO_CLINICAL_ACCESS_ROLES:
        return []
    if membership.role in STUDY_WIDE_ROLES:
        return None
    return [site.id for site in membership_sites(user)]


def sites_for_user(user: AbstractBaseUser | AnonymousUser) -> Any:
    site_ids = site_ids_for_user(user)
    if site_ids is None:
        return Site.objects.all()
    return Site.objects.filter(id__in=site_ids)


def get_subject_for_user(user: AbstractBaseUser | AnonymousUser, pk: int) -> Subject:
    """The subject, or 404 when it does not exist for this user."""
    return get_object_or_404(Subject.objects.for_user(user).select_related("site"), pk=pk)


def require_perm(*codenames: str) -> Callable[[View], View]:
    """Guard a view: signed in, and holding every named role permission (else 403).

    Every view of the app is guarded by this or by ``subject_view``; the URL
    matrix test fails on a URL whose view carries neither.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not all(request.user.has_perm(perm(c)) for c in codenames):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.edc_guard = ("perm", codenames)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def subject_view(*codenames: str) -> Callable[[View], View]:
    """Guard a subject page: the ``subject_pk`` URL argument becomes ``subject``.

    A subject outside the user's sites answers 404 before the permission check,
    so the page never says whether the subject exists.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(
            request: HttpRequest, *args: Any, subject_pk: int, **kwargs: Any
        ) -> HttpResponseBase:
            subject = get_subject_for_user(request.user, subject_pk)
            if not all(request.user.has_perm(perm(c)) for c in codenames):
                raise PermissionDenied
            return view(request, *args, subject=subject, **kwargs)

        wrapped.edc_guard = ("subject", codenames)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public_view(view: View) -> View:
    """Mark a view that anyone may open (the sign-in page)."""
    view.edc_guard = ("public", ())  # type: ignore[attr-defined]
    return view


def authenticated_view(view: View) -> View:
    """Guard a view every signed-in person may open (home, sign-out)."""
    wrapped = login_required(view)
    wrapped.edc_guard = ("authenticated", ())  # type: ignore[attr-defined]
    return wrapped


__all__ = [
    "Http404",
    "authenticated_view",
    "get_subject_for_user",
    "membership_of",
    "public_view",
    "require_perm",
    "site_ids_for_user",
    "sites_for_user",
    "subject_view",
]
