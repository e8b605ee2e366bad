"""Writes about sites and people."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from study import protocol
from study.models import Membership, Role, Site
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
) -> AbstractBaseUser:
    """Create or update a person with one study role and their sites (idempotent).

    The password must pass the project's validators (12 characters or more).
    The administrator is also Django staff, so the admin opens to them.
    """
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
    validate_password(password, user)
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.is_staff = role == Role.ADMINISTRATOR
    user.set_password(password)
    user.save()
    membership, _ = Membership.objects.update_or_create(
        user=user,
        defaults={"role": role, "is_principal_investigator": is_principal_investigator},
    )
    membership.sites.set(list(sites))
    sync_user_groups(user)
    return user
