"""Writes about sites and people.

A person's access (role, sites, principal-investigator flag) changes only through
``set_membership``, which refuses a change of one's own access and
record every change (who, when, old, new, reason) as an AccessChange that data managers
read on the "People and roles: changes" page. The admin and the commands call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from study import protocol
from study.models import AccessChange, AccessChangeKind, Membership, Role, Site
from study.roles import group_name


def sync_user_groups(user: Any) -> None:
    """Put the user in exactly the group of their study role (none without one)."""
    role_groups = Group.objects.filter(name__startswith="role:")
    user.groups.remove(*role_groups)
    membership = Membership.objects.filter(user=user).first()
    if membership is not None:
        user.groups.add(Group.objects.get(name=group_name(membership.role)))


@transaction.atomic
def upsert_site(
    *, number: str, name: str, time_zone: str = protocol.DEFAULT_SITE_TIME_ZONE
) -> Site:
    site, _ = Site.objects.update_or_create(
        number=number, defaults={"name": name, "time_zone": time_zone}
    )
    return site


@dataclass(frozen=True)
class Access:
    """A person's study access as the access record keeps it (codes)."""

    role: str
    sites: tuple[str, ...]  # site numbers, sorted
    principal_investigator: bool

    def text(self, kind: str) -> str:
        if kind == AccessChangeKind.ROLE:
            return self.role
        if kind == AccessChangeKind.SITES:
            return ", ".join(self.sites)
        return "Y" if self.principal_investigator else "N"


ACCESS_KINDS = (
    AccessChangeKind.ROLE,
    AccessChangeKind.SITES,
    AccessChangeKind.PRINCIPAL_INVESTIGATOR,
)


def access_changes(old: Access | None, new: Access) -> list[tuple[str, str, str]]:
    """(kind, old, new) of each part of the access that differs; a new member's role, and their
    sites and PI flag when set."""
    changes: list[tuple[str, str, str]] = []
    for kind in ACCESS_KINDS:
        before = old.text(kind) if old is not None else ""
        after = new.text(kind)
        if before != after and (old is not None or after not in ("", "N")):
            changes.append((str(kind), before, after))
    return changes


def access_of(user: Any) -> Access | None:
    """The person's current access, or None without a study membership."""
    membership = Membership.objects.filter(user_id=user.pk).first() if user.pk else None
    if membership is None:
        return None
    return Access(
        role=membership.role,
        sites=tuple(sorted(membership.sites.values_list("number", flat=True))),
        principal_investigator=membership.is_principal_investigator,
    )


def check_access_change(
    *, actor: Any, person: Any, existing: bool, changed: bool, reason: str
) -> None:
    """The rules of an access change, written once (the admin form calls it to show them).

    Nobody changes their own role, sites or principal-investigator flag: otherwise the
    administrator, who sees no clinical data, could make itself a data manager and read
    every site's subjects. A person changing someone's existing access gives a reason.
    Raises ValidationError with field keys ``role`` and ``reason``.
    """
    if not changed:
        return
    if actor is not None and person.pk is not None and actor.pk == person.pk:
        raise ValidationError(
            {
                "role": _(
                    "Nobody changes their own role, sites or principal-investigator flag: "
                    "ask another administrator."
                )
            }
        )
    if actor is not None and existing and not reason.strip():
        raise ValidationError(
            {"reason": _("Give the reason for changing this person's role, sites or flag.")}
        )


def _record(
    actor: Any, person: Any, changes: Iterable[tuple[str, str, str]], reason: str
) -> list[AccessChange]:
    return [
        AccessChange.objects.create(
            actor=actor,
            actor_username=actor.get_username() if actor is not None else "system",
            person=person,
            person_username=person.get_username(),
            kind=kind,
            old_value=old,
            new_value=new,
            reason=reason.strip(),
        )
        for kind, old, new in changes
    ]


@transaction.atomic
def set_membership(
    *,
    actor: Any,
    person: Any,
    role: str,
    sites: Iterable[Site] = (),
    is_principal_investigator: bool = False,
    reason: str = "",
) -> Membership:
    """Give a person their study role, sites and principal-investigator flag.

    ``actor`` None is the system (a command, the demo). Refuses a change of one's own
    access and a change of someone's existing access without a reason (``check_access_change``).
    Side effects: the membership and its sites, the person's role group, one AccessChange per
    changed part (role, sites, PI flag).
    """
    sites = list(sites)
    Membership.objects.select_for_update().filter(user_id=person.pk).first()
    old = access_of(person)
    new = Access(
        role=role,
        sites=tuple(sorted(site.number for site in sites)),
        principal_investigator=is_principal_investigator,
    )
    changes = access_changes(old, new)
    check_access_change(
        actor=actor, person=person, existing=old is not None, changed=bool(changes), reason=reason
    )
    membership, _created = Membership.objects.update_or_create(
        user=person,
        defaults={"role": role, "is_principal_investigator": is_principal_investigator},
    )
    if old is None or old.sites != new.sites:
        membership.sites.set(sites)
    sync_user_groups(person)
    _record(actor, person, changes, reason)
    return membership


def record_password_set(*, actor: Any, person: Any) -> None:
    """An administrator set someone else's password (they could now sign in as that person):
    recorded for the data managers to see. One's own password change is not recorded here."""
    if actor is not None and actor.pk == person.pk:
        return
    _record(actor, person, [(AccessChangeKind.PASSWORD, "", "")], "")


@transaction.atomic
def upsert_person(
    *,
    username: str,
    password: str,
    role: Role,
    sites: Iterable[Site] = (),
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_principal_investigator: bool = False,
    actor: Any = None,
    reason: str = "",
) -> AbstractBaseUser:
    """Create or update a person with one study role and their sites (idempotent).

    The password must pass the project's validators (12 characters or more).
    The administrator is also Django staff, so the admin opens to them. The role and
    sites go through ``set_membership`` (recorded; never one's own).
    """
    sites = list(sites)
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
    validate_password(password, user)
    if user.pk is not None:
        # Refuse before anything is written (set_membership checks again under its lock).
        changes = access_changes(
            access_of(user),
            Access(
                role,
                tuple(sorted(s.number for s in sites)),
                is_principal_investigator,
            ),
        )
        check_access_change(
            actor=actor, person=user, existing=True, changed=bool(changes), reason=reason
        )
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.is_staff = role == Role.ADMINISTRATOR
    user.set_password(password)
    user.save()
    set_membership(
        actor=actor,
        person=user,
        role=role,
        sites=sites,
        is_principal_investigator=is_principal_investigator,
        reason=reason,
    )
    return user
